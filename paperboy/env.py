"""Tiny helpers that read settings from the environment and fail loudly on bad values.

Every setting has a default that works for ``make demo``; a value that is set but
cannot be understood stops the process at start-up instead of misbehaving later.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse


class ImproperlyConfiguredEnv(RuntimeError):
    """Raised when an environment variable is set to something we cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfiguredEnv(f"{name}={value} is above the maximum {maximum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} is below the minimum {minimum}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, base_dir: str) -> dict:
    """Turn ``DATABASE_URL`` into a Django DATABASES entry (postgres:// or sqlite:///path)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path.db or sqlite:////absolute/path.db
        path = url[len("sqlite:///") :]
        if not path:
            raise ImproperlyConfiguredEnv("DATABASE_URL=sqlite:/// needs a file path")
        if not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": {"timeout": 20}}
    raise ImproperlyConfiguredEnv(
        f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres:// or sqlite:///)"
    )


def dkim_settings_check(*, domain: str, selector: str, key_file: str) -> None:
    """DKIM is on when all three PAPERBOY_DKIM_* variables are set, off when none is. (The key itself is
    read and checked when the app starts: digest.apps, digest.email.dkim.dkim_configuration_check.)"""
    given = {
        "PAPERBOY_DKIM_DOMAIN": domain,
        "PAPERBOY_DKIM_SELECTOR": selector,
        "PAPERBOY_DKIM_PRIVATE_KEY_FILE": key_file,
    }
    if not any(given.values()):
        return
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ImproperlyConfiguredEnv(f"DKIM signing needs {', '.join(missing)} as well (or none of PAPERBOY_DKIM_*)")
    selectors = [part.strip() for part in selector.split(",")]
    key_files = [part.strip() for part in key_file.split(",")]
    if not all(part.replace("-", "").replace("_", "").isalnum() for part in [*domain.split("."), *selectors]):
        raise ImproperlyConfiguredEnv(
            f"PAPERBOY_DKIM_DOMAIN={domain!r} / PAPERBOY_DKIM_SELECTOR={selector!r}: not DNS labels"
        )
    # Several keys (dual signing, RSA beside Ed25519) are paired with their selectors by position.
    if len(selectors) != len(key_files) or not all(key_files) or len(set(selectors)) != len(selectors):
        raise ImproperlyConfiguredEnv(
            f"PAPERBOY_DKIM_SELECTOR={selector!r} and PAPERBOY_DKIM_PRIVATE_KEY_FILE={key_file!r} must list as "
            "many distinct selectors as key files, separated by commas, in the same order"
        )
