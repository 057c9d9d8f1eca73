"""URL configuration: the admin and the public registry."""

from django.contrib import admin
from django.urls import include, path

from twinning.views import switch_language

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's own address and name for the switch (django.conf.urls.i18n), its own check.
    path("i18n/setlang/", switch_language, name="set_language"),
    path("", include("registry.urls")),
]
