"""Simulator tests use the shared fixtures (until tests/conftest.py registers them as a plugin)."""

from tests.simulator_fixtures import kite_simulator, simulator_factory

__all__ = ["kite_simulator", "simulator_factory"]
