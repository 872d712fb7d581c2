"""Paperboy's settings plus django-post-office, for the delivery benchmark's comparison run only.

The product does not use post-office; it is the well-known Django mail queue we measure against.
"""

from paperboy.settings import *  # noqa: F403
from paperboy.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]
# post-office's defaults, with its own log of every email left on (the way it ships).
POST_OFFICE = {"DEFAULT_PRIORITY": "medium"}
