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


def test_numbers_and_nulls_only_take_the_block_path_with_the_same_meaning() -> None:
    raws = [
        orjson.dumps({"price": 10.5, "ts": 100.0, "oi": 12, "volume": None, "iv": None}),
        orjson.dumps({"price": 0.0, "ts": 101, "oi": 0, "volume": 3, "delta": -0.4}),
        None,
    ]
    columns = snapshot_columns(raws)
    assert columns["price"][0] == 10.5 and math.isnan(columns["price"][1])  # 0: no trade
    assert columns["ts"].tolist()[:2] == [100.0, 101.0]
    assert columns["oi"].tolist()[:2] == [12.0, 0.0]
    assert math.isnan(columns["volume"][0]) and columns["volume"][1] == 3.0
    assert math.isnan(columns["iv"][0]) and math.isnan(columns["iv"][1])  # null and absent
    assert columns["delta"][1] == -0.4
    assert math.isnan(columns["bid"][0]) and math.isnan(columns["ask"][1])  # no depth
    assert all(math.isnan(column[2]) for column in columns.values())


def test_one_odd_field_or_depth_costs_that_value_only() -> None:
    """A snapshot the typed decode refuses is read field by field: its other values stay."""
    raws = [
        orjson.dumps({"price": 12, "ts": 100, "oi": True, "depth": []}),  # ints, a bool, a list
        orjson.dumps({"price": 9.5, "ts": 100.0, "depth": {"buy": [1], "sell": [{"price": 9.6}]}}),
        orjson.dumps({"price": 9.5, "ts": 100.0, "iv": 0.2, "depth": None, "extra": {"a": [1]}}),
    ]
    columns = snapshot_columns(raws)
    assert columns["price"].tolist() == [12.0, 9.5, 9.5] and columns["ts"][0] == 100.0
    assert math.isnan(columns["oi"][0]) and math.isnan(columns["bid"][0])
    assert math.isnan(columns["bid"][1]) and columns["ask"][1] == 9.6  # a level not an object
    assert columns["iv"][2] == 0.2 and math.isnan(columns["ask"][2])  # null depth, extra keys
