"""Fleet supervisor, account worker, Kite feed, tick pipeline, publisher, heartbeats."""
