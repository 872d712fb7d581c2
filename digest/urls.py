from django.urls import path

app_name = "digest"

urlpatterns: list = []
