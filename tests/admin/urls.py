"""The admin alone: admin tests must not depend on the subscriber pages being importable."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
