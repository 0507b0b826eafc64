"""Writes of the control plane: ``instruments`` (registry refresh), ``subscriptions`` (create,
activate, deactivate, release, delete), ``assignment`` (subscriptions to accounts) and
``rebalance`` (strikes around the money)."""
