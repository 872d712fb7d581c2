"""The operator's admin: feed and paper moderation, subscribers, deliveries and the runs dashboard.

Thin by design: every action calls ``digest.services.moderation`` (which also writes the
``LogEntry``) and every list page reads through ``digest.selectors``; list pages are built for
100,000 subscribers and 1,000,000 papers (capped counts, annotations instead of per-row queries,
``list_select_related``).

One file per area: ``feeds`` (feeds, fetch runs), ``papers``, ``subscribers`` (subscriptions,
deliveries, suppressions: the personal data), ``runs`` (the runs dashboard), ``log`` (the
moderation log), ``learning`` (feedback and learned rankers); ``base`` holds what they share.

Roles: superusers see everything; the ``moderators`` group (``digest/services/roles.py``) sees feeds,
feed runs, papers and the moderation log, and never a subscriber's address or interests.
"""

from django.contrib import admin

# Importing the modules runs their @admin.register.
from digest.admin import feeds, learning, log, papers, runs, subscribers

__all__ = ["feeds", "learning", "log", "papers", "runs", "subscribers"]

admin.site.site_header = "Paperboy admin"
admin.site.site_title = "Paperboy admin"
admin.site.index_title = "Moderation and operations"
