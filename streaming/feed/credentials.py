"""The WebSocket URL of an account, which carries its api_key and access_token.

It is a secret: `FeedUrl` never shows it in ``repr``/``str`` (logs, tracebacks, heartbeats);
only the connection reads it, through ``reveal()``.
"""

from __future__ import annotations

from urllib.parse import urlencode


class FeedUrl:
    """``{ws_root}?api_key=...&access_token=...`` as kiteconnect builds it, kept out of logs."""

    __slots__ = ("_url", "root")

    def __init__(self, *, ws_root: str, api_key: str, access_token: str) -> None:
        if not ws_root.startswith(("ws://", "wss://")):
            raise ValueError("the WebSocket root must start with ws:// or wss://")
        if not api_key or not access_token:
            raise ValueError("an api_key and an access_token are needed to stream")
        self.root = ws_root  # no secret in the root itself
        query = urlencode({"api_key": api_key, "access_token": access_token})
        self._url = f"{ws_root}?{query}"

    def reveal(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"FeedUrl(root={self.root!r}, credentials=[redacted])"

    __str__ = __repr__
