"""The Kite WebSocket feed: sharding, per-connection subscription diffs, connections, the pool."""
