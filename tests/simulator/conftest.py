"""Simulator tests use the shared fixtures registered in tests/conftest.py."""
