"""Account pages that allauth does not provide (allauth's own are under ``accounts/``)."""

from django.urls import path

from accounts.views import account_delete

app_name = "accounts"

urlpatterns = [
    path("account/delete/", account_delete, name="account_delete"),
]
