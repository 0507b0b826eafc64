"""Instrument registry (Kite's instruments dump), subscriptions, and the underlyings whose
strikes the rebalancer keeps around the money. Thin models; writes live in services."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Account


class Instrument(models.Model):
    """One row of Kite's instruments dump (columns as Kite names them)."""

    instrument_token = models.BigIntegerField(unique=True)
    exchange_token = models.BigIntegerField()
    tradingsymbol = models.CharField(max_length=64)
    name = models.CharField(max_length=64, blank=True)
    segment = models.CharField(max_length=16)
    exchange = models.CharField(max_length=8)
    instrument_type = models.CharField(max_length=8)
    strike = models.FloatField(default=0.0)
    expiry = models.DateField(null=True, blank=True)
    lot_size = models.PositiveIntegerField(default=1)
    tick_size = models.FloatField(default=0.05)
    last_price = models.FloatField(default=0.0)
    # Set when the instrument vanished from the latest dump (expired or delisted).
    is_expired = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tradingsymbol"]
        indexes = [
            models.Index(
                fields=["name", "expiry", "strike", "instrument_type"], name="instrument_chain_idx"
            ),
            models.Index(fields=["tradingsymbol"], name="instrument_tradingsymbol_idx"),
            models.Index(fields=["segment"], name="instrument_segment_idx"),
            # Prefix search (tradingsymbol LIKE 'NIFTY25%') on PostgreSQL needs pattern ops
            # unless the database collation is C; other backends ignore opclasses.
            models.Index(
                fields=["tradingsymbol"],
                name="instrument_symbol_prefix_idx",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol}"


class SubscriptionMode(models.TextChoices):
    LTP = "ltp", "LTP"
    QUOTE = "quote", "Quote"
    FULL = "full", "Full"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class SubscriptionSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    REBALANCER = "rebalancer", "Rebalancer"


class Subscription(models.Model):
    """An instrument to stream; ``account`` is set by assignment (null = not assigned yet)."""

    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, related_name="subscription"
    )
    mode = models.CharField(
        max_length=8, choices=SubscriptionMode.choices, default=SubscriptionMode.FULL
    )
    status = models.CharField(
        max_length=8, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    source = models.CharField(
        max_length=16, choices=SubscriptionSource.choices, default=SubscriptionSource.MANUAL
    )
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instrument__tradingsymbol"]
        indexes = [
            models.Index(fields=["status"], name="subscription_status_idx"),
            models.Index(fields=["account", "status"], name="subscription_account_idx"),
            models.Index(fields=["source", "status"], name="subscription_source_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mode__in=SubscriptionMode.values), name="subscription_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SubscriptionStatus.values),
                name="subscription_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=SubscriptionSource.values),
                name="subscription_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} ({self.mode}, {self.status})"


class Underlying(models.Model):
    """An index whose option chain the rebalancer keeps subscribed around the money.

    Also the map from an option's ``name`` (e.g. NIFTY) to the index token that prices it.
    """

    name = models.CharField(max_length=32, unique=True, help_text="Kite's `name` of its options")
    index_token = models.BigIntegerField(unique=True)
    index_tradingsymbol = models.CharField(max_length=64, help_text="e.g. NIFTY 50")
    strike_step = models.FloatField(validators=[MinValueValidator(0.05)])
    levels = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text="strikes on each side of the money",
    )
    expiries = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    move_threshold_steps = models.PositiveSmallIntegerField(
        default=1, help_text="act when the ATM strike moved by at least this many steps"
    )
    min_interval_seconds = models.PositiveIntegerField(
        default=300, help_text="act anyway when this long has passed since the last rebalance"
    )
    last_atm_strike = models.FloatField(null=True, blank=True)
    last_rebalanced_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
