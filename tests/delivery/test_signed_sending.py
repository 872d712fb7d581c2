"""What a digest carries when it leaves: a DKIM signature valid on the exact bytes the server received,
and the headers real senders use (Auto-Submitted, Feedback-ID, Reply-To)."""

from __future__ import annotations

import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.email import digest_message_build
from digest.email.dkim import DkimSigner
from tests.delivery.conftest import readers_due
from tests.digest.email.email_samples import ada_email

pytestmark = pytest.mark.django_db

DOMAIN, SELECTOR = "papers.example.org", "pb2026"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def dkim_on(settings, tmp_path, key):
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.PAPERBOY_DKIM_DOMAIN, settings.PAPERBOY_DKIM_SELECTOR = DOMAIN, SELECTOR
    settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE = str(path)
    name, value = DkimSigner(domain=DOMAIN, selector=SELECTOR, key=key).dns_record()
    # The resolver dkimpy asks, stubbed: it knows exactly the published record.
    return lambda query, timeout=5: value.encode() if query.decode().rstrip(".") == name else None


def test_every_digest_is_dkim_signed_over_the_exact_bytes_the_server_received(smtp_sink, dkim_on):
    readers_due(3)
    for chunk in deliveries_plan().chunks:
        deliveries_send(delivery_ids=chunk)

    assert len(smtp_sink.received) == 3
    for received in smtp_sink.received:
        assert received.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=papers.example.org")
        assert "BODY=8BITMIME" in received.mail_options  # signed as sent: 8bit
        assert dkim.verify(received.data, dnsfunc=dkim_on)


def test_with_an_rsa_and_an_ed25519_key_every_digest_carries_both_signatures_and_both_verify(
    smtp_sink, settings, tmp_path, key
):
    ed_key = ed25519.Ed25519PrivateKey.generate()
    paths = []
    for name, private in (("rsa", key), ("ed", ed_key)):
        path = tmp_path / f"{name}.pem"
        path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        paths.append(str(path))
    settings.PAPERBOY_DKIM_DOMAIN, settings.PAPERBOY_DKIM_SELECTOR = DOMAIN, "pbrsa, pbed"
    settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE = ",".join(paths)
    records = dict(
        DkimSigner(domain=DOMAIN, selector=selector, key=private).dns_record()
        for selector, private in (("pbrsa", key), ("pbed", ed_key))
    )

    def dnsfunc(query, timeout=5):
        value = records.get(query.decode().rstrip("."))
        return value.encode() if value else None

    readers_due(2)
    for chunk in deliveries_plan().chunks:
        deliveries_send(delivery_ids=chunk)

    assert len(smtp_sink.received) == 2
    for received in smtp_sink.received:
        checker = dkim.DKIM(received.data)
        assert checker.verify(idx=0, dnsfunc=dnsfunc) and checker.signature_fields[b"a"] == b"rsa-sha256"
        assert checker.verify(idx=1, dnsfunc=dnsfunc) and checker.signature_fields[b"a"] == b"ed25519-sha256"


def test_the_quoted_printable_form_for_a_relay_without_8bitmime_is_signed_too(dkim_on):
    message = digest_message_build(ada_email())
    seven_bit = message.mime_bytes(allow_8bit=False)
    assert seven_bit.isascii() and b"Content-Transfer-Encoding: quoted-printable" in seven_bit
    assert dkim.verify(seven_bit, dnsfunc=dkim_on)
    assert dkim.verify(message.mime_bytes(allow_8bit=True), dnsfunc=dkim_on)


def test_without_dkim_settings_nothing_is_signed(settings):
    settings.PAPERBOY_DKIM_DOMAIN = ""
    assert b"DKIM-Signature" not in digest_message_build(ada_email()).mime_bytes()


def test_a_digest_says_it_is_automatic_carries_a_feedback_id_and_the_reply_to(settings):
    settings.PAPERBOY_REPLY_TO = "Paperboy team <team@papers.example.org>"
    headers = digest_message_build(ada_email()).message()
    raw = headers.as_bytes(linesep="\r\n").split(b"\r\n\r\n", 1)[0].decode()
    assert "\r\nAuto-Submitted: auto-generated\r\n" in raw
    feedback_id = re.search(r"\r\nFeedback-ID: (\S+)\r\n", raw).group(1)
    # Gmail's form a:b:c:SenderId -- day, frequency, kind, the sender id -- never unique per message.
    assert feedback_id == "20261127:daily:digest:paperboy"
    assert "\r\nReply-To: Paperboy team <team@papers.example.org>\r\n" in raw
    settings.PAPERBOY_REPLY_TO = ""
    assert b"Reply-To" not in digest_message_build(ada_email()).mime_bytes()
