"""Every chain test starts with no registry cached in this process (``chain.api``): tests roll
their rows back, so an entry of one test must never meet the next one's data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.api import process_registry_cache


@pytest.fixture(autouse=True)
def _fresh_registry_cache() -> Iterator[None]:
    process_registry_cache.cache_clear()
    yield
    process_registry_cache.cache_clear()
