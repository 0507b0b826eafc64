"""Kite's REST API (mounted at ``/``, as kiteconnect's urljoin requires), in Kite's envelope.

Every response carries a Content-Type (kiteconnect reads it unconditionally); errors carry
Kite's ``error_type`` so the client raises the matching exception class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode

import structlog
from aiohttp import web

from kite_wire.instruments_csv import write_instruments_csv
from market_model.clock import IST
from market_model.market import MarketState
from market_model.universe import KIND_INDEX
from simulator.context import HISTORICAL_PER_SECOND, QUOTE_PER_SECOND, SimulatorContext
from simulator.faults import corrupt_candles, corrupt_instruments_csv
from simulator.history import HistoryError, candles
from simulator.sessions import SessionError, SimAccount, profile_of, session_of

log = structlog.get_logger(__name__)

CONTEXT: Final = web.AppKey("context", SimulatorContext)
MAX_QUOTE: Final = 500
MAX_LTP_OHLC: Final = 1000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KiteError(Exception):
    """Answered as Kite's error envelope."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def success(data: object) -> web.Response:
    return web.json_response({"status": "success", "data": data})


def error_response(exc: KiteError) -> web.Response:
    body = {"status": "error", "message": exc.message, "data": None, "error_type": exc.error_type}
    return web.json_response(body, status=exc.status)


@web.middleware
async def kite_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    if ctx.faults.slow_seconds and not request.path.startswith("/_sim"):
        await asyncio.sleep(ctx.faults.slow_seconds)
    try:
        return await handler(request)
    except KiteError as exc:
        log.info("sim_rest_error", path=request.path, error_type=exc.error_type, status=exc.status)
        return error_response(exc)
    except web.HTTPNotFound:
        return error_response(KiteError(404, "GeneralException", "Route not found"))


def authenticate(request: web.Request) -> SimAccount:
    """``Authorization: token api_key:access_token``, as kiteconnect sends it."""
    ctx = request.app[CONTEXT]
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    api_key, _, access_token = credentials.partition(":")
    account = ctx.sessions.accounts.get(api_key)
    if scheme != "token" or account is None or not ctx.sessions.is_valid(api_key, access_token):
        raise KiteError(403, "TokenException", "Incorrect `api_key` or `access_token`.")
    return account


def rate_limit(request: web.Request, account: SimAccount, bucket: str, per_second: int) -> None:
    ctx = request.app[CONTEXT]
    if ctx.settings.rate_limits and not ctx.limiter.allow(account.api_key, bucket, per_second):
        raise KiteError(429, "NetworkException", "Too many requests")


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, IST).strftime("%Y-%m-%d %H:%M:%S")


async def instruments(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    exchange = request.match_info.get("exchange")
    rows = ctx.model.instrument_rows_with_prices()
    if exchange:
        rows = [r for r in rows if r.exchange == exchange.upper()]
    text = write_instruments_csv(rows)
    if ctx.faults.corrupt_lines:
        text, _broken = corrupt_instruments_csv(text, ctx.faults.corrupt_lines)
    response = web.Response(text=text, content_type="text/csv", charset="utf-8")
    response.enable_compression()  # Kite serves the dump gzipped
    return response


def _positions(request: web.Request, limit: int) -> list[tuple[str, int]]:
    ctx = request.app[CONTEXT]
    keys = request.query.getall("i", [])
    if not keys:
        raise KiteError(400, "InputException", "No instruments specified.")
    if len(keys) > limit:
        raise KiteError(400, "InputException", f"Too many instruments. Max {limit} allowed.")
    found = []
    for key in keys:
        position = ctx.model.universe.by_key.get(key)
        if position is not None:  # Kite leaves unknown keys out of the answer
            found.append((key, position))
    return found


def _ohlc(state: MarketState, i: int) -> dict[str, float]:
    return {
        "open": float(state.open[i]),
        "high": float(state.high[i]),
        "low": float(state.low[i]),
        "close": float(state.close[i]),
    }


def _depth(state: MarketState, i: int, side: str) -> list[dict[str, float | int]]:
    prices = getattr(state, f"depth_{side}_price")[i]
    quantities = getattr(state, f"depth_{side}_quantity")[i]
    orders = getattr(state, f"depth_{side}_orders")[i]
    return [
        {"price": float(p), "quantity": int(q), "orders": int(o)}
        for p, q, o in zip(prices, quantities, orders, strict=True)
    ]


def quote_of(ctx: SimulatorContext, state: MarketState, i: int) -> dict[str, object]:
    """One instrument of ``/quote`` in Kite's shape (indices carry only price fields)."""
    u = ctx.model.universe
    last_price = float(state.last_price[i])
    base: dict[str, object] = {
        "instrument_token": int(u.tokens[i]),
        "timestamp": _stamp(state.epoch),
        "last_price": last_price,
        "net_change": round(last_price - float(state.close[i]), 2),
        "ohlc": _ohlc(state, i),
    }
    if u.kind[i] == KIND_INDEX:
        return base
    close = float(state.close[i])
    return {
        **base,
        "last_trade_time": _stamp(int(state.last_trade_time[i])),
        "last_quantity": int(state.last_traded_quantity[i]),
        "buy_quantity": int(state.total_buy_quantity[i]),
        "sell_quantity": int(state.total_sell_quantity[i]),
        "volume": int(state.volume_traded[i]),
        "average_price": float(state.average_traded_price[i]),
        "oi": int(state.oi[i]),
        "oi_day_high": int(state.oi_day_high[i]),
        "oi_day_low": int(state.oi_day_low[i]),
        "lower_circuit_limit": round(max(0.05, close * 0.6), 2),
        "upper_circuit_limit": round(close * 1.4 + 1, 2),
        "depth": {"buy": _depth(state, i, "buy"), "sell": _depth(state, i, "sell")},
    }


def _quote_request(
    request: web.Request, limit: int
) -> tuple[SimulatorContext, MarketState, list[tuple[str, int]]]:
    """What every /quote endpoint does first: auth, the quote rate limit, keys, model state."""
    account = authenticate(request)
    rate_limit(request, account, "quote", QUOTE_PER_SECOND)
    ctx = request.app[CONTEXT]
    found = _positions(request, limit)
    return ctx, ctx.model.advance(ctx.clock.now()), found


async def quote(request: web.Request) -> web.Response:
    ctx, state, found = _quote_request(request, MAX_QUOTE)
    return success({key: quote_of(ctx, state, i) for key, i in found})


async def quote_ltp(request: web.Request) -> web.Response:
    ctx, state, found = _quote_request(request, MAX_LTP_OHLC)
    tokens = ctx.model.universe.tokens
    return success(
        {
            key: {"instrument_token": int(tokens[i]), "last_price": float(state.last_price[i])}
            for key, i in found
        }
    )


async def quote_ohlc(request: web.Request) -> web.Response:
    ctx, state, found = _quote_request(request, MAX_LTP_OHLC)
    tokens = ctx.model.universe.tokens
    return success(
        {
            key: {
                "instrument_token": int(tokens[i]),
                "last_price": float(state.last_price[i]),
                "ohlc": _ohlc(state, i),
            }
            for key, i in found
        }
    )


def _parse_when(value: str | None, name: str) -> datetime:
    if not value:
        raise KiteError(400, "InputException", f"missing `{name}`")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=IST)
        except ValueError:
            continue
    raise KiteError(400, "InputException", f"invalid `{name}`: {value}")


async def historical(request: web.Request) -> web.Response:
    account = authenticate(request)
    ctx = request.app[CONTEXT]
    if ctx.faults.take_throttle(account.api_key):
        raise KiteError(429, "NetworkException", "Too many requests")
    rate_limit(request, account, "historical", HISTORICAL_PER_SECOND)
    try:
        token = int(request.match_info["token"])
    except ValueError:
        raise KiteError(400, "InputException", "invalid token") from None
    position = ctx.model.universe.by_token.get(token)
    if position is None:
        raise KiteError(400, "InputException", "invalid token")
    start = _parse_when(request.query.get("from"), "from")
    end = _parse_when(request.query.get("to"), "to")
    try:
        rows = candles(
            ctx.model,
            position=position,
            interval=request.match_info["interval"],
            start=start,
            end=end,
            now=ctx.clock.now(),
            with_oi=request.query.get("oi") == "1",
        )
    except HistoryError as exc:
        raise KiteError(400, "InputException", str(exc)) from exc
    corruption = ctx.faults.take_candle_corruption(account.api_key)
    if corruption is not None:
        rows = corrupt_candles(rows, corruption)
    return success({"candles": rows})


async def login(request: web.Request) -> web.StreamResponse:
    """Kite's login page, minus the page: redirect at once with a fresh request token."""
    ctx = request.app[CONTEXT]
    redirect_url = ctx.settings.redirect_url
    if not redirect_url:
        raise KiteError(400, "InputException", "No redirect URL configured (--redirect-url).")
    try:
        token = ctx.sessions.issue_request_token(
            request.query.get("api_key", ""), now=ctx.clock.now()
        )
    except SessionError as exc:
        raise KiteError(400, "InputException", str(exc)) from exc
    # Kite decodes redirect_params (itself a URL-encoded query string) and appends its pairs
    # to the redirect URL beside request_token; our own keys win over a clashing one.
    params = dict(parse_qsl(request.query.get("redirect_params", ""), keep_blank_values=True))
    params.update({"request_token": token, "action": "login", "status": "success"})
    separator = "&" if "?" in redirect_url else "?"
    raise web.HTTPFound(f"{redirect_url}{separator}{urlencode(params)}")


async def session_token(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    form = await request.post()
    api_key = str(form.get("api_key", ""))
    try:
        access_token = ctx.sessions.exchange(
            api_key=api_key,
            request_token=str(form.get("request_token", "")),
            checksum=str(form.get("checksum", "")),
            now=ctx.clock.now(),
        )
    except SessionError as exc:
        raise KiteError(403, "TokenException", str(exc)) from exc
    account = ctx.sessions.accounts[api_key]
    log.info("sim_session_created", user_id=account.user_id)
    return success(session_of(account, access_token=access_token, login_time=ctx.clock.now_ist()))


async def session_delete(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    api_key = request.query.get("api_key", "")
    access_token = request.query.get("access_token", "")
    if not ctx.sessions.invalidate(api_key, access_token):
        raise KiteError(403, "TokenException", "Incorrect `api_key` or `access_token`.")
    return success(True)


async def profile(request: web.Request) -> web.Response:
    return success(profile_of(authenticate(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/instruments", instruments)
    app.router.add_get("/instruments/historical/{token}/{interval}", historical)
    app.router.add_get("/instruments/{exchange}", instruments)
    app.router.add_get("/quote", quote)
    app.router.add_get("/quote/ltp", quote_ltp)
    app.router.add_get("/quote/ohlc", quote_ohlc)
    app.router.add_get("/connect/login", login)
    app.router.add_post("/session/token", session_token)
    app.router.add_delete("/session/token", session_delete)
    app.router.add_get("/user/profile", profile)
