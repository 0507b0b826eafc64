"""Fixtures for the streaming tests: the simulator (real sockets) and a registry loaded from it."""

from __future__ import annotations

from tests.simulator_fixtures import kite_simulator, simulator_factory

__all__ = ["kite_simulator", "simulator_factory"]
