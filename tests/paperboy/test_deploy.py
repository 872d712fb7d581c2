"""Production settings pass Django's deployment checklist, and every page carries a CSP (security L4, L11).

``manage.py check --deploy`` runs for real, with the environment the README tells an operator to set.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests import factories
from tests.paperboy.test_secret_key import STRONG, start

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "PAPERBOY_PRODUCTION": "1",
    "SECRET_KEY": STRONG,
    "PAPERBOY_SITE_URL": "https://papers.example.org",
}


def production_settings(*names: str) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        f"print('SETTINGS', json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}))"
    )
    done = start("-c", code, **PRODUCTION)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("SETTINGS ")]
    return json.loads(line.removeprefix("SETTINGS "))


@pytest.fixture(scope="module")
def production() -> dict:
    """What a production process's settings say, read once for the tests below (one real start-up)."""
    return production_settings("ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")


@pytest.mark.slow
def test_check_deploy_finds_nothing_with_production_settings():
    done = start("manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.slow
def test_production_serves_only_the_sites_own_host_over_https(production):
    values = production
    assert values["ALLOWED_HOSTS"] == ["papers.example.org"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000


@pytest.mark.slow
def test_a_reset_requested_with_another_host_header_is_refused_in_production(settings, smtp_sink, production):
    settings.ALLOWED_HOSTS = production["ALLOWED_HOSTS"]
    factories.user_make(email="bo@example.org")
    response = Client(HTTP_HOST="localhost").post("/accounts/password/reset/", {"email": "bo@example.org"})
    assert response.status_code == 400
    assert smtp_sink.messages() == []


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/", "/preferences/", "/admin/"])
def test_every_page_carries_a_content_security_policy(path):
    client = Client()
    client.force_login(factories.ada().user)
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "object-src 'none'" in policy
