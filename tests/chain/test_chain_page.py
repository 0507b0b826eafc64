"""The chain page's shell and links, through Django's test client (the browser test draws it):
staff only, one page per known underlying, linked from the admin index and each underlying,
every script and style from the project's own static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from subscriptions.models import Underlying

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("desk", password="desk-password-1", is_staff=True))
    return client


def test_the_page_is_for_staff_only() -> None:
    anonymous = Client().get("/admin/chain/NIFTY/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    client = Client()
    client.force_login(User.objects.create_user("trader", password="trader-password-1"))
    not_staff = client.get("/admin/chain/NIFTY/")
    assert not_staff.status_code == 302 and not_staff["Location"].startswith("/admin/login/")


def test_an_unknown_underlying_is_404(staff_client: Client) -> None:
    assert staff_client.get("/admin/chain/NOSUCH/").status_code == 404


def test_the_page_carries_the_api_urls_and_its_own_assets_only(staff_client: Client) -> None:
    response = staff_client.get("/admin/chain/BANKNIFTY/?expiry=2026-12-29")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-underlying="BANKNIFTY"' in page and 'data-expiry="2026-12-29"' in page
    assert f'data-chain-url="{reverse("chain")}"' in page
    assert f'data-term-url="{reverse("chain-term")}"' in page
    assert 'href="/admin/chain/NIFTY/"' in page  # the switcher to the other underlying
    # An XML namespace name (the admin's inline SVG icons) is an identifier, never fetched.
    fetched = re.sub(r'xmlns(?::\w+)?="[^"]*"', "", page)
    hosts = set(re.findall(r"(?:https?:)?//([A-Za-z0-9.-]+)", fetched))
    assert hosts <= {"testserver"}, hosts
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert {"chain/chain.js", "chain/chain.css"} <= set(assets), assets
    for asset in assets:
        assert finders.find(asset), f"{asset} is not among the project's static files"


def test_the_script_loads_nothing_from_outside() -> None:
    script = Path(str(finders.find("chain/chain.js"))).read_text()
    assert not re.search(r"https?://", script.replace("http://www.w3.org/2000/svg", ""))


def test_the_admin_index_links_every_underlyings_chain(staff_client: Client) -> None:
    Underlying.objects.create(
        name="FINNIFTY", index_token=257801, index_tradingsymbol="NIFTY FIN SERVICE",
        strike_step=50,
    )  # fmt: skip
    page = staff_client.get(reverse("admin:index")).content.decode()
    block = page[page.index('id="chain-links"') :]
    for name in ("BANKNIFTY", "FINNIFTY", "NIFTY"):
        assert f'href="/admin/chain/{name}/"' in block
    assert 'id="fleet-link"' in page  # the fleet's block stays


def test_each_underlying_links_its_chain_in_the_list_and_on_its_page() -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "ops-password-1"))
    listing = client.get(reverse("admin:subscriptions_underlying_changelist")).content.decode()
    assert 'href="/admin/chain/NIFTY/"' in listing and 'href="/admin/chain/BANKNIFTY/"' in listing
    nifty = Underlying.objects.get(name="NIFTY")
    change = client.get(reverse("admin:subscriptions_underlying_change", args=[nifty.pk]))
    assert 'href="/admin/chain/NIFTY/"' in change.content.decode()
