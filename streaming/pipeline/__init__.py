"""The tick path after the socket: instrument table, enrichment, bars, messages, processor."""
