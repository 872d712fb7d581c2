"""Every cache in the email package registers itself, so clearing them all cannot miss one."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import digest.email
from digest.email import digest_message_build, email_caches_clear
from digest.email.caches import REGISTRY
from digest.email.inline import CARDS
from tests.digest.email.email_samples import ada_email, quiet_email

pytestmark = pytest.mark.usefixtures("email_settings")


def email_modules():
    for info in pkgutil.iter_modules(digest.email.__path__):
        yield importlib.import_module(f"digest.email.{info.name}")


def test_every_cache_in_the_email_package_is_registered():
    registered = {id(cache) for cache in REGISTRY}
    caches = {
        f"{module.__name__}.{name}": value
        for module in email_modules()
        for name, value in vars(module).items()
        if callable(getattr(value, "cache_clear", None))
        and not isinstance(value, type)
        and getattr(value, "__module__", None) == module.__name__  # made here, not imported (urlsplit)
    }

    unregistered = sorted(name for name, cache in caches.items() if id(cache) not in registered)

    assert len(caches) > 20, "the walk finds the caches"
    assert not unregistered, f"not registered (wrap it in @registered): {unregistered}"


def test_clearing_empties_every_cache():
    digest_message_build(ada_email())
    digest_message_build(quiet_email())

    email_caches_clear()

    sizes = {repr(cache): cache.cache_info().currsize for cache in REGISTRY if hasattr(cache, "cache_info")}
    assert sizes and not any(sizes.values()), sizes
    assert not CARDS.data and CARDS.premailer_runs == 0
