"""SpamAssassin's verdict on a digest as Paperboy sends it (DKIM-signed MIME bytes): no rule fires
because of the message itself.

Rules that only describe this test's setup are named and excluded: the message never crossed a relay
(NO_RECEIVED, NO_RELAYS), a loopback relay is trusted (ALL_TRUSTED), and the test has no DNS for the
DKIM key (DKIM_SIGNED without DKIM_VALID, T_DKIM_INVALID). HTML_MESSAGE is informational (0 points:
"the message has an HTML part"), and is asserted to stay at 0.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.email import digest_message_build
from digest.email.dkim import DkimSigner
from tests.conftest import service_missing
from tests.delivery.spamassassin import spamassassin_available, spamassassin_check
from tests.digest.email.email_samples import ada_email, quiet_email

pytestmark = pytest.mark.slow

SETUP_RULES = {"NO_RECEIVED", "NO_RELAYS", "ALL_TRUSTED", "DKIM_SIGNED", "T_DKIM_INVALID", "DKIM_INVALID"}
INFORMATIONAL = {"HTML_MESSAGE"}


@pytest.fixture(scope="module")
def signer() -> DkimSigner:
    return DkimSigner(
        domain="papers.example.org", selector="pb", key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )


@pytest.mark.parametrize("make", [ada_email, quiet_email], ids=["digest", "quiet-day note"])
def test_spamassassin_finds_nothing_in_the_email_itself(settings, signer, make):
    why = spamassassin_available()
    if why:
        service_missing(why)
    settings.SITE_URL = "https://papers.example.org"  # the production form: no port
    message = signer.sign(digest_message_build(make()).mime_bytes())

    verdict = spamassassin_check(message)

    caused_by_message = set(verdict.rules) - SETUP_RULES - INFORMATIONAL
    assert caused_by_message == set(), verdict.report
    assert all(verdict.rules[name] == 0 for name in INFORMATIONAL & set(verdict.rules)), verdict.report
    assert verdict.score <= 0, verdict.report
