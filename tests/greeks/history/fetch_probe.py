"""A separate OS process that fetches through the shared limiter (the two-process rate-limit test).

``python -m tests.greeks.history.fetch_probe API_ROOT API_KEY TOKEN REDIS_URL PREFIX INSTRUMENT N``
fetches N day-candle requests of INSTRUMENT through one account and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

import redis
from kiteconnect import KiteConnect

from greeks.history.fetch import FetchAccount, Fetched, FetchJob, HistoricalFetchPool
from greeks.history.rate_limit import HistoricalRateLimiter, rate_limit_key
from market_model.clock import IST


def main(argv: list[str]) -> int:
    api_root, api_key, access_token, redis_url, prefix, token, count = argv
    client = KiteConnect(api_key=api_key, access_token=access_token, root=api_root)

    account = FetchAccount(1, "probe", client, rate_limit_key(prefix, api_key))
    pool = HistoricalFetchPool(
        accounts=[account], limiter=HistoricalRateLimiter(redis.Redis.from_url(redis_url))
    )
    end = datetime.now(IST).replace(microsecond=0)
    jobs = [
        FetchJob(int(token), "day", end - timedelta(days=10 + i), end) for i in range(int(count))
    ]
    outcomes = list(pool.run(jobs))
    fetched = [o for o in outcomes if isinstance(o, Fetched)]
    print(json.dumps({"fetched": len(fetched), "requests": sum(o.requests for o in fetched)}))  # noqa: T201
    return 0 if len(fetched) == len(jobs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
