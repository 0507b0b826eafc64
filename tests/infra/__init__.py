"""Tests of the leaf infrastructure (infra/)."""
