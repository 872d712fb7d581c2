"""The moderators group exists after migrate and holds only feed and paper permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db

MODERATOR_CODENAMES = {
    "add_feed",
    "change_feed",
    "view_feed",
    "view_feedrun",
    "change_paper",
    "view_paper",
    "view_logentry",
}


def test_migrate_creates_the_moderators_group_with_feed_and_paper_permissions():
    group = Group.objects.get(name="moderators")

    assert set(group.permissions.values_list("codename", flat=True)) == MODERATOR_CODENAMES


def test_setup_roles_repairs_the_group_and_makes_a_user_a_moderator(ada_sub):
    Group.objects.get(name="moderators").permissions.clear()

    call_command("setup_roles", "--moderator", "ADA@example.org")

    user = User.objects.get(pk=ada_sub.user.pk)
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name="moderators").exists()
    assert user.has_perm("digest.change_paper") and not user.has_perm("digest.view_subscription")
    assert set(Group.objects.get(name="moderators").permissions.values_list("codename", flat=True)) == (
        MODERATOR_CODENAMES
    )


def test_setup_roles_refuses_an_unknown_address():
    with pytest.raises(CommandError, match="must sign up first"):
        call_command("setup_roles", "--moderator", "nobody@example.org")
