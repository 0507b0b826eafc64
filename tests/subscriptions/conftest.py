"""Fixtures of the subscriptions tests.

The simulator fixtures are imported explicitly (pytest_plugins is only allowed in the root
conftest); registration is to move into tests/conftest.py later.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator_fixtures import kite_simulator, simulator_factory
from tests.subscriptions.kite_stub import KiteStub, kite_stub
from ticker_project.celery import app as celery_app


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run Celery tasks inline (real services, no broker); errors propagate to the test."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def stub() -> Iterator[KiteStub]:
    with kite_stub() as running:
        yield running


__all__ = ["kite_simulator", "simulator_factory"]
