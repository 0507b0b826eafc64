"""streaming.pipeline.message_templates and the processor's rendered messages (pure)."""

from __future__ import annotations

import math

import numpy as np
import orjson

from streaming.pipeline.message_templates import Slot, Template, number_column, number_columns
from streaming.pipeline.messages import depth_columns, tick_template


def test_a_template_is_its_text_with_each_slot_filled_per_message() -> None:
    template = Template.of([b"{", b'"a":', Slot("a"), b',"b":', Slot("b"), b"}"])
    assert template.constants == (b'{"a":', b',"b":', b"}")
    assert template.render({"a": [b"1", b"2"], "b": [b"null", b'"x"']}, 2) == [
        b'{"a":1,"b":null}',
        b'{"a":2,"b":"x"}',
    ]
    assert template.render({"a": [], "b": []}, 0) == []


def test_number_tokens_are_orjsons_own_formatting() -> None:
    floats = np.array(
        [[0.1 + 0.2, -0.0, 1e-7], [math.nan, 1_796_700_000.123, -math.inf], [24000.0, 5e-324, 1e22]]
    )
    columns = number_columns(floats)
    for j, column in enumerate(columns):
        assert column == [orjson.dumps(value) for value in floats[:, j].tolist()]
    ints = np.array([[0, -5], [2**40, 7]], dtype=np.int64)
    assert number_columns(ints) == [[b"0", b"1099511627776"], [b"-5", b"7"]]
    assert number_column(np.array([1.5, math.nan])) == [b"1.5", b"null"]
    assert number_columns(np.empty((0, 3))) == [[], [], []]
    assert number_column(np.empty(0)) == []


def test_a_full_mode_message_is_what_orjson_writes_for_the_same_dict() -> None:
    rng = np.random.default_rng(3)
    n = 4
    keys: list[tuple[str, bytes | None]] = [("price", None), ("is_mock", b"true"), ("iv", None)]
    template = tick_template(keys, depth=True)
    quantities = rng.integers(0, 10**6, (n, 10))
    prices = np.round(rng.uniform(1, 500, (n, 10)), 2)
    orders = rng.integers(0, 50, (n, 10))
    totals = rng.integers(0, 10**7, (n, 2))
    price = np.array([120.5, 0.05, 3.0, 99.95])
    iv = np.array([0.1342, math.nan, 0.2, 1e-9])
    heads = [b'{"symbol":"NIFTY","token":%d,' % token for token in range(n)]
    columns = {
        "head": heads,
        "price": number_column(price),
        "iv": number_column(iv),
        **depth_columns(quantities, prices, orders, totals),
    }
    for i, message in enumerate(template.render(columns, n)):
        level = [
            {"quantity": int(quantities[i, k]), "price": float(prices[i, k]),
             "orders": int(orders[i, k])}
            for k in range(10)
        ]  # fmt: skip
        expected = {
            "symbol": "NIFTY", "token": i, "price": float(price[i]), "is_mock": True,
            "iv": None if math.isnan(iv[i]) else float(iv[i]),
            "depth": {"buy": level[:5], "sell": level[5:]},
            "total_buy_quantity": int(totals[i, 0]), "total_sell_quantity": int(totals[i, 1]),
        }  # fmt: skip
        assert message == orjson.dumps(expected)
