"""The Django Sites row that allauth reads follows ``PAPERBOY_SITE_URL``: never "example.com"."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings

SITE_NAME = "Paperboy"


def site_sync(*, site_url: str, using: str = "default") -> None:
    """Set the current site's domain (host and port of the site URL) and name."""
    from django.contrib.sites.models import Site

    domain = urlparse(site_url).netloc
    Site.objects.using(using).update_or_create(id=settings.SITE_ID, defaults={"domain": domain, "name": SITE_NAME})
    Site.objects.clear_cache()


def site_sync_after_migrate(*, using: str = "default", **_: object) -> None:
    # Runs once per migrate for the accounts app, after the sites app's own tables exist.
    site_sync(site_url=settings.SITE_URL, using=using)
