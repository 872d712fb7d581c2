"""Sign-up that takes as long for a known address as for a new one (security review L1).

With enumeration prevention allauth answers both the same way, but a new address costs a password
hash (~0.25 s with the production hasher) and a known one did not, so the timing told an attacker
which addresses have accounts. The known-address path now hashes the submitted password too.
"""

from __future__ import annotations

from allauth.account.forms import SignupForm as AllauthSignupForm
from django.contrib.auth.hashers import make_password


class SignupForm(AllauthSignupForm):
    def try_save(self, request):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1") or "")  # the cost a new account pays
        return super().try_save(request)
