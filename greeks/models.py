"""Historical candles: options with their IV and Greeks, and the underlyings' own candles.

Two sibling tables rather than one: an index candle has no strike, no open interest worth
keeping and no Greeks, and a chart reads spot and IV together through ``underlying_close``
(the index close aligned to each option candle, stored with it). Rows are written only by the
bulk upsert in ``greeks.history.storage`` (never ``save()`` per candle); ``ts`` is the candle's
START as Kite stamps it, an aware datetime stored in UTC.

``underlying`` and ``expiry`` are copied from the instrument when a candle is stored (a
contract's name and expiry never change), so range reads over a chain (underlying + expiry)
and the admin's filters need no join. Instruments are PROTECTed: Kite keeps no history for
expired options, so a deleted registry row must never take its candles with it.

The instrument foreign keys have no database constraint (``db_constraint=False``): PostgreSQL
checks a foreign key with one trigger query per inserted row, which on a contract-year of
minute candles (93,000 rows) cost more than the whole bulk upsert (measured in
benchmarks/candle_store_bench.py). Integrity is kept by the one writer, the upsert in
``greeks.history.storage``, which takes the id of an ``Instrument`` it was handed, and by
Django's PROTECT on delete (checked with one query per deleted instrument). The column is still
indexed: it leads the unique constraint (so no index of its own).
"""

from __future__ import annotations

from django.db import models

from greeks.engine import IVReason
from greeks.history.intervals import KITE_INTERVALS
from greeks.history.pricing import NO_UNDERLYING_PRICE
from subscriptions.models import Instrument

INTERVAL_CHOICES = [(name, name) for name in KITE_INTERVALS]
IV_ERROR_CHOICES = [
    ("", "ok"),
    *((reason.label, reason.label) for reason in IVReason if reason != IVReason.OK),
    (NO_UNDERLYING_PRICE, NO_UNDERLYING_PRICE),
]


class OptionCandle(models.Model):
    """One candle of one option contract, priced: IV from the close, Greeks at that IV.

    ``underlying_close`` is null where the index had no candle at that ``ts``; such a candle
    has ``iv_error = "no_underlying_price"`` and null IV and Greeks (never an invented price).
    ``iv_error`` is empty when the IV was solved, else the engine's reason label.
    """

    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        related_name="option_candles",
        db_constraint=False,
        db_index=False,
    )
    interval = models.CharField(max_length=12, choices=INTERVAL_CHOICES)
    ts = models.DateTimeField(help_text="candle start (aware; stored in UTC)")
    underlying = models.CharField(max_length=64, help_text="the option's name, e.g. NIFTY")
    expiry = models.DateField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.BigIntegerField()
    oi = models.BigIntegerField()
    underlying_close = models.FloatField(null=True, blank=True)
    iv = models.FloatField(null=True, blank=True, help_text="annualised decimal (0.2 = 20 %)")
    delta = models.FloatField(null=True, blank=True)
    gamma = models.FloatField(null=True, blank=True)
    theta = models.FloatField(null=True, blank=True, help_text="per calendar day")
    vega = models.FloatField(null=True, blank=True, help_text="per vol point")
    rho = models.FloatField(null=True, blank=True, help_text="per 1 % of rate")
    iv_error = models.CharField(max_length=32, blank=True, default="", choices=IV_ERROR_CHOICES)

    class Meta:
        ordering = ["instrument", "interval", "ts"]
        constraints = [
            # Also the index for range reads of one contract (instrument, interval, ts).
            models.UniqueConstraint(
                fields=["instrument", "interval", "ts"], name="option_candle_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(interval__in=KITE_INTERVALS), name="option_candle_interval"
            ),
        ]
        indexes = [
            models.Index(
                fields=["underlying", "expiry", "interval", "ts"], name="option_candle_chain_idx"
            ),
            # The admin's newest-first list and its trading-day filter, across contracts.
            models.Index(fields=["ts"], name="option_candle_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.interval} {self.ts.isoformat()}"


class UnderlyingCandle(models.Model):
    """One candle of an underlying (an index): what the option candles were priced against."""

    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.PROTECT,
        related_name="underlying_candles",
        db_constraint=False,
        db_index=False,
    )
    interval = models.CharField(max_length=12, choices=INTERVAL_CHOICES)
    ts = models.DateTimeField(help_text="candle start (aware; stored in UTC)")
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.BigIntegerField()

    class Meta:
        ordering = ["instrument", "interval", "ts"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "interval", "ts"], name="underlying_candle_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(interval__in=KITE_INTERVALS), name="underlying_candle_interval"
            ),
        ]
        indexes = [models.Index(fields=["ts"], name="underlying_candle_ts_idx")]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.interval} {self.ts.isoformat()}"
