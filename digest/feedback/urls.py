"""Feedback, private feed and follow-author URLs. Included by the project at the site root (namespace "feedback")."""

from django.urls import path

from digest.feedback import views

app_name = "feedback"

urlpatterns = [
    path("feedback/<str:token>/", views.act, name="act"),
    path("feed/<str:token>/", views.feed, name="feed"),
    path("preferences/feed/regenerate/", views.feed_regenerate, name="feed_regenerate"),
    path("preferences/authors/follow/", views.author_follow, name="author_follow"),
]
