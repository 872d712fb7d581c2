"""allauth's emails in Paperboy's voice, queued instead of sent inside the request.

Every account email is rendered from ``templates/account/email/<kind>_{subject,message}.txt`` and
``<kind>_message.html`` with the site's own name and URL (never the Sites framework's default), then
handed to ``accounts.outbox``: a mail server that is down delays the email, it never breaks the page.
"""

from __future__ import annotations

from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from accounts.outbox import account_email_queue
from accounts.sites import SITE_NAME
from accounts.tasks import account_email_send_task


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        ctx = {
            "request": getattr(self, "request", None),
            "email": email,
            "site_name": SITE_NAME,
            "site_url": settings.SITE_URL,
            "preferences_url": f"{settings.SITE_URL}/preferences/",
            "login_url": f"{settings.SITE_URL}/accounts/login/",
            "password_reset_url_plain": f"{settings.SITE_URL}/accounts/password/reset/",
            **context,
        }
        # allauth builds its links from the request's host; an email's links use the public site URL,
        # like every other link Paperboy sends (the request may have come in by an internal name).
        for key in ("activate_url", "password_reset_url", "signup_url"):
            if isinstance(ctx.get(key), str):
                ctx[key] = site_link(ctx[key])
        message = self.render_mail(template_prefix, email, ctx)
        # The site's domain, not this machine's name (Django's default), in the Message-ID.
        message.extra_headers["Message-ID"] = make_msgid(domain=settings.SITE_DOMAIN)
        message.extra_headers["Auto-Submitted"] = "auto-generated"
        account_email_queue(
            kind=template_prefix.rsplit("/", 1)[-1], message=message, on_queued=account_email_send_task.delay
        )


def site_link(url: str) -> str:
    """The same path and query under PAPERBOY_SITE_URL."""
    parts = urlsplit(url)
    return settings.SITE_URL + parts.path + (f"?{parts.query}" if parts.query else "")
