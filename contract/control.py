"""The reload request on ``{prefix}:control``: its encoder and decoder (pure).

``{"type": "reload", "account_ids": [...], "reason": ..., "ts": ...}``; an empty list means
every worker. The control plane encodes, the account workers decode.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import structlog

log = structlog.get_logger(__name__)

RELOAD_TYPE = "reload"


def reload_message(*, account_ids: Iterable[int], reason: str, ts: float) -> bytes:
    """``{"type": "reload", "account_ids": [...], "reason": ..., "ts": ...}``; [] = every worker."""
    return orjson.dumps(
        {"type": RELOAD_TYPE, "account_ids": sorted(set(account_ids)), "reason": reason, "ts": ts}
    )


def parse_reload(raw: bytes | str, *, account_id: int) -> str | None:
    """The reason if ``raw`` is a reload for ``account_id``, else None (logged if malformed)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("control_message_not_json", length=len(raw))
        return None
    if not isinstance(doc, dict) or doc.get("type") != RELOAD_TYPE:
        return None
    # The contract requires the list; only an explicit empty one means "every worker".
    ids = doc.get("account_ids")
    if not isinstance(ids, list):
        log.warning("control_message_bad_account_ids", account_ids=str(ids)[:100])
        return None
    if ids and account_id not in ids:
        return None
    return str(doc.get("reason", "control"))[:100]
