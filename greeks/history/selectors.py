"""Which instruments a historical run covers: the nightly job's and the backfill's (reads only)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Abs

from subscriptions.models import Instrument, SubscriptionStatus, Underlying

OPTION_TYPES = ("CE", "PE")


def instruments_subscribed_on(*, day: date, tz: ZoneInfo) -> QuerySet[Instrument]:
    """Options that were subscribed on ``day`` (in ``tz``), as far as the registry can tell.

    Subscriptions keep no history, so "subscribed that day" is read as: active now and created
    before the day ended, or deactivated during the day (inactive, last changed that day). A
    subscription switched off and on again within the day counts once; one deactivated on an
    earlier day does not count. Run after the close, "active now" is "active at the close".
    """
    day_start = datetime.combine(day, time(0, 0), tzinfo=tz)
    day_end = day_start + timedelta(days=1)
    active = Q(subscription__status=SubscriptionStatus.ACTIVE, subscription__created_at__lt=day_end)
    left_today = Q(
        subscription__status=SubscriptionStatus.INACTIVE,
        subscription__updated_at__gte=day_start,
        subscription__updated_at__lt=day_end,
    )
    return (
        Instrument.objects.filter(instrument_type__in=OPTION_TYPES)
        .filter(active | left_today)
        .order_by("instrument_token")
    )


class UnknownUnderlying(LookupError):
    """No underlying of that name in the registry."""


def instruments_for_backfill(
    *, underlying: str, expiry: date | None, strikes: int | None, expiring_from: date
) -> QuerySet[Instrument]:
    """The options of ``underlying`` (Kite's ``name``) to backfill.

    ``expiry`` picks one expiry, else every listed expiry on or after ``expiring_from``. ``strikes``
    keeps the N listed strikes nearest the index's last price in the registry (the middle
    strike when none is known), with every chosen expiry's CE and PE at them; else every
    strike. Raises `UnknownUnderlying` when no underlying of that name is configured.
    """
    config = Underlying.objects.filter(name=underlying).first()
    if config is None:
        raise UnknownUnderlying(underlying)
    options = Instrument.objects.filter(name=underlying, instrument_type__in=OPTION_TYPES)
    options = options.filter(expiry=expiry) if expiry else options.filter(expiry__gte=expiring_from)
    if strikes is None:
        return options.order_by("expiry", "strike", "instrument_type")
    index_price = (
        Instrument.objects.filter(instrument_token=config.index_token)
        .values_list("last_price", flat=True)
        .first()
    )
    if not index_price:
        listed = list(options.values_list("strike", flat=True).distinct().order_by("strike"))
        index_price = listed[len(listed) // 2] if listed else 0.0
    nearest = (
        options.values("strike")
        .distinct()
        .annotate(distance=Abs(F("strike") - Value(index_price, output_field=FloatField())))
        .order_by("distance", "strike")
        .values_list("strike", flat=True)[:strikes]
    )
    return options.filter(strike__in=list(nearest)).order_by("expiry", "strike", "instrument_type")
