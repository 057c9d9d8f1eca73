"""Load the world's countries from pycountry, create the staff groups and the themes.

Countries: every current state of ISO 3166-1 (by alpha-2 code) and every former state of
ISO 3166-3 (by alpha-4 code: CSHH Czechoslovakia, DDDE the GDR, SUHH the USSR, YUCS
Yugoslavia), with English and German names from pycountry's own translations. A former state
is linked to its successors by what ISO 3166-3 encodes: the last two letters of the alpha-4
code name the successor (DDDE -> DE), and some comments list the parts ("divided into FM, MH,
MP, and PW"). Where the standard writes "HH" (no single successor) and says nothing more, the
parts are listed below in DISSOLUTIONS, the only successor facts typed here.
"""

import gettext
import re

import pycountry
from django.db import migrations

# Kosovo has no ISO 3166-1 code; XK is the user-assigned code the EU, the ISO registry's
# users and Wikidata use, and real partnership lists name Kosovo.
USER_ASSIGNED = [("XK", "XKX", "Kosovo", "Kosovo")]

# Successors of the dissolved states whose ISO 3166-3 entry does not name them.
DISSOLUTIONS = {
    "CSHH": ["CZ", "SK"],
    "SUHH": [
        "AM",
        "AZ",
        "BY",
        "EE",
        "GE",
        "KZ",
        "KG",
        "LV",
        "LT",
        "MD",
        "RU",
        "TJ",
        "TM",
        "UA",
        "UZ",
    ],
    "YUCS": ["SI", "HR", "BA", "MK"],
    "CSXX": ["RS", "ME"],
    "ANHH": ["CW", "SX", "BQ"],
    "NTHH": ["SA", "IQ"],
    "BYAA": ["BY"],
}


def _translator(domain):
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=["de"]).gettext
    except OSError:
        return lambda text: text


def _short(name):
    """ "Czechoslovakia, Czechoslovak Socialist Republic" -> "Czechoslovakia"."""
    return name.split(",")[0].strip()


def load_countries(apps, schema_editor):
    Country = apps.get_model("registry", "Country")
    german = _translator("iso3166-1")
    german_former = _translator("iso3166-3")

    rows = []
    for country in pycountry.countries:
        english = getattr(country, "common_name", None) or country.name
        rows.append(
            Country(
                code=country.alpha_2,
                alpha3=country.alpha_3,
                name_en=english,
                name_de=german(english) if german(english) != english else german(country.name),
            )
        )
    for code, alpha3, english, german_name in USER_ASSIGNED:
        rows.append(Country(code=code, alpha3=alpha3, name_en=english, name_de=german_name))
    former = list(pycountry.historic_countries)
    for country in former:
        rows.append(
            Country(
                code=country.alpha_4,
                alpha3=country.alpha_3,
                name_en=_short(country.name),
                name_de=_short(german_former(country.name)),
                ended=country.withdrawal_date,
            )
        )
    Country.objects.bulk_create(rows)

    by_code = {country.code: country for country in Country.objects.all()}
    for country in former:
        successors = set(DISSOLUTIONS.get(country.alpha_4, []))
        suffix = country.alpha_4[2:]
        if suffix in by_code:
            successors.add(suffix)
        else:
            # YUCS -> "CS": Serbia and Montenegro, itself a former state by now.
            successors.update(
                later.alpha_4
                for later in former
                if later.alpha_2 == suffix and later.withdrawal_date > country.withdrawal_date
            )
        comment = getattr(country, "comment", "")
        if re.search(r"\b(divided into|split into|split between)\b", comment):
            successors.update(code for code in re.findall(r"\b[A-Z]{2}\b", comment))
            successors.update(
                other.code
                for other in by_code.values()
                if other.name_en and other.name_en in comment
            )
        successors &= by_code.keys()
        successors.discard(country.alpha_4)
        by_code[country.alpha_4].successors.set([by_code[code] for code in sorted(successors)])


def unload_countries(apps, schema_editor):
    apps.get_model("registry", "Country").objects.all().delete()


GROUPS = ["Editors", "Reviewers"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


THEMES = [
    ("culture", "Culture", "Kultur"),
    ("economy", "Economy", "Wirtschaft"),
    ("schools", "Schools and youth exchange", "Schulen und Jugendaustausch"),
    ("universities", "Universities and research", "Hochschulen und Forschung"),
    ("sport", "Sport", "Sport"),
    ("reconciliation", "Reconciliation", "Versöhnung"),
    (
        "democracy",
        "Democracy and municipal foreign policy",
        "Demokratie und kommunale Außenpolitik",
    ),
    ("development", "Development cooperation", "Entwicklungszusammenarbeit"),
    (
        "infrastructure",
        "Economic and social infrastructure",
        "Wirtschaftliche und soziale Infrastruktur",
    ),
    ("water", "Drinking water and wastewater", "Trinkwasser und Abwasser"),
    ("environment", "Environment and climate", "Umwelt und Klima"),
    ("administration", "Administrative exchange", "Verwaltungsaustausch"),
    ("humanitarian", "Humanitarian aid", "Humanitäre Hilfe"),
    ("expellees", "Refugees and expellees", "Flüchtlinge und Vertriebene"),
]


def create_themes(apps, schema_editor):
    Theme = apps.get_model("registry", "Theme")
    Theme.objects.bulk_create(
        [Theme(slug=slug, name_en=english, name_de=german) for slug, english, german in THEMES]
    )


def delete_themes(apps, schema_editor):
    apps.get_model("registry", "Theme").objects.filter(
        slug__in=[slug for slug, _, _ in THEMES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_countries, unload_countries),
        migrations.RunPython(create_groups, delete_groups),
        migrations.RunPython(create_themes, delete_themes),
    ]
