"""DKIM signatures (RFC 6376) on the exact bytes that go to the relay: rsa-sha256 (RFC 8301) and
ed25519-sha256 (RFC 8463), relaxed/simple; one key, or several (each its own selector) for dual signing.

Why not ``dkim.sign`` from dkimpy, which the tests use to check these signatures: its RSA is written
in Python (13 ms per signature with a 2048-bit key, longer than rendering and sending the email
together). Here the body hash is ``hashlib`` and the signature OpenSSL's (through ``cryptography``);
the canonicalisation is the RFC's, written for the few header fields and CRLF lines ``digest.mime``
produces. ``dkim.sign`` with the same time stamp gives the same signature byte for byte (PKCS#1 v1.5
and Ed25519 are deterministic), and property tests hold the two to that.

The key decides the cost: one RSA-2048 signature is one private-key operation, 0.35-0.85 ms of OpenSSL
on the benchmark VMs, which no signer can go under; Ed25519 costs ~0.05 ms. Not every receiver verifies
Ed25519 yet, so RFC 8463 has signers add it beside RSA; with both configured every digest carries two
signatures (docs/DELIVERY.md, "Before the first send", has the trade-off).

What is signed: the headers Gmail and Yahoo look at (From, To, Subject, Date, Message-ID, the
List-* headers of RFC 2369/2919/8058, the MIME headers, Feedback-ID, Auto-Submitted, Reply-To) when
present, and ``From`` once more than it occurs ("over-signing": a second From added on the way
breaks the signature instead of riding on it); and the whole body.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from digest.email.caches import registered

SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
)
OVERSIGNED = ("from",)
MIN_RSA_BITS = 1024  # RFC 8301: verifiers must not accept less


DkimKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class DkimKeyError(ValueError):
    """A private key DKIM cannot use (not PEM, neither RSA nor Ed25519, too short)."""


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    key: DkimKey

    @property
    def algorithm(self) -> str:
        return "ed25519-sha256" if isinstance(self.key, ed25519.Ed25519PrivateKey) else "rsa-sha256"

    def sign(self, message: bytes, *, now: float | None = None) -> bytes:
        """``message`` (CRLF line endings) with a ``DKIM-Signature`` header in front."""
        return dkim_sign(message, signers=(self,), now=now)

    def signature_of(self, signed: bytes) -> bytes:
        """The b= value's bytes. Ed25519 signs the SHA-256 of the canonical headers, not the headers
        themselves (RFC 8463 §3); RSA hashes inside PKCS#1 v1.5."""
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(hashlib.sha256(signed).digest())
        return self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())

    def dns_record(self) -> tuple[str, str]:
        """The TXT record to publish: its name and its value (RFC 6376 §3.6.1; RFC 8463 §4 for the
        raw 32-byte Ed25519 public key)."""
        public = self.key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            kind, raw = "ed25519", public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            kind = "rsa"
            raw = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"{self.selector}._domainkey.{self.domain}", f"v=DKIM1; k={kind}; p={base64.b64encode(raw).decode()}"


def dkim_key_load(pem: bytes) -> DkimKey:
    """Read a PEM RSA or Ed25519 private key (PKCS#1 or PKCS#8, unencrypted), or say what is wrong with it."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if not isinstance(key, rsa.RSAPrivateKey):
        name = type(key).__name__.lstrip("_")
        raise DkimKeyError(f"a {name} key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)")
    if key.key_size < MIN_RSA_BITS:
        raise DkimKeyError(f"an RSA key of {key.key_size} bits; receivers ignore DKIM keys under {MIN_RSA_BITS}")
    return key


def dkim_list(value: str) -> tuple[str, ...]:
    """PAPERBOY_DKIM_SELECTOR and PAPERBOY_DKIM_PRIVATE_KEY_FILE hold one item, or several separated by
    commas (paired by position) for dual signing."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def dkim_configuration_check() -> None:
    """At start-up (``digest.apps``): a DKIM key that cannot sign stops the process, naming the variable,
    instead of every digest failing later."""
    from django.conf import settings

    from paperboy.env import ImproperlyConfiguredEnv

    if not settings.PAPERBOY_DKIM_DOMAIN:
        return
    for path in dkim_list(settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE):
        try:
            with open(path, "rb") as handle:
                dkim_key_load(handle.read())
        except OSError as exc:
            raise ImproperlyConfiguredEnv(f"PAPERBOY_DKIM_PRIVATE_KEY_FILE={path!r} cannot be read: {exc}") from None
        except DkimKeyError as exc:
            raise ImproperlyConfiguredEnv(f"PAPERBOY_DKIM_PRIVATE_KEY_FILE={path!r} is {exc}") from None


def dkim_signers_configured() -> tuple[DkimSigner, ...]:
    """The signers PAPERBOY_DKIM_* asks for, in the order given; none when DKIM is off."""
    from django.conf import settings

    if not settings.PAPERBOY_DKIM_DOMAIN:
        return ()
    return dkim_signers_for(
        domain=settings.PAPERBOY_DKIM_DOMAIN,
        selectors=dkim_list(settings.PAPERBOY_DKIM_SELECTOR),
        key_files=dkim_list(settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE),
    )


@registered
@functools.lru_cache(maxsize=4)
def dkim_signers_for(*, domain: str, selectors: tuple[str, ...], key_files: tuple[str, ...]) -> tuple[DkimSigner, ...]:
    signers = []
    for selector, key_file in zip(selectors, key_files, strict=True):
        with open(key_file, "rb") as handle:
            signers.append(DkimSigner(domain=domain, selector=selector, key=dkim_key_load(handle.read())))
    return tuple(signers)


_WSP_RUN = re.compile(rb"[ \t]+")
_FIELD_RE = re.compile(rb"^([^:\s]+)[ \t]*:(.*?)(?=\r\n(?![ \t])|\Z)", re.MULTILINE | re.DOTALL)


def body_simple(body: bytes) -> bytes:
    """RFC 6376 §3.4.3: the body as it is, without empty lines at its end (an empty body is one CRLF).

    "simple", not "relaxed", for the body: relaxed collapses every run of blanks, a regular-expression pass
    over ~50 KB of inlined HTML (2 ms per email measured, ten times the signature's cost), and protects
    only against a relay that rewrites blanks inside lines, which no current MTA does (one that converts 8bit
    to quoted-printable breaks either). The headers stay "relaxed": refolding them is common. This is also
    dkimpy's default (``c=relaxed/simple``)."""
    return body.rstrip(b"\r\n") + b"\r\n"


def header_relaxed(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: lower-case name, unfolded value with its blank runs made one space, trimmed."""
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value


def header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The (name, raw value) pairs of a header block, folded lines kept in the value."""
    return [(m.group(1), m.group(2)) for m in _FIELD_RE.finditer(head)]


def dkim_sign(message: bytes, *, signers: Sequence[DkimSigner], now: float | None = None) -> bytes:
    """``message`` with one ``DKIM-Signature`` per signer in front, the first signer's on top. The
    headers are parsed and the body hashed once for all of them."""
    head, sep, body = message.partition(b"\r\n\r\n")
    if not sep:
        head, body = message, b""
    fields = header_fields(head + b"\r\n")
    body_hash = base64.b64encode(hashlib.sha256(body_simple(body)).digest()).decode()
    stamp = int(time.time() if now is None else now)
    headers = [_signature_header(signer, fields=fields, body_hash=body_hash, stamp=stamp) for signer in signers]
    return b"".join(headers) + message


def dkim_signature(message: bytes, *, signer: DkimSigner, now: float | None = None) -> bytes:
    """The ``DKIM-Signature: ...`` header line (ending in CRLF) for ``message``."""
    signed = dkim_sign(message, signers=(signer,), now=now)
    return signed[: len(signed) - len(message)]


def _signature_header(signer: DkimSigner, *, fields: list[tuple[bytes, bytes]], body_hash: str, stamp: int) -> bytes:
    present = {name.lower().decode("ascii") for name, _ in fields}
    names = [n for n in SIGNED_HEADERS if n in present] + list(OVERSIGNED)
    tags = (
        f"v=1; a={signer.algorithm}; c=relaxed/simple; d={signer.domain}; i=@{signer.domain}; q=dns/txt; "
        f"s={signer.selector}; t={stamp}; h={' : '.join(names)}; bh={body_hash}; b="
    )
    signed = b"".join(header_relaxed(n, v) + b"\r\n" for n, v in _fields_for(names, fields))
    signed += header_relaxed(b"DKIM-Signature", tags.encode("ascii"))
    return _folded(f"DKIM-Signature: {tags}{base64.b64encode(signer.signature_of(signed)).decode()}")


def _fields_for(names: list[str], fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The field for each signed name: the last instance first, then the one above it (§5.4.2); a
    name signed more often than it occurs (over-signing) contributes nothing for the extra ones."""
    remaining: dict[str, list[tuple[bytes, bytes]]] = {}
    for field_name, value in fields:
        remaining.setdefault(field_name.lower().decode("ascii"), []).append((field_name, value))
    chosen = []
    for name in names:
        instances = remaining.get(name)
        if instances:
            chosen.append(instances.pop())
    return chosen


def _folded(line: str, width: int = 78) -> bytes:
    """Folds at the spaces between tags, and the long b= value in pieces: relaxed canonicalisation
    takes folding out again, so the signature does not change."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > width - 1:  # b= and bh= values have no spaces
            room = max(width - 1 - len(current), 20)
            if current:
                out.append(current)
                current = ""
            out.append(word[:room])
            word = word[room:]
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n ".join(out).encode("ascii") + b"\r\n"
