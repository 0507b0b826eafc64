"""factory_boy factories for instruments, subscriptions and underlyings."""

from __future__ import annotations

from datetime import date

import factory

from subscriptions.models import Instrument, Subscription, SubscriptionSource, SubscriptionStatus


class InstrumentFactory(factory.django.DjangoModelFactory[Instrument]):
    class Meta:
        model = Instrument

    instrument_token = factory.Sequence(lambda n: 10_000_000 + n * 256 + 2)
    exchange_token = factory.Sequence(lambda n: 40_000 + n)
    tradingsymbol = factory.Sequence(lambda n: f"NIFTY25DEC{20000 + n * 50}CE")
    name = "NIFTY"
    segment = "NFO-OPT"
    exchange = "NFO"
    instrument_type = "CE"
    strike = factory.Sequence(lambda n: 20000.0 + n * 50)
    expiry = date(2025, 12, 30)
    lot_size = 75
    tick_size = 0.05


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription

    instrument = factory.SubFactory(InstrumentFactory)
    status = SubscriptionStatus.ACTIVE
    source = SubscriptionSource.MANUAL
