"""The public site's addresses: a public contract, kept stable."""

from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.home, name="home"),
    path("municipalities/", views.municipality_list, name="municipalities"),
    path("municipalities/<slug:slug>/", views.municipality_detail, name="municipality"),
    path("partnerships/", views.partnership_list, name="partnerships"),
    path("partnerships/<int:pk>/", views.partnership_detail, name="partnership"),
    path("networks/", views.network_list, name="networks"),
    path("networks/<slug:slug>/", views.network_detail, name="network"),
    path("rankings/", views.ranking, name="ranking"),
    path("rankings/countries/", views.country_ranking, name="country_ranking"),
    path("awards/", views.award_list, name="awards"),
    path("statistics/", views.statistics, name="statistics"),
]
