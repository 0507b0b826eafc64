"""Writes on accounts: ``account.py`` (create, secrets, status), ``login.py`` (Kite login flow,
session checks), ``rotation.py`` (re-encryption with the newest key)."""
