from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "digest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import digest.db  # noqa: F401 -- registers the ``__any`` lookup
        from digest.email.dkim import dkim_configuration_check

        smtp_helo_install()
        dkim_configuration_check()


def smtp_helo_install() -> None:
    """Every SMTP connection Django opens (digests, sign-up emails, admin mail) greets the relay with
    PAPERBOY_SMTP_HELO instead of the machine's own name (often ``localhost``, which relays with
    ``reject_non_fqdn_helo_hostname`` refuse).

    Django's SMTP backend takes its EHLO name from ``django.core.mail.utils.DNS_NAME`` and has no
    setting for it; that one object is told to answer with the setting (read on each use, so a test's
    settings override applies). Django's own Message-IDs use the same name.
    """
    from django.conf import settings
    from django.core.mail.utils import DNS_NAME

    DNS_NAME.get_fqdn = lambda: settings.PAPERBOY_SMTP_HELO  # type: ignore[method-assign]
