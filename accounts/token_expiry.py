"""When a Kite access token dies: 06:00 IST after it was issued (a regulatory rule of Kite's).

The zone is Kite's, not a deployment setting, so it is fixed here rather than read from
MARKET_TIME_ZONE.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

KITE_TIME_ZONE = ZoneInfo("Asia/Kolkata")
TOKEN_EXPIRY_LOCAL_TIME = time(6, 0)


def access_token_expiry(issued_at: datetime, zone: ZoneInfo = KITE_TIME_ZONE) -> datetime:
    """The first 06:00 in ``zone`` strictly after ``issued_at`` (aware)."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    local = issued_at.astimezone(zone)
    candidate = datetime.combine(local.date(), TOKEN_EXPIRY_LOCAL_TIME, tzinfo=zone)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate
