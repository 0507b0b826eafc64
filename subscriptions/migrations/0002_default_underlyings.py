"""Default underlyings, as the old service configured them: NIFTY and BANKNIFTY, +-10 strikes,
3 expiries. Operators edit them in the admin; this migration only adds what is missing."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

DEFAULTS = [
    {"name": "NIFTY", "index_token": 256265, "index_tradingsymbol": "NIFTY 50", "strike_step": 50.0},
    {
        "name": "BANKNIFTY",
        "index_token": 260105,
        "index_tradingsymbol": "NIFTY BANK",
        "strike_step": 100.0,
    },
]


def add_defaults(apps: Apps, _schema_editor: BaseDatabaseSchemaEditor) -> None:
    underlying = apps.get_model("subscriptions", "Underlying")
    for row in DEFAULTS:
        underlying.objects.get_or_create(name=row["name"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
