"""Account forms that allauth does not provide."""

from __future__ import annotations

from django import forms


class AccountDeleteForm(forms.Form):
    """Confirms with the password, or with the email address for accounts that only sign in socially."""

    confirmation = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            self.fields["confirmation"] = forms.CharField(
                label="Type your email address to confirm", widget=forms.EmailInput(attrs={"autocomplete": "off"})
            )

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError("That is not your password.")
        elif value.strip().casefold() != self.user.email.casefold():
            raise forms.ValidationError("That is not the address of this account.")
        return value
