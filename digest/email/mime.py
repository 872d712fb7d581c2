"""The MIME bytes of an outgoing email, written directly.

Why not Python's ``email`` package (what Django's ``EmailMessage.message()`` uses): building the
object tree and serialising it costs 3-7 ms for a 50 KB digest -- more than rendering it -- and a
part with one line over 998 bytes silently goes out quoted-printable, which makes it a third larger
and splits it into 76-byte lines. The shape of what we send is fixed and small (a few known headers,
``multipart/alternative`` with a text and an HTML part), so it is written here in one pass:

* every header value is checked for CR/LF (header injection) and non-ASCII values are encoded as
  RFC 2047 words; long values are folded at spaces (RFC 5322 §2.2.3);
* each part goes ``7bit`` when it is ASCII, ``8bit`` when it is UTF-8 with lines of at most 998
  bytes and the server speaks 8BITMIME (RFC 6152), else ``quoted-printable`` (binascii, in C);
* lines end in CRLF, as SMTP wants them, so nothing is rewritten on the way out.

The result parses with Python's ``email`` package into exactly the text and HTML that went in
(tested), and :class:`PreparedMime` quacks like the ``message()`` Django backends call, so any
configured email backend can still send it.
"""

from __future__ import annotations

import binascii
import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.utils import formataddr, parseaddr

from digest.email.caches import registered

LINE_MAX_BYTES = 998  # RFC 5321 §4.5.3.1.6, without the CRLF
FOLD_AT = 78  # RFC 5322 §2.1.1: SHOULD
CRLF = b"\r\n"


class HeaderError(ValueError):
    """A header value that would break the message (a line break: header injection)."""


def header_check(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise HeaderError(f"header {name!r} must be one line; got {value!r}")
    return value


_UTF8_Q = Charset("utf-8")
_UTF8_Q.header_encoding = QP  # "=?utf-8?q?...?=" keeps mostly-ASCII subjects readable in raw form


def header_encode(value: str) -> str:
    """ASCII stays as it is; anything else becomes RFC 2047 encoded words (UTF-8), on one line:
    ``header_line`` folds at the spaces between words (which decoders drop between encoded words)."""
    header_check("value", value)
    if value.isascii():
        return value
    return Header(value, _UTF8_Q).encode(linesep="\r\n").replace("\r\n ", " ")


_BARE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


@registered
@functools.lru_cache(maxsize=64)  # the From line is the same on every message
def _display_address_encode(value: str) -> str:
    name, address = parseaddr(value)
    if not address or not address.isascii():
        raise HeaderError(f"not a plain ASCII email address: {value!r}")
    return formataddr((name, address), charset="utf-8") if name else address


def address_encode(value: str) -> str:
    """``Name <addr>`` with a non-ASCII display name encoded; the address itself must be ASCII."""
    if _BARE_ADDRESS.fullmatch(value):
        return value  # the common case (every recipient), without parsing
    return _display_address_encode(value)


def header_line(name: str, value: str) -> bytes:
    """``Name: value`` folded at spaces so lines stay under 78 characters where a space allows it."""
    header_check(name, value)
    line = f"{name}: {value}"
    if len(line) <= FOLD_AT:
        return line.encode("ascii") + CRLF
    out: list[str] = []
    current = f"{name}:"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > FOLD_AT and current != f"{name}:":
            out.append(current)
            current = ""
        current = f"{current} {word}"
    out.append(current)
    return "\r\n".join(out).encode("ascii") + CRLF


@dataclass(frozen=True, slots=True)
class Body:
    transfer_encoding: str  # 7bit | 8bit | quoted-printable
    data: bytes  # CRLF line endings, ready for the wire


def body_encode(text: str, *, allow_8bit: bool) -> Body:
    data = text.encode("utf-8")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.replace(b"\n", CRLF)
    fits = len(data) <= LINE_MAX_BYTES or max(map(len, data.split(CRLF))) <= LINE_MAX_BYTES
    if fits and data.isascii():
        return Body("7bit", data)
    if fits and allow_8bit:
        return Body("8bit", data)
    return Body("quoted-printable", binascii.b2a_qp(data, istext=True))


def _part_head(content_type: str, body: Body) -> bytes:
    """A body part's header lines and the empty line after them."""
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {body.transfer_encoding}\r\n\r\n'
    ).encode()


def alternative_bytes(
    *, headers: Sequence[tuple[str, str]], text: str, html: str | None, allow_8bit: bool = True
) -> bytes:
    """A whole message: ``headers`` (already encoded values), then text (and HTML as an alternative).

    ``allow_8bit=False`` is for a server without 8BITMIME: every non-ASCII part goes quoted-printable.
    """
    head, body = alternative_pieces(headers=headers, text=text, html=html, allow_8bit=allow_8bit)
    return b"".join((head, b"\r\n", *body))


def alternative_pieces(
    *, headers: Sequence[tuple[str, str]], text: str, html: str | None, allow_8bit: bool = True
) -> tuple[bytes, list[bytes]]:
    """``alternative_bytes`` in pieces: the header block (its last CRLF included, the empty line after it
    not), and the body as pieces to join. A DKIM signer hashes the pieces where they lie, and the
    message is joined once, signature in front (measured: each extra copy of a 48 KiB digest costs
    about as much as hashing it)."""
    head = [header_line(name, value) for name, value in headers]
    head.append(b"MIME-Version: 1.0\r\n")
    text_body = body_encode(text, allow_8bit=allow_8bit)
    if html is None:
        ending = b"" if text_body.data.endswith(CRLF) else CRLF
        return b"".join((*head, _part_head("text/plain", text_body)[:-2])), [text_body.data, ending]
    # "=_" cannot occur in quoted-printable, and 96 random bits will not occur in 8bit text by chance.
    boundary = f"=_paperboy_{secrets.token_hex(12)}"
    html_body = body_encode(html, allow_8bit=allow_8bit)
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode())
    return b"".join(head), [
        f"--{boundary}\r\n".encode(),
        _part_head("text/plain", text_body),
        text_body.data,
        f"\r\n--{boundary}\r\n".encode(),
        _part_head("text/html", html_body),
        html_body.data,
        f"\r\n--{boundary}--\r\n".encode(),
    ]


class PreparedMime:
    """Stands in for the ``email.message.Message`` Django backends get from ``EmailMessage.message()``:
    they only ever call ``as_bytes``/``as_string`` on it (and read headers for logging)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n", **_: object) -> bytes:
        return self.data if linesep == "\r\n" else self.data.replace(CRLF, linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n", **_: object) -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8")

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def __str__(self) -> str:
        return self.as_string()
