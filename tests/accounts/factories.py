"""factory_boy factories for accounts; secrets are encrypted with the configured keys."""

from __future__ import annotations

import factory

from accounts.models import Account, AccountStatus
from accounts.wiring import configured_cipher


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    class Meta:
        model = Account

    class Params:
        api_key = factory.Sequence(lambda n: f"apikey{n:04d}abcd")
        api_secret = factory.Sequence(lambda n: f"apisecret{n:04d}wxyz")
        access_token = factory.Sequence(lambda n: f"accesstoken{n:04d}qrst")

    name = factory.Sequence(lambda n: f"account-{n}")
    broker_user_id = factory.Sequence(lambda n: f"AB{n:04d}")
    status = AccountStatus.ACTIVE
    api_key_encrypted = factory.LazyAttribute(lambda o: configured_cipher().encrypt(o.api_key))
    api_secret_encrypted = factory.LazyAttribute(
        lambda o: configured_cipher().encrypt(o.api_secret) if o.api_secret else ""
    )
    access_token_encrypted = factory.LazyAttribute(
        lambda o: configured_cipher().encrypt(o.access_token) if o.access_token else ""
    )
