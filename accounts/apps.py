from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
    # allauth's own app is also called "Accounts" in the admin; two headings of one name confuse.
    verbose_name = "Users and account emails"

    def ready(self) -> None:
        from accounts.sites import site_sync_after_migrate

        # The Sites row (allauth's "current site") follows PAPERBOY_SITE_URL on every migrate.
        post_migrate.connect(site_sync_after_migrate, sender=self)
