"""Baseline of the benchmark: a Django view that returns a constant, through the project's
settings and whole middleware stack, served by gunicorn like the site itself.

    gunicorn bench.baseline_django:application

Whatever a page costs beyond this is the page's own work: queries, templates, caching.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twinning.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

BODY = "<!doctype html><html lang=en><title>Constant</title><p>A constant page.</p></html>"


def constant(request):
    return HttpResponse(BODY)


urlpatterns = [path("", constant)]

settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
