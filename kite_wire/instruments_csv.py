"""Kite's instruments dump: the 12 CSV columns, a writer and a strict reader.

The reader validates every row into an `InstrumentRow`; a bad field is reported with its line
number, column and value (never read as a silent 0), and the good rows are still returned.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

COLUMNS: Final = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)
INSTRUMENT_TYPES: Final = frozenset({"EQ", "FUT", "CE", "PE"})
OPTION_TYPES: Final = ("CE", "PE")


@dataclass(frozen=True, slots=True)
class InstrumentRow:
    """One instrument as Kite lists it (``expiry`` None for non-derivatives)."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: float
    expiry: date | None
    strike: float
    tick_size: float
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str


@dataclass(frozen=True, slots=True)
class RowError:
    """Where a row went wrong: CSV line number (header is line 1), column and raw value."""

    line: int
    field: str
    value: str
    reason: str
    # The row's token when its first cell still reads as one: the instrument is listed, only
    # its row is broken (so a registry must not take it for vanished).
    instrument_token: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}={self.value!r}: {self.reason}"


class InstrumentsCsvError(ValueError):
    """The dump cannot be read at all (header), or a caller asked for no bad rows."""

    def __init__(self, message: str, errors: Iterable[RowError] = ()) -> None:
        self.errors = tuple(errors)
        detail = "; ".join(str(e) for e in self.errors[:5])
        super().__init__(f"{message}: {detail}" if detail else message)


@dataclass(frozen=True, slots=True)
class ParsedInstruments:
    rows: list[InstrumentRow]
    errors: list[RowError]

    def raise_for_errors(self) -> None:
        if self.errors:
            raise InstrumentsCsvError(f"{len(self.errors)} bad instrument rows", self.errors)


def _format_float(value: float) -> str:
    # Kite writes 24000 and 0.05, not 24000.0: shortest repr without a trailing ".0".
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_instruments_csv(rows: Iterable[InstrumentRow]) -> str:
    """The dump text, header first, columns in Kite's order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.instrument_token,
                row.exchange_token,
                row.tradingsymbol,
                row.name,
                _format_float(row.last_price),
                row.expiry.isoformat() if row.expiry else "",
                _format_float(row.strike),
                _format_float(row.tick_size),
                row.lot_size,
                row.instrument_type,
                row.segment,
                row.exchange,
            )
        )
    return out.getvalue()


class _BadField(ValueError):
    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


def _int(raw: dict[str, str], name: str, *, minimum: int = 0) -> int:
    value = raw[name]
    try:
        number = int(value)
    except ValueError:
        raise _BadField(name, value, "not an integer") from None
    if number < minimum:
        raise _BadField(name, value, f"below {minimum}")
    return number


def _float(raw: dict[str, str], name: str) -> float:
    value = raw[name]
    try:
        number = float(value)
    except ValueError:
        raise _BadField(name, value, "not a number") from None
    if not math.isfinite(number) or number < 0:
        raise _BadField(name, value, "not a finite non-negative number")
    return number


def _text(raw: dict[str, str], name: str, *, required: bool = True) -> str:
    value = raw[name]
    if required and not value.strip():
        raise _BadField(name, value, "empty")
    return value


def _expiry(raw: dict[str, str]) -> date | None:
    value = raw["expiry"]
    if not value:
        return None
    # date.fromisoformat also takes 20251125; Kite writes (and kiteconnect expects) 10 characters.
    parsed: date | None = None
    if len(value) == 10:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise _BadField("expiry", value, "not a YYYY-MM-DD date")
    return parsed


def _row(raw: dict[str, str]) -> InstrumentRow:
    instrument_type = _text(raw, "instrument_type")
    if instrument_type not in INSTRUMENT_TYPES:
        raise _BadField(
            "instrument_type", instrument_type, f"not one of {sorted(INSTRUMENT_TYPES)}"
        )
    expiry = _expiry(raw)
    if instrument_type in {"FUT", "CE", "PE"} and expiry is None:
        raise _BadField("expiry", "", f"a {instrument_type} needs an expiry")
    return InstrumentRow(
        instrument_token=_int(raw, "instrument_token", minimum=1),
        exchange_token=_int(raw, "exchange_token"),
        tradingsymbol=_text(raw, "tradingsymbol"),
        name=_text(raw, "name", required=False),
        last_price=_float(raw, "last_price"),
        expiry=expiry,
        strike=_float(raw, "strike"),
        tick_size=_float(raw, "tick_size"),
        lot_size=_int(raw, "lot_size"),
        instrument_type=instrument_type,
        segment=_text(raw, "segment"),
        exchange=_text(raw, "exchange"),
    )


def _token_of(cell: str) -> int | None:
    return int(cell) if cell.isdigit() and int(cell) > 0 else None


def read_instruments_csv(text: str | bytes) -> ParsedInstruments:
    """Validate a dump. A wrong header raises; bad rows are listed, good rows kept."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise InstrumentsCsvError(f"unexpected header {header!r}; expected {','.join(COLUMNS)}")
    rows: list[InstrumentRow] = []
    errors: list[RowError] = []
    for values in reader:
        line = reader.line_num
        if not values:
            continue
        token = _token_of(values[0])
        if len(values) != len(COLUMNS):
            errors.append(
                RowError(line, "*", ",".join(values), f"{len(values)} columns, not 12", token)
            )
            continue
        try:
            rows.append(_row(dict(zip(COLUMNS, values, strict=True))))
        except _BadField as bad:
            errors.append(RowError(line, bad.field, bad.value, bad.reason, token))
    return ParsedInstruments(rows=rows, errors=errors)
