"""Bulk, idempotent writes of candles: binary COPY into a staging table, then one upsert.

Per call, whatever the number of candles: one statement makes sure the session's temporary
staging table exists and is empty, one ``COPY ... FROM STDIN (FORMAT binary)`` loads the
columns (built from the numpy arrays in one ``tobytes``, no per-candle Python), and one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM`` writes them. A row
that is already stored with the same values is not touched (not even rewritten), so a second
run over the same range changes nothing and reports every candle ``unchanged``.

NaN (no value) becomes NULL in the upsert; the ``iv_error`` code becomes its label there too.
Everything runs in one transaction (the staging table's rows go at commit).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction

from greeks.history.pricing import IV_ERROR_LABELS, PricedCandles
from greeks.history.records import CandleSeries
from greeks.models import OptionCandle, UnderlyingCandle

_COPY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER: Final = b"\xff\xff"
# PostgreSQL's binary timestamptz: microseconds since 2000-01-01 00:00 UTC.
_PG_EPOCH_SECONDS: Final = 946_684_800

_OPTION_STAGE: Final = "greeks_option_candle_stage"
_UNDERLYING_STAGE: Final = "greeks_underlying_candle_stage"
_PRICE_COLUMNS: Final = ("open", "high", "low", "close")
_OPTION_NULLABLE: Final = ("underlying_close", "iv", "delta", "gamma", "theta", "vega", "rho")


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What one bulk write did: rows new, rows whose values changed, rows already so stored."""

    inserted: int
    updated: int
    unchanged: int

    @property
    def stored(self) -> int:
        """Candles now stored as given (new, changed or already so)."""
        return self.inserted + self.updated + self.unchanged


_NOTHING: Final = UpsertCounts(inserted=0, updated=0, unchanged=0)


def _binary_copy(columns: list[tuple[str, npt.NDArray[Any]]]) -> bytes:
    """PostgreSQL's binary COPY format for fixed-width, non-null columns, built in numpy."""
    rows = len(columns[0][1])
    fields: list[tuple[str, str]] = [("field_count", ">i2")]
    for index, (dtype, _) in enumerate(columns):
        fields += [(f"length_{index}", ">i4"), (f"value_{index}", dtype)]
    packed = np.empty(rows, dtype=np.dtype(fields))
    packed["field_count"] = len(columns)
    for index, (dtype, values) in enumerate(columns):
        packed[f"length_{index}"] = np.dtype(dtype).itemsize
        packed[f"value_{index}"] = values
    return _COPY_HEADER + packed.tobytes() + _COPY_TRAILER


def _pg_timestamps(epoch_seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    micros: npt.NDArray[np.int64] = (epoch_seconds.astype(np.int64) - _PG_EPOCH_SECONDS) * 1_000_000
    return micros


def _copy_into_stage(stage: str, create_sql: str, payload: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"{create_sql}; TRUNCATE {stage}")
        # COPY goes through the driver's own cursor (Django's wrapper has no copy method).
        copy_sql = f"COPY {stage} FROM STDIN WITH (FORMAT binary)"
        cursor.cursor.copy_expert(copy_sql, io.BytesIO(payload))


def _upsert(sql: str, params: dict[str, Any], total: int) -> UpsertCounts:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted, updated = cursor.fetchone()
    return UpsertCounts(
        inserted=int(inserted), updated=int(updated), unchanged=total - int(inserted) - int(updated)
    )


_OPTION_STAGE_SQL: Final = f"""
CREATE TEMP TABLE IF NOT EXISTS {_OPTION_STAGE} (
    ts timestamptz, open float8, high float8, low float8, close float8, volume int8, oi int8,
    underlying_close float8, iv float8, delta float8, gamma float8, theta float8, vega float8,
    rho float8, iv_error_code int2
) ON COMMIT DELETE ROWS"""

_OPTION_VALUE_COLUMNS: Final = (
    "underlying", "expiry", *_PRICE_COLUMNS, "volume", "oi", *_OPTION_NULLABLE, "iv_error",
)  # fmt: skip
_OPTION_UPSERT_SQL: Final = f"""
WITH written AS (
    INSERT INTO {OptionCandle._meta.db_table} AS stored (
        instrument_id, interval, ts, {", ".join(_OPTION_VALUE_COLUMNS)}
    )
    SELECT %(instrument_id)s, %(interval)s, s.ts, %(underlying)s, %(expiry)s,
           {", ".join(f"s.{c}" for c in (*_PRICE_COLUMNS, "volume", "oi"))},
           {", ".join(f"NULLIF(s.{c}, 'NaN'::float8)" for c in _OPTION_NULLABLE)},
           (%(labels)s::text[])[s.iv_error_code + 1]
    FROM {_OPTION_STAGE} AS s
    ON CONFLICT (instrument_id, interval, ts) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _OPTION_VALUE_COLUMNS)}
    WHERE ({", ".join(f"stored.{c}" for c in _OPTION_VALUE_COLUMNS)})
          IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in _OPTION_VALUE_COLUMNS)})
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""  # noqa: S608  (names are module constants; values are parameters)


def option_candles_upsert(
    *, instrument_id: int, interval: str, underlying: str, expiry: date, priced: PricedCandles
) -> UpsertCounts:
    """Store one contract's priced candles in bulk (see the module docstring)."""
    if len(priced) == 0:
        return _NOTHING
    candles = priced.candles
    payload = _binary_copy([
        (">i8", _pg_timestamps(candles.ts)),
        *((">f8", getattr(candles, column)) for column in _PRICE_COLUMNS),
        (">i8", candles.volume),
        (">i8", candles.oi),
        *((">f8", getattr(priced, column)) for column in _OPTION_NULLABLE),
        (">i2", priced.iv_error_code),
    ])  # fmt: skip
    params = {
        "instrument_id": instrument_id,
        "interval": interval,
        "underlying": underlying,
        "expiry": expiry,
        "labels": list(IV_ERROR_LABELS),
    }
    with transaction.atomic():
        _copy_into_stage(_OPTION_STAGE, _OPTION_STAGE_SQL, payload)
        return _upsert(_OPTION_UPSERT_SQL, params, len(priced))


_UNDERLYING_STAGE_SQL: Final = f"""
CREATE TEMP TABLE IF NOT EXISTS {_UNDERLYING_STAGE} (
    ts timestamptz, open float8, high float8, low float8, close float8, volume int8
) ON COMMIT DELETE ROWS"""

_UNDERLYING_VALUE_COLUMNS: Final = (*_PRICE_COLUMNS, "volume")
_UNDERLYING_UPSERT_SQL: Final = f"""
WITH written AS (
    INSERT INTO {UnderlyingCandle._meta.db_table} AS stored (
        instrument_id, interval, ts, {", ".join(_UNDERLYING_VALUE_COLUMNS)}
    )
    SELECT %(instrument_id)s, %(interval)s, s.ts,
           {", ".join(f"s.{c}" for c in _UNDERLYING_VALUE_COLUMNS)}
    FROM {_UNDERLYING_STAGE} AS s
    ON CONFLICT (instrument_id, interval, ts) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _UNDERLYING_VALUE_COLUMNS)}
    WHERE ({", ".join(f"stored.{c}" for c in _UNDERLYING_VALUE_COLUMNS)})
          IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in _UNDERLYING_VALUE_COLUMNS)})
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""  # noqa: S608  (names are module constants; values are parameters)


def underlying_candles_upsert(*, instrument_id: int, candles: CandleSeries) -> UpsertCounts:
    """Store an underlying's (closed) candles in bulk (see the module docstring)."""
    if len(candles) == 0:
        return _NOTHING
    payload = _binary_copy([
        (">i8", _pg_timestamps(candles.ts)),
        *((">f8", getattr(candles, column)) for column in _PRICE_COLUMNS),
        (">i8", candles.volume),
    ])  # fmt: skip
    params = {"instrument_id": instrument_id, "interval": candles.interval}
    with transaction.atomic():
        _copy_into_stage(_UNDERLYING_STAGE, _UNDERLYING_STAGE_SQL, payload)
        return _upsert(_UNDERLYING_UPSERT_SQL, params, len(candles))
