"""Settings every email test renders with."""

import pytest


@pytest.fixture
def email_settings(settings):
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example>"
    settings.SITE_URL = "https://paperboy.example"
    settings.SITE_DOMAIN = "paperboy.example"
    settings.PAPERBOY_LIST_ID = "Paperboy daily digest <digest.paperboy.example>"
    settings.PAPERBOY_POSTAL_ADDRESS = "Paperboy · 1 Example Street · Springfield · hello@paperboy.example"
    return settings
