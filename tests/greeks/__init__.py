"""Tests of the Greeks engine (pure numerical core) and its helpers."""
