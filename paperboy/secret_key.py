"""Choosing SECRET_KEY: the public development key only where nobody can be harmed by it.

Every emailed link (view in browser, unsubscribe, feedback, the private feed) is signed with this
key, and ids are sequential, so anyone who knows the key can read any digest and unsubscribe anyone.
The development key is in this repository, so it is used only with ``DEBUG=1``, for the tests and for
``make demo`` (``PAPERBOY_INSECURE_DEV_KEY=1``); any other process refuses to start without a real
key, and a real key must look like one: at least 50 characters, at least 5 different ones, not
Django's ``django-insecure-`` placeholder (security review M7, L12).
"""

from __future__ import annotations

from paperboy.env import ImproperlyConfiguredEnv

DEVELOPMENT_KEY = "paperboy-insecure-development-key-change-me"
MIN_LENGTH = 50
MIN_UNIQUE = 5
HOW_TO = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is too weak to sign links in production, or None (Django's security.W009 rules)."""
    if key == DEVELOPMENT_KEY:
        return "it is the public development key"
    if key.startswith("django-insecure-"):
        return "it is Django's insecure placeholder"
    if len(key) < MIN_LENGTH:
        return f"it has {len(key)} characters (at least {MIN_LENGTH} are needed)"
    if len(set(key)) < MIN_UNIQUE:
        return f"it uses fewer than {MIN_UNIQUE} different characters"
    return None


def secret_key_choose(*, key: str, debug: bool, development: bool) -> str:
    """The key to run with. ``development``: the tests or the demo asked for the development key."""
    if debug or development:
        return key or DEVELOPMENT_KEY
    if not key:
        raise ImproperlyConfiguredEnv(
            "SECRET_KEY is not set. It signs every link in every email, so the public development key is "
            f"only for DEBUG=1, the tests and make demo. Generate one with: {HOW_TO}"
        )
    weakness = secret_key_weakness(key)
    if weakness:
        raise ImproperlyConfiguredEnv(f"SECRET_KEY is too weak: {weakness}. Generate one with: {HOW_TO}")
    return key
