"""Many messages of one shape rendered at once (pure): constant text between columns of tokens.

A message shape is a ``Template``: constant byte strings with named slots between them
(``{"price":`` <price> ``,"volume":`` <volume> ...). A batch fills each slot from a column, one
JSON token per message, and every message is ``constants[0] + column0[i] + constants[1] + ...``.

Why: the worker publishes one message per tick, and building each from a dict and an orjson call,
plus ten depth levels and the Redis framing, cost about 9 us per tick in Python bytecode
(docs/streaming.md). Here the numbers of the whole batch are formatted by orjson in one call per
numeric matrix (NaN -> ``null``, exactly orjson's formatting of the same floats), split into
column token lists, and placed into one list of pieces by strided slice assignment, which are
loops in C; a message is then one ``bytes.join``. Nothing per tick runs Python code but that join.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

Column = list[bytes]
"""One JSON token (or any byte string) per message."""

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True, slots=True)
class Slot:
    """A named place in a template, filled per message from the column of that name."""

    name: str


@dataclass(frozen=True, slots=True)
class Template:
    """``constants`` has one more entry than ``slots``: the text before, between and after."""

    constants: tuple[bytes, ...]
    slots: tuple[str, ...]

    @classmethod
    def of(cls, parts: Sequence[bytes | Slot]) -> Template:
        """A template from text and slots in order; adjacent text is merged."""
        constants: list[bytes] = [b""]
        slots: list[str] = []
        for part in parts:
            if isinstance(part, Slot):
                slots.append(part.name)
                constants.append(b"")
            else:
                constants[-1] += part
        return cls(constants=tuple(constants), slots=tuple(slots))

    def render(self, columns: dict[str, Column], count: int) -> list[bytes]:
        """``count`` messages; ``columns[name]`` holds ``count`` tokens for every slot."""
        if count == 0:
            return []
        width = 2 * len(self.slots) + 1
        pieces: list[bytes] = [b""] * (count * width)
        for position, constant in enumerate(self.constants):
            if constant:
                pieces[2 * position :: width] = [constant] * count
        for position, name in enumerate(self.slots):
            pieces[2 * position + 1 :: width] = columns[name]
        join = b"".join
        return [join(pieces[start : start + width]) for start in range(0, len(pieces), width)]


def number_columns(matrix: npt.NDArray[Any]) -> list[Column]:
    """Each column of a 2-D int64 or float64 array as JSON number tokens (NaN and inf: null).

    One ``orjson.dumps`` for the whole matrix: ``[[a,b],[c,d]]`` becomes one flat token list in
    row order, and column ``j`` is every ``k``-th token from ``j`` (a strided slice, in C).
    """
    rows, width = matrix.shape
    if rows == 0:
        return [[] for _ in range(width)]
    flat = (
        orjson.dumps(np.ascontiguousarray(matrix), option=_NUMPY)[2:-2]
        .replace(b"],[", b",")
        .split(b",")
    )
    return [flat[j::width] for j in range(width)]


def number_column(values: npt.NDArray[Any]) -> Column:
    """A 1-D int64 or float64 array as JSON number tokens (NaN and inf: null)."""
    if values.shape[0] == 0:
        return []
    return orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)[1:-1].split(b",")
