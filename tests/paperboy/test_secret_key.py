"""The public development key never signs a real deployment's links (security review M7, L12).

The processes are started for real (``manage.py check``, the WSGI app gunicorn loads, a Celery
command), with the environment an operator would give them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from paperboy.secret_key import DEVELOPMENT_KEY, secret_key_weakness
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # each test starts Python processes that load the settings or all of Django

STRONG = "k3Y-" + "Zq9xW2vR7tLm4pNs8dFh1jKc6bGy0aEu5oTi3wQe7rYu2iOp9"  # 53 characters, many different


def start(*argv: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DEBUG", "SECRET_KEY"))}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=REPO_ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "paperboy.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


WEB = ("-c", "import paperboy.wsgi")
WORKER = ("-m", "celery", "-A", "paperboy", "report")
CHECK = ("manage.py", "check")
# Loading the settings is what refuses a key; cheaper than a whole ``manage.py check`` per case.
SETTINGS = ("-c", "import paperboy.settings")


@pytest.mark.parametrize("argv", [WEB, WORKER, CHECK], ids=["web", "worker", "manage.py"])
def test_without_a_secret_key_no_server_or_worker_starts(argv):
    done = start(*argv, DEBUG="0", PAPERBOY_SITE_URL="https://papers.example.org")
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


@pytest.mark.parametrize("key", ["x", DEVELOPMENT_KEY, "django-insecure-" + "a1b2c3d4e5" * 5, "ab" * 40])
def test_a_weak_key_is_refused_in_production(key):
    done = start(*SETTINGS, SECRET_KEY=key, PAPERBOY_PRODUCTION="1", PAPERBOY_SITE_URL="https://papers.example.org")
    assert done.returncode != 0
    assert "SECRET_KEY is too weak" in done.stderr


def test_the_development_key_is_for_debug_and_the_demo_only():
    debug = start(*SETTINGS, DEBUG="1")
    demo = start(*SETTINGS, PAPERBOY_INSECURE_DEV_KEY="1")
    demo_in_production = start(*SETTINGS, PAPERBOY_INSECURE_DEV_KEY="1", PAPERBOY_PRODUCTION="1")
    assert (debug.returncode, demo.returncode) == (0, 0), debug.stderr + demo.stderr
    assert demo_in_production.returncode != 0


def test_a_strong_key_starts_and_is_the_one_used():
    done = start(
        "-c",
        "from django.conf import settings; import django; django.setup(); print('KEY', settings.SECRET_KEY)",
        SECRET_KEY=STRONG,
    )
    assert done.returncode == 0, done.stderr
    assert f"KEY {STRONG}" in done.stdout.splitlines()


def test_weakness_follows_djangos_own_rules():
    assert secret_key_weakness(STRONG) is None
    assert "characters" in (secret_key_weakness("short") or "")
    assert "different" in (secret_key_weakness("a" * 60) or "")
