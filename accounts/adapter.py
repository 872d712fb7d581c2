"""allauth, adapted: the real client address, login limits nobody else can use against the owner,
and no mail to IP-literal addresses.

Failed logins are limited three ways (``ACCOUNT_RATE_LIMITS``):

* ``login_failed`` ``10/m/ip``: one address guessing many accounts;
* ``login_failed`` ``5/5m/key``, where the key is the account *and* the client address: a stranger's
  failures lock out only the stranger, never the owner's own connection (review L2);
* ``login_failed_account`` per account from everywhere, generous: guessing spread over many addresses
  stops there. While it holds, the owner still gets in by a code sent by email (``/accounts/login/code/``)
  or a reset link, and a completed reset clears both counters (review M5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit as allauth_ratelimit
from django import forms
from django.conf import settings
from django.http import HttpRequest

from accounts.client_ip import client_ip

ACCOUNT_LIMIT_ACTION = "login_failed_account"


def _login_of(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email", credentials.get("username", ""))).strip().lower()


@dataclass(frozen=True)
class SiteInfo:
    """What account emails call the site (allauth would name the ``Site`` row: "example.com")."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        site = SiteInfo(name="Paperboy", domain=settings.SITE_DOMAIN)
        super().send_mail(template_prefix, email, {**context, "current_site": site})

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request) or super().get_client_ip(request)

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        # a@[127.0.0.1]: the relay would be asked to deliver to an address literal (an internal host).
        if email.rpartition("@")[2].startswith("["):
            raise forms.ValidationError("Please use an address with a domain name, not an IP address.")
        return email

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's key (site and address) plus the client's address: see the module docstring.
        key = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{key}|{self.get_client_ip(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        account_usage = allauth_ratelimit.consume(
            request, app="allauth.account", action=ACCOUNT_LIMIT_ACTION, key=_login_of(credentials)
        )
        if not account_usage:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        # A successful login rolls back both counters together (allauth rolls back this usage).
        self._login_failed_rl_usage.usage.extend(account_usage.usage)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        super()._delete_login_attempts_cached_email(request, **credentials)
        allauth_ratelimit.clear(request, app="allauth.account", action=ACCOUNT_LIMIT_ACTION, key=_login_of(credentials))
