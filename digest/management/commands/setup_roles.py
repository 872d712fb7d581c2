"""Create or refresh the staff roles; optionally make people moderators.

manage.py setup_roles                       # the moderators group and its permissions
manage.py setup_roles --moderator a@lab.org # also: staff + moderators group for that user
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from digest.services.roles import MODERATORS, moderators_group_sync


class Command(BaseCommand):
    help = "Create the moderators group with its permissions (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--moderator", action="append", default=[], metavar="EMAIL", help="make this user a moderator"
        )

    def handle(self, *args, **options):
        count = moderators_group_sync()
        self.stdout.write(f"Group '{MODERATORS}' has {count} permissions.")
        group = Group.objects.get(name=MODERATORS)
        for email in options["moderator"]:
            user = User.objects.filter(email__iexact=email.strip()).first()
            if user is None:
                raise CommandError(f"No user with the address {email!r}; they must sign up first.")
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            user.groups.add(group)
            self.stdout.write(f"{user.email} is now a moderator.")
