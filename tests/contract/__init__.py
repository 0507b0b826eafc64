"""Tests of the published contract module (contract/)."""
