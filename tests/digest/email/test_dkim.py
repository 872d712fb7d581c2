"""DKIM signatures, checked by dkimpy (a verifier someone else wrote) with a stubbed DNS answer."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import dkim
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from digest.email.dkim import (
    DkimKeyError,
    DkimSigner,
    body_simple,
    body_simple_sha256,
    dkim_key_load,
    dkim_sign,
    dkim_signature,
    dkim_signers_for,
)
from tests.conftest import REPO_ROOT

DOMAIN, SELECTOR = "papers.example.org", "pb2026"


@pytest.fixture(scope="module")
def signer() -> DkimSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return DkimSigner(domain=DOMAIN, selector=SELECTOR, key=key)


@pytest.fixture(scope="module")
def ed_signer() -> DkimSigner:
    return DkimSigner(domain=DOMAIN, selector="pbed2026", key=ed25519.Ed25519PrivateKey.generate())


def dns_for(*signers: DkimSigner):
    """The TXT answers a resolver would give for the published records (and nothing else)."""
    records = dict(signer.dns_record() for signer in signers)

    def dnsfunc(query: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(query.decode().rstrip("."))
        return value.encode() if value else None

    return dnsfunc


def pem_of(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


MESSAGE = (
    b"From: Paperboy <digest@papers.example.org>\r\n"
    b"To: ann@example.org\r\n"
    b"Subject: 3 new papers on diffusion,\r\n  video   generation\r\n"
    b"Message-ID: <abc.digest@papers.example.org>\r\n"
    b"Date: Thu, 03 Dec 2026 07:00:00 +0000\r\n"
    b"List-Unsubscribe: <https://papers.example.org/u/1/>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hello \xc3\xa9t\xc3\xa9  with  runs\t of blanks \r\n\r\n\r\n"
)


def test_a_signed_message_verifies_with_dkimpy_against_the_published_record(signer):
    signed = signer.sign(MESSAGE)
    assert signed.endswith(MESSAGE)
    assert dkim.verify(signed, dnsfunc=dns_for(signer))
    header = signed[: len(signed) - len(MESSAGE)].decode()
    unfolded = " ".join(header.split())
    assert "a=rsa-sha256" in header and "c=relaxed/simple" in header
    assert f"d={DOMAIN}" in header and f"s={SELECTOR}" in header
    assert "h=from : to : subject : date : message-id : list-unsubscribe : list-unsubscribe-post" in unfolded
    assert all(len(line) <= 78 for line in header.split("\r\n"))


def test_a_message_changed_on_the_way_fails_verification(signer):
    signed = signer.sign(MESSAGE)
    assert not dkim.verify(signed.replace(b"diffusion", b"diffusiom"), dnsfunc=dns_for(signer))
    assert not dkim.verify(signed.replace(b"with", b"w1th"), dnsfunc=dns_for(signer))
    # Over-signed From: a second From added on the way breaks the signature.
    forged = signed.replace(b"To: ann", b"From: evil@example.net\r\nTo: ann")
    assert not dkim.verify(forged, dnsfunc=dns_for(signer))


def test_relaxed_header_canonicalisation_survives_refolding_and_the_body_its_trailing_empty_lines(signer):
    signed = signer.sign(MESSAGE)
    refolded = signed.replace(b"3 new papers on diffusion,\r\n  video", b"3 new papers on diffusion, video")
    assert dkim.verify(refolded, dnsfunc=dns_for(signer))
    assert dkim.verify(refolded.rstrip(b"\r\n") + b"\r\n", dnsfunc=dns_for(signer))


def test_the_dns_record_is_the_public_half_of_the_key(signer):
    name, value = signer.dns_record()
    assert name == f"{SELECTOR}._domainkey.{DOMAIN}"
    assert value.startswith("v=DKIM1; k=rsa; p=MII")
    assert dkim.verify(signer.sign(MESSAGE), dnsfunc=lambda q, timeout=5: value.encode())


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)
body_line = st.text(alphabet=st.sampled_from(list("ab  \t.é")), max_size=30)


@given(subject=header_text, to_name=header_text, lines=st.lists(body_line, max_size=8), blank_tail=st.integers(0, 3))
def test_the_fast_signer_gives_dkimpys_own_signature_byte_for_byte(signer, subject, to_name, lines, blank_tail):
    body = "\r\n".join(lines).encode() + b"\r\n" * blank_tail
    message = (
        f"From: a@{DOMAIN}\r\nTo: {to_name.replace(':', '')} <b@example.org>\r\nSubject: {subject}\r\n"
        f"Date: Thu, 03 Dec 2026 07:00:00 +0000\r\nMessage-ID: <x@{DOMAIN}>\r\n\r\n"
    ).encode() + body
    with time_machine.travel(1796284800, tick=False):
        ours = dkim_signature(message, signer=signer)
        reference = dkim.sign(
            message,
            SELECTOR.encode(),
            DOMAIN.encode(),
            pem_of(signer.key),
            canonicalize=(b"relaxed", b"simple"),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"from"],
        )

    def tags(header: bytes) -> dict[bytes, bytes]:
        value = b"".join(header.split(b":", 1)[1].split())
        return dict(tag.split(b"=", 1) for tag in value.split(b";") if tag)

    assert tags(ours) == tags(reference)
    assert dkim.verify(ours + message, dnsfunc=dns_for(signer))


@given(
    pieces=st.lists(
        st.binary(max_size=12).map(lambda b: b.replace(b"\x00", b"\r")) | st.sampled_from([b"\r\n", b"", b"\r"]),
        max_size=8,
    )
)
def test_hashing_the_body_in_pieces_gives_the_hash_of_the_plain_canonical_body(pieces):
    import hashlib

    assert body_simple_sha256(pieces) == hashlib.sha256(body_simple(b"".join(pieces))).digest()


def test_body_canonicalisation_follows_rfc_6376():
    assert body_simple(b"a  b\t c \r\n\r\n\r\n") == b"a  b\t c \r\n"
    assert body_simple(b"") == b"\r\n"
    assert body_simple(b"\r\n\r\n") == b"\r\n"
    assert body_simple(b"plain\r\n") == b"plain\r\n"


def test_a_key_dkim_cannot_use_is_refused_with_the_reason():
    with pytest.raises(DkimKeyError, match="not an unencrypted PEM private key"):
        dkim_key_load(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DkimKeyError, match=r"RSA .* or Ed25519"):
        dkim_key_load(pem_of(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(DkimKeyError, match="512 bits"):
        weak = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"],
            capture_output=True,
            check=True,
        )
        dkim_key_load(weak.stdout)


def test_the_dns_record_command_prints_the_record_for_the_configured_key(settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem_of(key))
    settings.PAPERBOY_DKIM_DOMAIN, settings.PAPERBOY_DKIM_SELECTOR = DOMAIN, SELECTOR
    settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE = str(path)
    out = StringIO()
    call_command("dkim_dns_record", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith(f"{SELECTOR}._domainkey.{DOMAIN}. IN TXT ( ")
    value = "".join(part for part in line.split('"')[1::2])
    expected = DkimSigner(domain=DOMAIN, selector=SELECTOR, key=key).dns_record()[1]
    assert value == expected
    # What a resolver returns for that record verifies what Paperboy signs.
    assert dkim.verify(
        DkimSigner(domain=DOMAIN, selector=SELECTOR, key=key).sign(MESSAGE), dnsfunc=lambda q, timeout=5: value.encode()
    )


@pytest.mark.slow
def test_a_bad_dkim_key_stops_start_up_naming_the_variable(tmp_path):
    path = tmp_path / "broken.pem"
    path.write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    env = {
        **os.environ,
        "PAPERBOY_DKIM_DOMAIN": DOMAIN,
        "PAPERBOY_DKIM_SELECTOR": SELECTOR,
        "PAPERBOY_DKIM_PRIVATE_KEY_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert f"PAPERBOY_DKIM_PRIVATE_KEY_FILE='{path}' is not an unencrypted PEM private key" in done.stderr
    env.pop("PAPERBOY_DKIM_SELECTOR")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert "DKIM signing needs PAPERBOY_DKIM_SELECTOR as well" in done.stderr


def test_an_ed25519_signature_verifies_with_dkimpy_against_its_published_record(ed_signer):
    signed = ed_signer.sign(MESSAGE)
    header = signed[: len(signed) - len(MESSAGE)].decode()
    assert "a=ed25519-sha256" in header and "s=pbed2026" in header
    name, value = ed_signer.dns_record()
    assert name == f"pbed2026._domainkey.{DOMAIN}"
    assert value.startswith("v=DKIM1; k=ed25519; p=") and len(base64_value(value)) == 32  # RFC 8463: the raw key
    assert dkim.verify(signed, dnsfunc=dns_for(ed_signer))
    assert not dkim.verify(signed.replace(b"diffusion", b"diffusiom"), dnsfunc=dns_for(ed_signer))


def base64_value(record: str) -> bytes:
    return base64.b64decode(record.split("p=", 1)[1])


@given(subject=header_text, lines=st.lists(body_line, max_size=8))
def test_the_ed25519_signature_is_dkimpys_own_byte_for_byte(ed_signer, subject, lines):
    message = (
        f"From: a@{DOMAIN}\r\nTo: b@example.org\r\nSubject: {subject}\r\n"
        f"Date: Thu, 03 Dec 2026 07:00:00 +0000\r\nMessage-ID: <x@{DOMAIN}>\r\n\r\n"
    ).encode() + "\r\n".join(lines).encode()
    seed = ed_signer.key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    with time_machine.travel(1796284800, tick=False):
        ours = dkim_signature(message, signer=ed_signer)
        reference = dkim.sign(
            message,
            b"pbed2026",
            DOMAIN.encode(),
            base64.b64encode(seed),
            canonicalize=(b"relaxed", b"simple"),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"from"],
            signature_algorithm=b"ed25519-sha256",
        )

    def tags(header: bytes) -> dict[bytes, bytes]:
        value = b"".join(header.split(b":", 1)[1].split())
        return dict(tag.split(b"=", 1) for tag in value.split(b";") if tag)

    assert tags(ours) == tags(reference)


def test_dual_signing_puts_both_signatures_on_the_message_and_each_verifies(signer, ed_signer):
    signed = dkim_sign(MESSAGE, signers=(signer, ed_signer))
    assert signed.endswith(MESSAGE)
    assert signed.count(b"DKIM-Signature:") == 2
    checker = dkim.DKIM(signed)
    # dkimpy checks one signature per call; the first configured key's is on top.
    assert checker.verify(idx=0, dnsfunc=dns_for(signer, ed_signer))
    assert checker.signature_fields[b"a"] == b"rsa-sha256"
    assert checker.verify(idx=1, dnsfunc=dns_for(signer, ed_signer))
    assert checker.signature_fields[b"a"] == b"ed25519-sha256"
    # A verifier that knows only the RSA record still passes the message on the RSA signature.
    assert dkim.DKIM(signed).verify(idx=0, dnsfunc=dns_for(signer))


def test_signers_are_configured_in_pairs_of_selector_and_key_file(tmp_path):
    rsa_path, ed_path = tmp_path / "rsa.pem", tmp_path / "ed.pem"
    rsa_path.write_bytes(pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    ed_path.write_bytes(pem_of(ed25519.Ed25519PrivateKey.generate()))
    signers = dkim_signers_for(domain=DOMAIN, selectors=("a", "b"), key_files=(str(rsa_path), str(ed_path)))
    assert [(s.selector, s.algorithm) for s in signers] == [("a", "rsa-sha256"), ("b", "ed25519-sha256")]


def test_selectors_and_key_files_that_do_not_pair_up_stop_start_up():
    from paperboy.env import ImproperlyConfiguredEnv, dkim_settings_check

    with pytest.raises(ImproperlyConfiguredEnv, match="as many distinct selectors as key files"):
        dkim_settings_check(domain=DOMAIN, selector="a,b", key_file="/k/a.pem")
    with pytest.raises(ImproperlyConfiguredEnv, match="as many distinct selectors as key files"):
        dkim_settings_check(domain=DOMAIN, selector="a,a", key_file="/k/a.pem,/k/b.pem")
    dkim_settings_check(domain=DOMAIN, selector="a, b", key_file="/k/a.pem, /k/b.pem")
