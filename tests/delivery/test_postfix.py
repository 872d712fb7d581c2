"""A day's digests through a real Debian Postfix relay on loopback: accepted with 8BITMIME, stored
without defects, DKIM valid on the stored copy; and a relay that refuses *us* (our HELO, our sender)
pauses sending and suppresses nobody."""

from __future__ import annotations

import re
import shutil
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.email.dkim import DkimSigner
from digest.mailsink import free_port
from digest.models import Delivery, SendingControl, Suppression
from tests.conftest import service_missing
from tests.delivery.conftest import reader_make, readers_due
from tests.delivery.postfix import SENDER_REFUSAL, Postfix, postfix_available

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SITE_HOST = "papers.example.org"
GONE = "gone@example.org"  # the one mailbox the relay does not know


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory) -> tuple[Path, DkimSigner]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "paperboy.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path, DkimSigner(domain=SITE_HOST, selector="pb", key=key)


def relay(settings, *, refuse_sender: bool = False):
    why = postfix_available()
    if why:
        service_missing(why)
    root = Path(tempfile.mkdtemp(prefix="paperboy-postfix-"))
    postfix = Postfix(
        root=root,
        port=free_port(),
        refuse_sender=refuse_sender,
        extra={
            "debug_peer_list": "127.0.0.1",  # the dialogue in the log: MAIL FROM's BODY=8BITMIME
            # The relay knows every mailbox but one.
            "smtpd_recipient_restrictions": f"check_recipient_access inline:{{{{{GONE} = 550 5.1.1 No such user}}}}",
        },
    )
    postfix.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", postfix.port, 5
    settings.PAPERBOY_SMTP_HELO = SITE_HOST
    settings.PAPERBOY_BOUNCE_DOMAIN = SITE_HOST
    settings.DEFAULT_FROM_EMAIL = f"Paperboy <digest@{SITE_HOST}>"
    settings.PAPERBOY_BREAKER_THRESHOLD = 0  # only the refusal classifier may pause here
    return postfix


@pytest.fixture
def postfix(settings, dkim_key):
    path, _ = dkim_key
    settings.PAPERBOY_DKIM_DOMAIN, settings.PAPERBOY_DKIM_SELECTOR = SITE_HOST, "pb"
    settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE = str(path)
    server = relay(settings)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def postfix_refusing_sender(settings):
    server = relay(settings, refuse_sender=True)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def send_the_day() -> None:
    result = deliveries_plan()
    for chunk in result.chunks:
        deliveries_send(delivery_ids=chunk)


def test_a_days_digests_pass_a_real_postfix_with_8bitmime_and_arrive_intact_and_dkim_signed(postfix, dkim_key):
    readers = readers_due(12)
    reader_make(email=GONE, send_hour=readers[0].send_hour)

    send_the_day()

    states = dict(Delivery.objects.values_list("to_email", "state"))
    assert {email: state for email, state in states.items() if email != GONE} == {
        r.user.email: Delivery.State.SENT for r in readers
    }
    # The one unknown mailbox (550 5.1.1 from the relay) is the only suppression, and nothing paused.
    assert states[GONE] == Delivery.State.FAILED
    assert list(Suppression.objects.filter(active=True).values_list("email", flat=True)) == [GONE]
    assert not SendingControl.get().paused

    log = postfix.log_text()
    assert (
        len(re.findall(r"mail FROM:<bounces\+\d+-[0-9a-f]{16}@papers\.example\.org> size=\d+ BODY=8BITMIME", log)) == 13
    )
    stored = postfix.delivered(expected=12)
    assert len(stored) == 12
    _, signer = dkim_key
    name, record = signer.dns_record()
    for raw in stored:
        message = message_from_bytes(raw, policy=policy.default)
        parts = list(message.walk())
        assert [p.get_content_type() for p in parts] == ["multipart/alternative", "text/plain", "text/html"]
        assert all(not part.defects for part in parts), [part.defects for part in parts]
        assert [p["Content-Transfer-Encoding"] for p in parts[1:]] == ["8bit", "8bit"]  # not converted on the way
        assert "Sharper Video Diffusion" in parts[1].get_content() and "</html>" in parts[2].get_content()
        wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # Maildir stores LF; DKIM is over the wire form
        assert dkim.verify(
            wire, dnsfunc=lambda q, timeout=5: record.encode() if q.decode().rstrip(".") == name else None
        )


def refusal_assertions(*, reason: str) -> None:
    rows = list(Delivery.objects.order_by("id"))
    assert rows and all(row.state in {Delivery.State.FAILED, Delivery.State.PENDING} for row in rows)
    failed = [row for row in rows if row.state == Delivery.State.FAILED]
    assert failed and all(reason in row.last_error for row in failed)
    assert Suppression.objects.count() == 0
    control = SendingControl.get()
    assert control.paused and reason in control.reason


def test_a_relay_refusing_our_helo_pauses_sending_and_suppresses_nobody(postfix, settings):
    settings.PAPERBOY_SMTP_HELO = "localhost"  # what a machine without the setting says
    readers_due(6)

    send_the_day()

    refusal_assertions(reason="Helo command rejected: need fully-qualified hostname")
    assert "504 5.5.2 <localhost>: Helo command rejected" in postfix.log_text()


def test_a_relay_refusing_our_sender_pauses_sending_and_suppresses_nobody(postfix_refusing_sender):
    readers_due(6)

    send_the_day()

    refusal_assertions(reason=SENDER_REFUSAL)
    assert "554 5.7.1 <bounces+" in postfix_refusing_sender.log_text()
