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
_B64_LINE = 74  # characters of a b= value per folded line


def body_simple(body: bytes) -> bytes:
    """RFC 6376 §3.4.3: the body as it is, without empty lines at its end (an empty body is one CRLF).

    "simple", not "relaxed", for the body: relaxed collapses every run of blanks, a regular-expression pass
    over ~50 KB of inlined HTML (2 ms per email measured, ten times the signature's cost), and protects
    only against a relay that rewrites blanks inside lines, which no current MTA does (one that converts 8bit
    to quoted-printable breaks either). The headers stay "relaxed": refolding them is common. This is also
    dkimpy's default (``c=relaxed/simple``)."""
    return body.rstrip(b"\r\n") + b"\r\n"


def body_simple_sha256(body: Sequence[bytes | memoryview]) -> bytes:
    """``sha256(body_simple(b"".join(body)))``, hashing the pieces where they lie: no copy of the ~50 KB
    body (measured: two copies cost as much as the hash). Tests hold it to the plain version."""
    pieces: list[bytes | memoryview] = list(body)
    while pieces:  # the trailing CR and LF, across pieces if need be
        last = pieces[-1]
        end = len(last)
        while end and last[end - 1] in _CR_LF:
            end -= 1
        if end:
            pieces[-1] = memoryview(last)[:end]
            break
        pieces.pop()
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    digest.update(b"\r\n")
    return digest.digest()


_CR_LF = frozenset(b"\r\n")


def header_relaxed(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: lower-case name, unfolded value with its blank runs made one space, trimmed."""
    value = value.replace(b"\r\n", b"")
    if b"\t" in value or b"  " in value:  # the regular expression only where it can change something
        value = _WSP_RUN.sub(b" ", value)
    return name.strip().lower() + b":" + value.strip(b" ")


def header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The (name, raw value) pairs of a header block, folded lines kept in the value."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:  # a folded continuation of the field above
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif line:
            name, colon, value = line.partition(b":")
            if colon:
                fields.append((name.rstrip(b" \t"), value))
    return fields


def dkim_sign(message: bytes, *, signers: Sequence[DkimSigner], now: float | None = None) -> bytes:
    """``message`` with one ``DKIM-Signature`` per signer in front, the first signer's on top."""
    end_of_head = message.find(b"\r\n\r\n")
    if end_of_head < 0:
        return dkim_headers(head=message, body=(), signers=signers, now=now) + message
    head, body = message[: end_of_head + 2], memoryview(message)[end_of_head + 4 :]
    return dkim_headers(head=head, body=(body,), signers=signers, now=now) + message


def dkim_headers(
    *, head: bytes, body: Sequence[bytes | memoryview], signers: Sequence[DkimSigner], now: float | None = None
) -> bytes:
    """The ``DKIM-Signature`` lines, the first signer's on top, for the message ``head`` + CRLF + the
    ``body`` pieces joined. The headers are parsed and canonicalised, and the body hashed, once for
    all signers."""
    canonical: dict[str, list[bytes]] = {}
    for name, value in header_fields(head):
        canonical.setdefault(name.lower().decode("ascii"), []).append(header_relaxed(name, value) + b"\r\n")
    names = _names_signed(frozenset(canonical))
    # §5.4.2: for a name signed n times, its last n instances, bottom up; over-signing adds nothing.
    signed_fields = b"".join(_instances_bottom_up(canonical, names))
    body_hash = base64.b64encode(body_simple_sha256(body)).decode()
    stamp = int(time.time() if now is None else now)
    return b"".join(
        _signature_header(signer, names=names, signed_fields=signed_fields, body_hash=body_hash, stamp=stamp)
        for signer in signers
    )


def dkim_signature(message: bytes, *, signer: DkimSigner, now: float | None = None) -> bytes:
    """The ``DKIM-Signature: ...`` header line (ending in CRLF) for ``message``."""
    signed = dkim_sign(message, signers=(signer,), now=now)
    return signed[: len(signed) - len(message)]


@registered
@functools.lru_cache(maxsize=64)
def _names_signed(present: frozenset[str]) -> tuple[str, ...]:
    return (*(n for n in SIGNED_HEADERS if n in present), *OVERSIGNED)


def _instances_bottom_up(canonical: dict[str, list[bytes]], names: tuple[str, ...]) -> list[bytes]:
    taken: dict[str, int] = {}
    chosen = []
    for name in names:
        instances = canonical.get(name, ())
        used = taken.get(name, 0)
        if used < len(instances):
            chosen.append(instances[len(instances) - 1 - used])
            taken[name] = used + 1
    return chosen


def _signature_header(
    signer: DkimSigner, *, names: tuple[str, ...], signed_fields: bytes, body_hash: str, stamp: int
) -> bytes:
    tags, folded = _tags_template(signer.algorithm, signer.domain, signer.selector, names)
    stamp_tag = f"t={stamp:010d};"
    tags = tags.replace(_STAMP, stamp_tag) + f" bh={body_hash}; b="
    # The header as verifiers canonicalise it: relaxed, with an empty b= (§3.7). dkimpy's tag order, so
    # that the two signers' output can be compared byte for byte.
    signed = signed_fields + b"dkim-signature:" + tags.encode("ascii")
    value = "b=" + base64.b64encode(signer.signature_of(signed)).decode("ascii")
    # Folding is cosmetic (relaxed canonicalisation and the b=/bh= rules take it out again).
    pieces = "".join(f"\r\n {value[i : i + _B64_LINE]}" for i in range(0, len(value), _B64_LINE))
    return f"{folded.replace(_STAMP, stamp_tag)}\r\n bh={body_hash};{pieces}\r\n".encode("ascii")


_STAMP = "t=##########;"  # as wide as any t= until the year 2286, so the folding holds for every stamp


@registered
@functools.lru_cache(maxsize=16)
def _tags_template(algorithm: str, domain: str, selector: str, names: tuple[str, ...]) -> tuple[str, str]:
    """The tags up to h= (the same for every message of a configuration but t=): as signed, and folded
    as sent; both with a placeholder for t=."""
    tags = (
        f"v=1; a={algorithm}; c=relaxed/simple; d={domain}; i=@{domain}; q=dns/txt; s={selector}; "
        f"{_STAMP} h={' : '.join(names)};"
    )
    return tags, _folded(f"DKIM-Signature: {tags}")


def _folded(line: str, width: int = 78) -> str:
    """Folds at the spaces between words (relaxed canonicalisation takes the folding out again)."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n ".join(out)
