"""A local stand-in for Kite: market model, REST and binary WebSocket in Kite's formats."""
