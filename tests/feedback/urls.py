"""The project's URLs plus the feedback URLs, until the project includes them itself."""

from django.urls import include, path

from paperboy.urls import urlpatterns as project_urlpatterns

_included = any(getattr(p, "app_name", None) == "feedback" for p in project_urlpatterns)
urlpatterns = [*project_urlpatterns] + ([] if _included else [path("", include("digest.feedback.urls"))])
