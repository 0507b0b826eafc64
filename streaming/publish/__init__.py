"""Writing the contract to Redis: RESP encoding, the connection, the buffered publisher."""
