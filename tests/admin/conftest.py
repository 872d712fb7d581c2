"""Personas of the admin tests: Rosa runs the instance (superuser), Mo moderates feeds and papers,
Ada is a subscriber who suggests feeds and must never reach the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from digest.services.roles import MODERATORS, moderators_group_sync
from tests.factories import subscriber_make


@pytest.fixture
def rosa(db) -> User:
    return User.objects.create_superuser(email="rosa@paperboy.test", password="operator password 1")


@pytest.fixture
def mo(db) -> User:
    # The data migration made the group; transactional tests flush it, so sync it again (idempotent).
    moderators_group_sync()
    user = User.objects.create_user(email="mo@paperboy.test", password="moderator password 1", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


@pytest.fixture
def ada_sub(db):
    return subscriber_make(email="ada@example.org", interests=["diffusion", '"video generation"'])


@pytest.fixture
def rosa_client(rosa) -> Client:
    client = Client()
    client.force_login(rosa)
    return client


@pytest.fixture
def mo_client(mo) -> Client:
    client = Client()
    client.force_login(mo)
    return client


@pytest.fixture
def ada_client(ada_sub) -> Client:
    client = Client()
    client.force_login(ada_sub.user)
    return client
