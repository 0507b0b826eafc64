"""``{% chain_underlyings as names %}``: the underlyings the admin index links a chain page for."""

from __future__ import annotations

from django import template

from chain.admin_views import chain_underlying_names

register = template.Library()


@register.simple_tag
def chain_underlyings() -> list[str]:
    return chain_underlying_names()
