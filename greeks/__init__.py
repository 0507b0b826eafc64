"""Vectorized Black-Scholes engine, historical Greeks enrichment."""
