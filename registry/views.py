"""Public pages of the registry: plain functions that render an explicit context."""

from django.shortcuts import render

from registry.models import Municipality, Partnership


def home(request):
    context = {
        "municipality_total": Municipality.objects.count(),
        "partnership_total": Partnership.objects.bilateral().count(),
        "network_total": Partnership.objects.networks().count(),
    }
    return render(request, "registry/home.html", context)
