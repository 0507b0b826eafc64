"""Instrument registry, subscriptions, assignment to accounts, strike rebalancer."""
