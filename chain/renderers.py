"""JSON rendering with orjson: a 200-strike chain is ~7,000 values, which DRF's stdlib-json
renderer takes several milliseconds to write (benchmarks/chain_bench.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer


class ORJSONRenderer(JSONRenderer):
    """``application/json`` via orjson (NaN cannot occur: the payload maps it to null)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data)
