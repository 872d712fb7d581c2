from django.contrib import admin
from django.urls import include, path

from accounts.staff_login import admin_login_install

admin_login_install()  # staff sign in through the rate-limited login (accounts/staff_login.py)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("digest.urls")),
    path("", include("digest.feedback.urls")),
]
