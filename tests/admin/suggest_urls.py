"""The project's URLs plus ``digest:feed_suggest``, until the route is in ``digest/urls.py``."""

from django.contrib import admin
from django.urls import include, path

from digest import urls as digest_urls
from digest.suggest import feed_suggest_view

digest_patterns = [
    *(p for p in digest_urls.urlpatterns if getattr(p, "name", None) != "feed_suggest"),
    path("feeds/suggest/", feed_suggest_view, name="feed_suggest"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include((digest_patterns, "digest"))),
]
