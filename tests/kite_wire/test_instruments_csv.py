"""kite_wire.instruments_csv: Kite's column order, kiteconnect reads our dump, strict reader."""

from __future__ import annotations

from datetime import date

import pytest
from kiteconnect import KiteConnect

from kite_wire.instruments_csv import (
    COLUMNS,
    InstrumentRow,
    InstrumentsCsvError,
    read_instruments_csv,
    write_instruments_csv,
)

NIFTY_INDEX = InstrumentRow(
    256265, 1001, "NIFTY 50", "NIFTY 50", 0.0, None, 0.0, 0.0, 0, "EQ", "INDICES", "NSE"
)
NIFTY_CALL = InstrumentRow(
    12345602, 48225, "NIFTY25NOV24000CE", "NIFTY", 123.45, date(2025, 11, 25), 24000.0, 0.05, 75,
    "CE", "NFO-OPT", "NFO",
)  # fmt: skip
ROWS = [NIFTY_INDEX, NIFTY_CALL]


def test_header_is_kites_twelve_columns_in_order() -> None:
    text = write_instruments_csv(ROWS)
    assert text.splitlines()[0] == (
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
        "tick_size,lot_size,instrument_type,segment,exchange"
    )
    assert len(COLUMNS) == 12
    assert text.splitlines()[2] == (
        "12345602,48225,NIFTY25NOV24000CE,NIFTY,123.45,2025-11-25,24000,0.05,75,CE,NFO-OPT,NFO"
    )


def test_round_trip_and_kiteconnect_agrees() -> None:
    text = write_instruments_csv(ROWS)
    parsed = read_instruments_csv(text)
    assert parsed.errors == []
    assert parsed.rows == ROWS
    kite_rows = KiteConnect("key")._parse_instruments(text.encode())
    assert kite_rows[1]["expiry"] == date(2025, 11, 25)
    assert kite_rows[1]["strike"] == 24000.0
    assert kite_rows[0]["instrument_token"] == 256265


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("strike", "abc", "not a number"),
        ("lot_size", "", "not an integer"),
        ("expiry", "25-11-2025", "YYYY-MM-DD"),
        ("instrument_type", "XX", "not one of"),
        ("tradingsymbol", "", "empty"),
        ("last_price", "nan", "finite"),
    ],
)
def test_bad_field_reports_line_and_column(column: str, value: str, reason: str) -> None:
    lines = write_instruments_csv(ROWS).splitlines()
    cells = lines[2].split(",")
    cells[COLUMNS.index(column)] = value
    lines[2] = ",".join(cells)
    parsed = read_instruments_csv("\n".join(lines))
    assert [r.instrument_token for r in parsed.rows] == [256265]
    [error] = parsed.errors
    assert (error.line, error.field) == (3, column)
    assert reason in error.reason
    with pytest.raises(InstrumentsCsvError, match="line 3"):
        parsed.raise_for_errors()


def test_wrong_column_count_and_header() -> None:
    text = write_instruments_csv(ROWS) + "1,2,3\n"
    parsed = read_instruments_csv(text)
    assert parsed.errors[0].line == 4
    with pytest.raises(InstrumentsCsvError, match="unexpected header"):
        read_instruments_csv("instrument_token,tradingsymbol\n1,X\n")
