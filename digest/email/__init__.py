"""The digest email: plain data in (:class:`DigestEmail`), a ready ``EmailMultiAlternatives`` out.

Pure rendering -- no SMTP, no tokens, no ORM. The delivery service builds a :class:`DigestEmail` and calls
:func:`digest_message_build`; the "view in browser" page calls :func:`digest_html_render` with
``for_browser=True`` (same templates). Three kinds share the templates: the daily/weekly digest, the
quiet-day note (``kind="quiet"``: nothing matched, here are the nearest misses) and the trending digest
(``kind="trending"``: the window's most upvoted papers, no interests).

Where things are (docs/EMAIL.md has the map):

* ``contract``   -- DigestItem / DigestLinks / DigestEmail, what callers build
* ``clean``      -- display cleaning (``display_text``, ``href_encode``) and highlight spans
* ``wording``    -- every sentence and label either part shows (a copy edit goes here + templates)
* ``view``       -- the cleaned view model and the shared, cached cards (a layout change: here + templates)
* ``actions``    -- a card's per-subscriber feedback links, rendered for both parts
* ``inline``     -- Jinja2, premailer pre-inlining, placeholders, the inlined-card LRU
* ``escape``     -- escaping as lxml writes it, highlights, UTF-8 size arithmetic
* ``html`` / ``text`` / ``subject`` -- the three parts; ``wrap`` -- plain-text line layout
* ``message`` / ``mime`` -- the message object and its MIME bytes
* ``reference``  -- the uncached renderer the fast HTML path must equal (tests only)
* ``caches``     -- the registry every cache joins, so :func:`email_caches_clear` misses none
"""

from digest.email.caches import email_caches_clear
from digest.email.contract import EMAIL_KINDS, DigestEmail, DigestItem, DigestLinks
from digest.email.html import HTML_BUDGET_BYTES, digest_html_render, email_cards_warm
from digest.email.message import DigestMessage, digest_message_build
from digest.email.subject import digest_subject_render
from digest.email.text import digest_text_render

__all__ = [
    "EMAIL_KINDS",
    "HTML_BUDGET_BYTES",
    "DigestEmail",
    "DigestItem",
    "DigestLinks",
    "DigestMessage",
    "digest_html_render",
    "digest_message_build",
    "digest_subject_render",
    "digest_text_render",
    "email_caches_clear",
    "email_cards_warm",
]
