"""The public site's addresses: a public contract, kept stable."""

from django.urls import path

from registry import corrections, views

app_name = "registry"

urlpatterns = [
    path("", views.home, name="home"),
    path("municipalities/", views.municipality_list, name="municipalities"),
    path("municipalities/<slug:slug>/", views.municipality_detail, name="municipality"),
    path(
        "municipalities/<slug:slug>/correction/",
        corrections.municipality_correction,
        name="municipality_correction",
    ),
    path(
        "municipalities/<slug:slug>/correction/thanks/",
        corrections.municipality_correction_thanks,
        name="municipality_correction_thanks",
    ),
    path("partnerships/", views.partnership_list, name="partnerships"),
    path("partnerships/<int:pk>/", views.partnership_detail, name="partnership"),
    path(
        "partnerships/<int:pk>/correction/",
        corrections.partnership_correction,
        name="partnership_correction",
    ),
    path(
        "partnerships/<int:pk>/correction/thanks/",
        corrections.partnership_correction_thanks,
        name="partnership_correction_thanks",
    ),
    path("networks/", views.network_list, name="networks"),
    path("networks/<slug:slug>/", views.network_detail, name="network"),
    path("rankings/", views.ranking, name="ranking"),
    path("rankings/countries/", views.country_ranking, name="country_ranking"),
    path("awards/", views.award_list, name="awards"),
    path("statistics/", views.statistics, name="statistics"),
]
