"""The subscriber's pages. The email code links to ``unsubscribe``, ``digest_view`` and ``preferences``."""

from django.urls import path

from digest.library import views as library
from digest.views import archive, pages, preferences, preview, suggest, trending, unsubscribe

app_name = "digest"

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("preferences/interests/", preferences.interest_add, name="interest_add"),
    path("preferences/interests/<int:interest_id>/", preferences.interest_update, name="interest_update"),
    path("preferences/interests/<int:interest_id>/remove/", preferences.interest_remove, name="interest_remove"),
    path("preferences/delivery/", preferences.settings_update, name="settings_update"),
    path("preferences/pause/", preferences.subscription_pause, name="pause"),
    path("preferences/resume/", preferences.subscription_resume, name="resume"),
    path("preferences/unsubscribe/", preferences.subscription_unsubscribe, name="unsubscribe_signed_in"),
    path("preferences/resubscribe/", preferences.subscription_resubscribe, name="resubscribe"),
    path("preferences/test-digest/", preferences.test_digest_send, name="test_digest"),
    path("preferences/trending/", trending.trending_update, name="trending_update"),
    path("preferences/trending/preview/", trending.trending_preview, name="trending_preview"),
    path("preview/", preview.preview, name="preview"),
    # A subscriber's library, "papers like these" (issue 17; digest/library/views.py).
    path("preferences/library/paste/", library.library_paste, name="library_paste"),
    path("preferences/library/upload/", library.library_upload, name="library_upload"),
    path("preferences/library/add/", library.library_add, name="library_add"),
    path("preferences/library/<int:item_id>/remove/", library.library_remove, name="library_remove"),
    path("archive/", archive.archive, name="archive"),
    path("archive/<int:delivery_id>/", archive.archive_digest, name="archive_digest"),
    path("archive/<int:delivery_id>/email/", archive.archive_digest_email, name="archive_digest_email"),
    path("d/<str:token>/", archive.digest_view, name="digest_view"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    # Subscribers suggest a feed for the moderators.
    path("feeds/suggest/", suggest.feed_suggest_view, name="feed_suggest"),
]
