"""Places: countries (present and former), their regions, municipalities and their other names."""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField
from registry.models.display import QuickDisplay, localized, quick_reverse
from registry.models.imports import ImportRun
from registry.models.municipality_queries import MunicipalityQuerySet
from registry.models.sources import Source
from registry.text import fold


class CountryQuerySet(models.QuerySet):
    def current(self):
        return self.filter(ended__isnull=True)

    def historical(self):
        return self.filter(ended__isnull=False)

    def with_municipalities(self):
        """Countries with a municipality in the registry: a lookup per country, not a pass
        over every town."""
        return self.filter(Exists(Municipality.objects.filter(country=OuterRef("pk"))))

    def get_by_natural_key(self, code):
        return self.get(code=code)

    def partnership_tables(self, partnerships):
        """Countries by number of ``partnerships`` (bilateral), and the pairs of countries.

        One grouped query over the pairs of the two sides' countries (then one for the
        countries), not a count per country. Returns ``(countries, pairs)``: the countries
        with any partnership, the most first (then by code), each with ``partnerships`` (a
        German–French partnership counts once for Germany and once for France, a German–German
        one once for Germany) and a dense ``rank`` (equal counts share a rank); and the pairs,
        either way round, as ``low`` and ``high`` (the two countries in alphabetical order of
        code) and ``count``, the most frequent first.
        """
        per_pair = Counter()
        for first, second, count in (
            partnerships.order_by()
            .values_list("first__country", "second__country")
            .annotate(count=Count("pk"))
        ):
            per_pair[frozenset((first, second))] += count
        named = self.in_bulk({pk for pair in per_pair for pk in pair})
        per_country = Counter()
        pairs = []
        for pair, count in per_pair.items():
            countries = sorted((named[pk] for pk in pair), key=lambda country: country.code)
            per_country.update(dict.fromkeys(pair, count))
            pairs.append({"low": countries[0], "high": countries[-1], "count": count})
        pairs.sort(key=lambda pair: (-pair["count"], pair["low"].code, pair["high"].code))
        ranked = sorted(named.values(), key=lambda c: (-per_country[c.pk], c.code))
        ranks = {
            count: rank
            for rank, count in enumerate(sorted(set(per_country.values()), reverse=True), 1)
        }
        for country in ranked:
            country.partnerships = per_country[country.pk]
            country.rank = ranks[country.partnerships]
        return ranked, pairs

    def with_partnership_counts(self, partnerships):
        """The countries of :meth:`partnership_tables`."""
        return self.partnership_tables(partnerships)[0]


class Country(models.Model):
    code = models.CharField(
        _("code"),
        max_length=4,
        unique=True,
        help_text=_("ISO 3166-1 alpha-2 (DE), or ISO 3166-3 alpha-4 for a former state (DDDE)."),
    )
    alpha3 = models.CharField(_("alpha-3 code"), max_length=3, blank=True)
    name_en = models.CharField(_("English name"), max_length=100)
    name_de = models.CharField(_("German name"), max_length=100)
    ended = PartialDateField(
        _("ended"),
        null=True,
        blank=True,
        help_text=_("When a former state ceased to exist (ISO 3166-3 withdrawal date)."),
    )
    successors = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="predecessors",
        blank=True,
        verbose_name=_("successor states"),
    )

    objects = CountryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.code,)

    @property
    def name(self):
        return localized(self, "name")

    @property
    def historical(self):
        return self.ended is not None


class RegionManager(models.Manager):
    def get_by_natural_key(self, country_code, name):
        return self.get(country__code=country_code, name=name)

    def choices(self):
        """Every region as ``(pk, code, name, country code, country name)``, the country
        named in the active language, in the order a drop-down lists them: by country name,
        then by name (accents and case ignored). Read as plain values, not an instance each."""
        language = (get_language() or "en")[:2]
        local = f"country__name_{language}" if language in ("en", "de") else "country__name_en"
        rows = self.values_list("pk", "code", "name", "country__code", local, "country__name_en")
        regions = [
            (pk, code, name, country_code, country_name or english)
            for pk, code, name, country_code, country_name, english in rows
        ]
        return sorted(regions, key=lambda region: (fold(region[4]), fold(region[2]), region[0]))


class Region(models.Model):
    """A first-level division: a Bundesland, a département, a county, a prefecture."""

    country = models.ForeignKey(
        Country, models.PROTECT, related_name="regions", verbose_name=_("country")
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("ISO 3166-2 code"), max_length=10, blank=True)

    objects = RegionManager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(no_db_index=["country"])

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "name"],
                name="region_unique_name_per_country",
                violation_error_message=_("This country already has a region of that name."),
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (*self.country.natural_key(), self.name)

    natural_key.dependencies = ["registry.country"]


class Municipality(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        CITY = "city", _("city or town")
        MUNICIPALITY = "municipality", _("municipality")
        BOROUGH = "borough", _("borough or district")
        COUNTY = "county", _("county")
        REGION = "region", _("region, state or prefecture")

    name = models.CharField(_("local name"), max_length=200)
    # Unique by a constraint in Meta, not unique=True: that would add a second index for
    # LIKE on PostgreSQL, which nothing asks of a slug and every insert pays for.
    slug = models.SlugField(_("slug"), max_length=200, db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.CITY)
    country = models.ForeignKey(
        Country,
        models.PROTECT,
        db_index=False,  # the index on (country, name_folded) in Meta serves it
        related_name="municipalities",
        verbose_name=_("country"),
    )
    region = models.ForeignKey(
        Region,
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta, as for parent
        related_name="municipalities",
        verbose_name=_("region"),
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: nearly every town has none
        related_name="parts",
        verbose_name=_("part of"),
        help_text=_("The body it belongs to, e.g. Berlin for Berlin-Neukölln."),
    )
    successor = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta, as for parent
        related_name="predecessors",
        verbose_name=_("merged into"),
        help_text=_("The municipality it became part of, e.g. Kouvola for Kuusankoski."),
    )
    merged = PartialDateField(_("merged on"), null=True, blank=True)
    wikidata_id = models.CharField(
        _("Wikidata id"),
        max_length=20,
        blank=True,
        help_text=_("For example Q365 for Köln."),
    )
    geonames_id = models.PositiveIntegerField(_("GeoNames id"), null=True, blank=True)
    seeking_partner = models.BooleanField(_("seeks a partner"), default=False)
    seeking_description = models.TextField(
        _("what it seeks"),
        blank=True,
        help_text=_("Country, size, themes: what a partner should bring."),
    )
    website = models.URLField(_("website"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="municipalities", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="municipalities",
        verbose_name=_("created by import"),
    )
    # Derived by registry.signals on every save, fixtures included.
    name_folded = models.CharField(max_length=200, editable=False)  # indexed in Meta
    partner_count = models.PositiveIntegerField(
        _("partnerships in force"),
        default=0,
        editable=False,
        db_index=True,
        help_text=_("Kept up to date by the registry; see the counting rule."),
    )

    objects = MunicipalityQuerySet.as_manager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(
        excluded_fields=["name_folded", "partner_count"],
        no_db_index=["country", "region", "parent", "successor", "import_run"],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        # Only the indexes queries use, each once: an import of 200,000 towns maintains
        # every one of them (bench/NOTES.md). Searches match inside names (LIKE '%…%'),
        # which no B-tree serves, so no LIKE index; a foreign key that is nearly always
        # empty gets a partial index over the rows that have one.
        indexes = [
            models.Index(fields=["country", "name_folded"]),
            models.Index(fields=["name_folded"], name="municipality_name_folded"),
            models.Index(
                fields=["region"], name="municipality_region", condition=Q(region__isnull=False)
            ),
            models.Index(
                fields=["parent"], name="municipality_parent", condition=Q(parent__isnull=False)
            ),
            models.Index(
                fields=["successor"],
                name="municipality_successor",
                condition=Q(successor__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="municipality_unique_slug"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="municipality_latitude_range",
                violation_error_message=_("Latitude lies between -90 and 90."),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="municipality_longitude_range",
                violation_error_message=_("Longitude lies between -180 and 180."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="municipality_coordinates_together",
                violation_error_message=_("Give both latitude and longitude, or neither."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="municipality_not_own_parent",
                violation_error_message=_("A municipality cannot be part of itself."),
            ),
            models.CheckConstraint(
                condition=~Q(successor=F("id")),
                name="municipality_not_own_successor",
                violation_error_message=_("A municipality cannot merge into itself."),
            ),
            models.UniqueConstraint(
                fields=["wikidata_id"],
                condition=~Q(wikidata_id=""),
                name="municipality_unique_wikidata_id",
                violation_error_message=_("Another municipality has this Wikidata id."),
            ),
            models.UniqueConstraint(
                fields=["geonames_id"],
                condition=Q(geonames_id__isnull=False),
                name="municipality_unique_geonames_id",
                violation_error_message=_("Another municipality has this GeoNames id."),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_folded"}
        if update_fields is None and not self._state.adding and not kwargs.get("force_insert"):
            # The count is the registry's to keep: an instance read before a partnership
            # changed must not write its stale count back.
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "partner_count"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return quick_reverse("registry:municipality", self.slug)

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        super().clean()
        if self.wikidata_id:
            self.wikidata_id = self.wikidata_id.strip().upper()
            if not (self.wikidata_id[:1] == "Q" and self.wikidata_id[1:].isdigit()):
                raise ValidationError(
                    {"wikidata_id": _("A Wikidata id is Q followed by digits, e.g. Q365.")}
                )
        if self.region_id and self.country_id and self.region.country_id != self.country_id:
            raise ValidationError({"region": _("This region belongs to another country.")})
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A municipality cannot be part of itself.")})
        if self.pk and self.successor_id == self.pk:
            raise ValidationError({"successor": _("A municipality cannot merge into itself.")})


class AlternativeNameManager(models.Manager):
    def get_by_natural_key(self, municipality_slug, name):
        return self.get(municipality__slug=municipality_slug, name=name)


class AlternativeName(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        EXONYM = "exonym", _("name in another language")
        HISTORICAL = "historical", _("historical name")
        OFFICIAL = "official", _("other official name")
        VARIANT = "variant", _("spelling variant")

    municipality = models.ForeignKey(
        Municipality,
        models.CASCADE,
        related_name="alternative_names",
        verbose_name=_("municipality"),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.EXONYM)
    language = models.CharField(
        _("language"), max_length=10, blank=True, help_text=_("ISO 639-1 code, e.g. de.")
    )
    used_from = models.PositiveSmallIntegerField(_("used from (year)"), null=True, blank=True)
    used_until = models.PositiveSmallIntegerField(_("used until (year)"), null=True, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="alternative_names", verbose_name=_("sources")
    )
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)

    objects = AlternativeNameManager()
    history = HistoricalRecords(excluded_fields=["name_folded"])

    class Meta:
        ordering = ["municipality", "name"]
        verbose_name = _("alternative name")
        verbose_name_plural = _("alternative names")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "name"],
                name="alternative_name_unique_per_municipality",
                violation_error_message=_("This municipality already has that name."),
            ),
            models.CheckConstraint(
                condition=Q(used_until__isnull=True)
                | Q(used_from__isnull=True)
                | Q(used_until__gte=F("used_from")),
                name="alternative_name_years_in_order",
                violation_error_message=_("A name cannot go out of use before it came into use."),
            ),
        ]

    def __str__(self):
        if self.used_from or self.used_until:
            return f"{self.name} ({self.used_from or ''}–{self.used_until or ''})"
        return self.name

    def natural_key(self):
        return (*self.municipality.natural_key(), self.name)

    natural_key.dependencies = ["registry.municipality"]
