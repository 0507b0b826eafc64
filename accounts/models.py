"""Trading accounts. Secrets are stored encrypted (see accounts/crypto.py); writes go through
accounts/services.py, never through ``save()`` side effects."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone

# Kite's hard limits: 3 WebSocket connections per api_key, 3000 instruments per connection.
KITE_MAX_CONNECTIONS = 3
KITE_MAX_INSTRUMENTS_PER_CONNECTION = 3000


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_LOGIN = "needs_login", "Needs login"
    DISABLED = "disabled", "Disabled"
    ERROR = "error", "Error"


class Account(models.Model):
    name = models.CharField(max_length=64, unique=True)
    broker_user_id = models.CharField(max_length=32, blank=True)
    # Fernet tokens (base64 text); plaintext never touches the database.
    api_key_encrypted = models.TextField()
    api_secret_encrypted = models.TextField(blank=True)
    access_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.NEEDS_LOGIN
    )
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    max_connections = models.PositiveSmallIntegerField(
        default=KITE_MAX_CONNECTIONS,
        validators=[MinValueValidator(1), MaxValueValidator(KITE_MAX_CONNECTIONS)],
    )
    instruments_per_connection = models.PositiveIntegerField(
        default=KITE_MAX_INSTRUMENTS_PER_CONNECTION,
        validators=[MinValueValidator(1), MaxValueValidator(KITE_MAX_INSTRUMENTS_PER_CONNECTION)],
    )
    # Blank = the settings' roots; set to point one account at the simulator.
    api_root_override = models.URLField(blank=True)
    ws_root_override = models.CharField(
        max_length=200, blank=True, validators=[URLValidator(schemes=["ws", "wss"])]
    )
    login_url_override = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    max_connections__gte=1, max_connections__lte=KITE_MAX_CONNECTIONS
                ),
                name="account_max_connections_within_kite_limit",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    instruments_per_connection__gte=1,
                    instruments_per_connection__lte=KITE_MAX_INSTRUMENTS_PER_CONNECTION,
                ),
                name="account_instruments_per_connection_within_kite_limit",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AccountStatus.values), name="account_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="account_status_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def capacity(self) -> int:
        """Instruments this account can stream at once."""
        return self.max_connections * self.instruments_per_connection
