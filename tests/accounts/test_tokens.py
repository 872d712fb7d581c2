"""Link tokens: the fast minting writes exactly the bytes of the plain construction, and every token is
bound to the subscription's address (security review L5)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import signing

from accounts import tokens
from accounts.tokens import (
    CompactMinter,
    InvalidToken,
    compact_token_make,
    compact_token_read,
    text_field,
    text_field_read,
    token_make,
    token_read,
)

SENT = datetime(2026, 11, 27, 6, 0, 7, tzinfo=UTC)
ADA = "ada@example.org"


def ada_at(address: str = ADA):
    """``address_of`` for a database where every subscription id belongs to ``address``."""
    return lambda subscription_id: address


@pytest.fixture(autouse=True)
def secret(settings):
    settings.SECRET_KEY = "test-secret-for-token-format"


@pytest.mark.parametrize("key_length", [0, 16, 32, 64, 65, 200])
@pytest.mark.parametrize("message", [b"", b"42.7.900.like.-.tp5co7", "é—😀".encode() * 40])
def test_hmac_with_kept_pad_states_is_hmac_sha256(key_length, message):
    key = bytes(range(256))[:key_length]
    assert tokens._HmacSha256(key).digest(message) == hmac.digest(key, message, "sha256")


@time_machine.travel(SENT, tick=False)
@pytest.mark.parametrize("data", [None, {"d": 7}, {"t": "x" * 60}, {"t": "é—😀"}, {"p": 3, "a": "like"}])
@pytest.mark.parametrize("subscription_id", [1, 42, 1111111111])
def test_signed_tokens_are_exactly_what_django_signing_writes(data, subscription_id):
    payload = {"s": subscription_id, **({"d": data} if data else {})}
    made = token_make(purpose="archive", subscription_id=subscription_id, address=ADA, data=data)
    key = f"test-secret-for-token-format\x00{ADA}"
    assert made == signing.dumps(payload, key=key, salt="paperboy.tokens.archive", compress=True)
    assert token_read(purpose="archive", token=made, address_of=ada_at()) == (subscription_id, data or {})


def test_a_signed_token_is_refused_for_another_purpose_or_when_altered():
    made = token_make(purpose="unsubscribe", subscription_id=42, address=ADA)
    with pytest.raises(InvalidToken):
        token_read(purpose="archive", token=made, address_of=ada_at())
    with pytest.raises(InvalidToken):
        altered = made[:-2] + ("AA" if made[-2:] != "AA" else "BB")
        token_read(purpose="unsubscribe", token=altered, address_of=ada_at())


def test_a_token_for_the_same_id_with_another_address_does_nothing():
    # Made in another database (the demo's, same public key), where subscription 42 was someone else.
    elsewhere = token_make(purpose="unsubscribe", subscription_id=42, address="demo-user@example.org")
    with pytest.raises(InvalidToken):
        token_read(purpose="unsubscribe", token=elsewhere, address_of=ada_at())
    with pytest.raises(InvalidToken):  # no such subscription here at all
        token_read(purpose="unsubscribe", token=elsewhere, address_of=lambda subscription_id: None)
    with time_machine.travel(SENT, tick=False):
        compact = compact_token_make(purpose="feedback", address="demo-user@example.org", fields=(42, 7, "like"))
        with pytest.raises(InvalidToken):
            compact_token_read(purpose="feedback", token=compact, max_age_seconds=60, address_of=ada_at())


def test_the_address_is_compared_without_case_or_surrounding_space():
    made = token_make(purpose="unsubscribe", subscription_id=42, address="Ada@Example.org")
    assert token_read(purpose="unsubscribe", token=made, address_of=ada_at(" ada@example.org")) == (42, {})


# A feedback token minted before tokens were bound to the address (same secret, same instant): it named
# subscription 42 only, so it must not act on whoever is subscription 42 now.
OLD_FEEDBACK_TOKEN = "42.7.900.mute.ZGlmZnVzaW9u.tp5co7.AxAuezOZReDwhh_6"


@time_machine.travel(SENT, tick=False)
def test_compact_tokens_read_back_and_unbound_old_ones_are_refused():
    fields = (42, 7, 900, "mute", text_field("diffusion"))
    made = compact_token_make(purpose="feedback", address=ADA, fields=fields)
    assert made.rpartition(".")[0] == OLD_FEEDBACK_TOKEN.rpartition(".")[0]  # the same fields and issue time
    assert compact_token_read(purpose="feedback", token=made, max_age_seconds=60, address_of=ada_at()) == tuple(
        map(str, fields)
    )
    with pytest.raises(InvalidToken):
        compact_token_read(purpose="feedback", token=OLD_FEEDBACK_TOKEN, max_age_seconds=60, address_of=ada_at())


@time_machine.travel(SENT, tick=False)
def test_a_compact_token_is_its_fields_issue_time_and_a_truncated_hmac_of_both():
    token = CompactMinter("feedback", address=ADA).make(("42", "7", "-", "like", "-"))
    message, _, mac = token.rpartition(".")
    secret = f"test-secret-for-token-format\x00{ADA}".encode()
    key = hashlib.sha256(b"paperboy.compact.paperboy.tokens.feedback\x00" + secret).digest()
    expected = hmac.new(key, message.encode(), hashlib.sha256).digest()[:12]
    assert message == "42.7.-.like.-.tp5co7"  # tp5co7: the issue time, base 36
    assert int("tp5co7", 36) == SENT.timestamp()
    assert signing.b64_decode(mac.encode()) == expected


def test_compact_tokens_refuse_dotted_fields_other_purposes_tampering_and_age():
    read = {"max_age_seconds": 60, "address_of": ada_at()}
    with pytest.raises(ValueError, match="must not contain"):
        CompactMinter("feedback", address=ADA).make(("42", "a.b", "like"))
    with time_machine.travel(SENT, tick=False):
        token = CompactMinter("feedback", address=ADA).make(("42", "7", "like"))
    with time_machine.travel(SENT, tick=False), pytest.raises(InvalidToken):
        compact_token_read(purpose="archive", token=token, **read)
    with time_machine.travel(SENT, tick=False), pytest.raises(InvalidToken):
        compact_token_read(purpose="feedback", token=token.replace("42.", "43.", 1), **read)
    with time_machine.travel(SENT.replace(minute=2), tick=False), pytest.raises(InvalidToken, match="expired"):
        compact_token_read(purpose="feedback", token=token, **read)


@pytest.mark.parametrize("text", ["", "diffusion", "Jan Müller", "a.b/c+d", "😀" * 30])
def test_text_fields_are_url_safe_without_dots_and_read_back(text):
    field = text_field(text)
    assert set(field) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert text_field_read(field) == text
