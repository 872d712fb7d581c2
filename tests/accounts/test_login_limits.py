"""Login limits that stop guessing without letting a stranger lock anyone else out (security M5, L2, L3).

Ada's correct password must get her in however many failures strangers produce behind the proxy,
from their own addresses; guessing spread over many addresses stops at a per-account limit, and
even then Ada gets in with a code sent to her inbox.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from accounts.client_ip import client_ip_behind, trusted_proxies_parse
from tests import factories
from tests.conftest import REPO_ROOT
from tests.web.conftest import CsrfClient

# Account emails leave after the request commits (accounts/outbox.py): these tests need real commits.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ADA = "ada@example.org"
RIGHT = "correct horse battery staple"
PROXY = "10.0.0.2"


def client_from(address: str) -> CsrfClient:
    """A browser at ``address`` reaching the site through our one reverse proxy."""
    return CsrfClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


def log_in(client: CsrfClient, password: str, login: str = ADA):
    return client.post_form("/accounts/login/", {"login": login, "password": password})


def signed_in(client: CsrfClient) -> bool:
    return client.get("/preferences/").status_code == 200


@pytest.fixture
def ada(db):
    return factories.subscriber_make(email=ADA, interests=["diffusion"])


@pytest.fixture(params=["count", "list"])
def behind_proxy(request, settings):
    """PAPERBOY_TRUSTED_PROXIES=1 (allauth's count) or =10.0.0.0/8 (our list), as settings.py maps them."""
    if request.param == "count":
        settings.PAPERBOY_TRUSTED_PROXIES = 1
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    else:
        settings.PAPERBOY_TRUSTED_PROXIES = trusted_proxies_parse("10.0.0.0/8")
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    return settings


def test_a_strangers_failures_behind_the_proxy_never_lock_out_everybody(behind_proxy, ada):
    for n in range(12):
        log_in(client_from("203.0.113.66"), "wrong", login=f"random{n}@example.org")

    ada_browser = client_from("198.51.100.7")
    log_in(ada_browser, RIGHT)

    assert signed_in(ada_browser)
    assert "Too many" in log_in(client_from("203.0.113.66"), RIGHT).content.decode()


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(behind_proxy, ada):
    # The stranger adds addresses of their own to the left of what our proxy appends: ignored.
    for n in range(12):
        log_in(client_from(f"192.0.2.{n}, 203.0.113.66"), "wrong", login=f"random{n}@example.org")
    assert (
        "Too many" in log_in(client_from("192.0.2.99, 203.0.113.66"), "wrong", login="x@example.org").content.decode()
    )


def test_failures_for_adas_address_from_elsewhere_do_not_lock_out_ada(behind_proxy, ada):
    stranger = client_from("203.0.113.66")
    for _ in range(7):
        log_in(stranger, "wrong")

    ada_browser = client_from("198.51.100.7")
    log_in(ada_browser, RIGHT)

    assert signed_in(ada_browser)
    assert "Too many" in log_in(stranger, RIGHT).content.decode()


def test_guessing_from_many_addresses_stops_and_ada_still_gets_in_with_an_emailed_code(behind_proxy, ada, smtp_sink):
    for n in range(30):
        log_in(client_from(f"203.0.113.{n}"), "wrong")

    ada_browser = client_from("198.51.100.7")
    assert "Too many" in log_in(ada_browser, RIGHT).content.decode()
    assert not signed_in(ada_browser)

    ada_browser.post_form("/accounts/login/code/", {"email": ADA})
    [message] = smtp_sink.messages()
    text = message.get_body(preferencelist=("plain",)).get_content()
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", text, re.M).group(1)
    ada_browser.post_form("/accounts/login/code/confirm/", {"code": code})

    assert signed_in(ada_browser)


def test_a_completed_password_reset_lifts_the_limits_for_ada(behind_proxy, ada, smtp_sink):
    for n in range(30):
        log_in(client_from(f"203.0.113.{n}"), "wrong")
    ada_browser = client_from("198.51.100.7")
    ada_browser.post_form("/accounts/password/reset/", {"email": ADA})
    [message] = smtp_sink.messages()
    text = message.get_body(("plain",)).get_content()  # the text part, decoded (the email has two parts)
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", text).group(1)
    form_page = ada_browser.get(link, follow=True)
    ada_browser.post_form(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "a brand new passphrase 77", "password2": "a brand new passphrase 77"},
    )

    log_in(ada_browser, "a brand new passphrase 77")

    assert signed_in(ada_browser)


def test_resets_for_one_address_send_at_most_three_mails_an_hour(ada, smtp_sink):
    for n in range(5):
        CsrfClient(REMOTE_ADDR=f"203.0.113.{n}").post_form("/accounts/password/reset/", {"email": ADA})
    assert len(smtp_sink.messages()) == 3


def test_a_reset_for_an_address_without_an_account_sends_nothing_and_says_the_same(ada, smtp_sink):
    known = CsrfClient().post_form("/accounts/password/reset/", {"email": ADA})
    unknown = CsrfClient().post_form("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m["To"] for m in smtp_sink.messages()] == [ADA]


# --- The client address -----------------------------------------------------------------------------


def test_the_client_is_the_first_address_from_the_right_that_is_not_our_proxy():
    proxies = trusted_proxies_parse("10.0.0.0/8, 192.0.2.7")
    assert client_ip_behind(remote_addr="10.0.0.2", forwarded_for="1.2.3.4, 198.51.100.7", proxies=proxies) == (
        "198.51.100.7"
    )
    assert client_ip_behind(remote_addr="10.0.0.2", forwarded_for="198.51.100.7, 192.0.2.7", proxies=proxies) == (
        "198.51.100.7"
    )
    # Not through our proxy at all: the connecting address, whatever the header says.
    assert client_ip_behind(remote_addr="203.0.113.5", forwarded_for="1.2.3.4", proxies=proxies) == "203.0.113.5"


def test_the_setting_takes_a_count_or_addresses_and_refuses_anything_else():
    def settings_with(value: str) -> subprocess.CompletedProcess:
        code = (
            "import paperboy.settings as s; "
            "print('PROXIES', s.ALLAUTH_TRUSTED_PROXY_COUNT, [str(n) for n in s.PAPERBOY_TRUSTED_PROXIES] "
            "if isinstance(s.PAPERBOY_TRUSTED_PROXIES, tuple) else s.PAPERBOY_TRUSTED_PROXIES)"
        )
        env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "paperboy.settings", "DEBUG": "1",
               "PAPERBOY_TRUSTED_PROXIES": value}  # fmt: skip
        return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)

    def printed(value: str) -> str:
        [line] = [line for line in settings_with(value).stdout.splitlines() if line.startswith("PROXIES ")]
        return line.removeprefix("PROXIES ")

    assert printed("2") == "2 2"
    assert printed("10.0.0.0/8,192.0.2.7") == "0 ['10.0.0.0/8', '192.0.2.7/32']"
    refused = settings_with("nginx")
    assert refused.returncode != 0 and "PAPERBOY_TRUSTED_PROXIES" in refused.stderr


def test_the_login_page_offers_the_emailed_code_and_the_reset(db):
    client = CsrfClient()
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/login/code/"' in page and 'href="/accounts/password/reset/"' in page
    code_page = client.get("/accounts/login/code/")
    assert code_page.status_code == 200
    assert 'name="email"' in code_page.content.decode()
