"""Kite Connect wire formats, defined once.

Pure (numpy + stdlib): binary tick packets and frames, the WebSocket client messages and the
instruments CSV. The feed decodes with it, the simulator encodes with it, and the official
``kiteconnect`` parser is the oracle the tests hold it to.
"""
