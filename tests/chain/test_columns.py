"""Snapshots decoded into columns: unknown is NaN, never 0 (plain values, no Redis)."""

from __future__ import annotations

import math

import orjson

from chain.columns import snapshot_columns


def test_columns_keep_unknown_values_unknown() -> None:
    level = {"quantity": 1, "orders": 1}
    raws = [
        orjson.dumps(
            {"price": 10.5, "ts": 100.0, "oi": 0, "volume": 7, "iv": 0.2, "delta": 0.5,
             "gamma": 0.01, "theta": -1.0, "vega": 2.0,
             "depth": {"buy": [{**level, "price": 10.4}], "sell": [{**level, "price": 10.6}]}}
        ),
        orjson.dumps(
            {"price": 0, "ts": 100.0, "oi": None, "volume": True, "iv": "x",
             "depth": {"buy": [{**level, "price": 0.0}], "sell": []}}
        ),
        None,
        b"not json",
        orjson.dumps([1, 2]),
    ]  # fmt: skip
    columns = snapshot_columns(raws)
    assert columns["price"][0] == 10.5 and columns["bid"][0] == 10.4 and columns["ask"][0] == 10.6
    assert columns["oi"][0] == 0.0 and columns["volume"][0] == 7.0  # 0 OI is a value
    # Price 0 (no trade), empty depth levels, a bool volume and a string IV are unknown.
    for name in ("price", "bid", "ask", "oi", "volume", "iv", "delta"):
        assert math.isnan(columns[name][1]), name
    assert columns["ts"][1] == 100.0
    for row in (2, 3, 4):  # missing, not JSON, not an object
        assert all(math.isnan(column[row]) for column in columns.values())
