"""Kosovo (XK) is a successor of Serbia and Montenegro (CSXX), and so of Yugoslavia: a town
an import names in Yugoslavia may lie in Kosovo today (Prizren, Pristina), and is found, or
placed, there. ISO 3166-3 withdrew CSXX in 2006, before Kosovo's declaration of 2008, and
names only RS and ME; the registry's successors are the states a former one's towns lie in
today. Staff may change them in the admin."""

from django.db import migrations


def add_kosovo(apps, schema_editor):
    Country = apps.get_model("registry", "Country")
    codes = {country.code: country for country in Country.objects.filter(code__in=["CSXX", "XK"])}
    if len(codes) == 2:
        codes["CSXX"].successors.add(codes["XK"])


def remove_kosovo(apps, schema_editor):
    Country = apps.get_model("registry", "Country")
    codes = {country.code: country for country in Country.objects.filter(code__in=["CSXX", "XK"])}
    if len(codes) == 2:
        codes["CSXX"].successors.remove(codes["XK"])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0011_participation_counted_from_partnerships"),
    ]

    operations = [migrations.RunPython(add_kosovo, remove_kosovo)]
