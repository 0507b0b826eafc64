"""Many ``{prefix}:latest`` option snapshots decoded into float columns at once (pure).

Each value parsed once (``orjson``), then one column per field: NaN where a snapshot is
missing, lacks the field, or holds something that is not a number (a bool, a string, null).
``price``, ``ts``, ``received_at`` and the best ``bid``/``ask`` (first depth level, full mode)
must also be positive: Kite sends 0 for an empty level and for an option that has not traded.
A value that is not a JSON object counts as missing (logged when it is not JSON).

The ~12 numbers the chain needs are picked out of each parsed object into one tuple, and all
tuples become one float block in a single numpy call: per snapshot, one dict look-up per field
and no Python-level function call, so 400 snapshots cost little more than parsing them
(benchmarks/chain_bench.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

import numpy as np
import orjson
import structlog
from numpy.typing import NDArray

from contract.messages import PRICE, RECEIVED_AT, TS
from contract.snapshot import CHAIN_NUMBER_FIELDS, DEPTH

log = structlog.get_logger(__name__)

FloatArray = NDArray[np.float64]
POSITIVE_COLUMNS: Final = (PRICE, TS, RECEIVED_AT, "bid", "ask")
COLUMNS: Final = (*POSITIVE_COLUMNS, *CHAIN_NUMBER_FIELDS)
_NAN: Final = math.nan

_POSITIVE_FIELDS: Final = (PRICE, TS, RECEIVED_AT)
# The block's column order: the positive columns first (one mask for all of them), then the
# other numbers.
_BLOCK_COLUMNS: Final = (*_POSITIVE_FIELDS, "bid", "ask", *CHAIN_NUMBER_FIELDS)
_POSITIVE_WIDTH: Final = len(POSITIVE_COLUMNS)
_MISSING_ROW: Final = (None,) * len(_BLOCK_COLUMNS)
_PLAIN_TYPES: Final = frozenset({float, int, type(None)})
# A malformed depth (not an object, no such side, an empty or non-list side, a level that is
# not an object) makes one of these on the subscript chain; the price is then unknown.
_SHAPE_ERRORS: Final = (KeyError, TypeError, IndexError)


def decode_each(raws: Sequence[bytes | str | None]) -> list[Any]:
    """Each value's JSON; None where absent or not JSON (logged)."""
    loads = orjson.loads
    documents: list[Any] = []
    for raw in raws:
        if raw is None:
            documents.append(None)
            continue
        try:
            documents.append(loads(raw))
        except orjson.JSONDecodeError:
            log.warning("option_snapshot_invalid", problem="not JSON", value=raw[:100])
            documents.append(None)
    return documents


def _number(value: object) -> float:
    kind = type(value)
    return float(value) if kind is float or kind is int else _NAN  # type: ignore[arg-type]


def _rows(documents: list[Any]) -> list[tuple[Any, ...]]:
    """``_BLOCK_COLUMNS`` of each parsed snapshot, values as parsed (checked by ``_block``).

    One loop with no call per snapshot but ``map``: this runs 400 times per chain request.
    """
    rows: list[tuple[Any, ...]] = []
    for document in documents:
        if type(document) is not dict:  # missing, not JSON, or not an object
            rows.append(_MISSING_ROW)
            continue
        depth = document.get(DEPTH)
        bid = ask = None
        if type(depth) is dict:  # a list or a string would also subscript: only an object
            try:
                bid = depth["buy"][0][PRICE]
            except _SHAPE_ERRORS:
                bid = None
            try:
                ask = depth["sell"][0][PRICE]
            except _SHAPE_ERRORS:
                ask = None
        get = document.get
        rows.append((*map(get, _POSITIVE_FIELDS), bid, ask, *map(get, CHAIN_NUMBER_FIELDS)))
    return rows


def _block(rows: list[tuple[Any, ...]]) -> FloatArray:
    """One row per snapshot, one float column per ``_BLOCK_COLUMNS`` (NaN: not a number)."""
    shape = (len(rows), len(_BLOCK_COLUMNS))
    if set(map(type, chain.from_iterable(rows))) <= _PLAIN_TYPES:
        # Only numbers and nulls (the published contract): numpy takes null as NaN. It would
        # also take a bool or a numeric string, hence the check and the slower path below.
        return np.array(rows, dtype=np.float64).reshape(shape)
    return np.array([[_number(v) for v in row] for row in rows], dtype=np.float64).reshape(shape)


def snapshot_columns(raws: Sequence[bytes | str | None]) -> dict[str, FloatArray]:
    """``COLUMNS`` -> one float per value of ``raws`` (NaN where unknown)."""
    block = _block(_rows(decode_each(raws)))
    positive, other = block[:, :_POSITIVE_WIDTH], block[:, _POSITIVE_WIDTH:]
    with np.errstate(invalid="ignore"):
        positive[~(positive > 0)] = np.nan
    other[~np.isfinite(other)] = np.nan
    columns = block.T.copy()  # one contiguous row per field
    return {name: columns[position] for position, name in enumerate(_BLOCK_COLUMNS)}
