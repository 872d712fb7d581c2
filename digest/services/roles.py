"""Staff roles. Superusers can do everything; ``moderators`` moderate feeds and papers only.

Moderators get no permission on anything that shows a subscriber's address or interests
(users, subscriptions, interests, deliveries, suppressions, sent papers), so the admin
hides those pages and the runs dashboard from them.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

MODERATORS = "moderators"

# (app label, model, actions). No "delete": moderation keeps its records; hiding replaces deleting.
MODERATOR_PERMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("digest", "feed", ("add", "change", "view")),
    ("digest", "feedrun", ("view",)),
    ("digest", "paper", ("change", "view")),
    ("admin", "logentry", ("view",)),
)


def moderators_group_sync(*, apps=global_apps, using: str = "default") -> int:
    """Create or update the ``moderators`` group to hold exactly its permissions; returns how many.

    Works with the live app registry (the ``setup_roles`` command) and with a migration's
    historical one; permissions are created first because on a fresh database Django only
    creates them after the last migration ran.
    """
    for app_config in apps.get_app_configs():
        # Historical app configs have no models_module; create_permissions skips those.
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
        app_config.models_module = had_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.using(using).get_or_create(name=MODERATORS)
    wanted = [
        permission_model.objects.using(using).get(
            content_type__app_label=app, content_type__model=model, codename=f"{action}_{model}"
        )
        for app, model, actions in MODERATOR_PERMISSIONS
        for action in actions
    ]
    group.permissions.set(wanted)
    return len(wanted)
