"""Partnerships and networks, their members and joint partners, themes and associations.

A partnership is symmetric: ``first`` and ``second`` are the two sides of a bilateral kind (for
an adoption, ``first`` is the sponsor and ``second`` the sponsored place). A multilateral network
has no sides; its members, and a side's joint partners (Köln's partner "Corinto/El Realejo" is
one partnership with two Nicaraguan municipalities), are :class:`Membership` rows.
"""

import zlib

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry.dates import PartialDateField, end_not_before_start, ends_before
from registry.models.display import QuickDisplay, localized, quick_reverse
from registry.models.imports import ImportRun
from registry.models.partnership_queries import PartnershipQuerySet
from registry.models.places import Country, Municipality
from registry.models.sources import Source
from registry.text import fold


class SlugManager(models.Manager):
    """Natural key by slug, for the small lookup tables."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Theme(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name_en = models.CharField(_("English name"), max_length=100)
    name_de = models.CharField(_("German name"), max_length=100)

    objects = SlugManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    @property
    def name(self):
        return localized(self, "name")


class Association(models.Model):
    """A partnership association or office (Partnerschaftsverein, twinning association)."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    municipality = models.ForeignKey(
        Municipality,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="associations",
        verbose_name=_("based in"),
    )
    website = models.URLField(_("website"), max_length=300, blank=True)
    founded = PartialDateField(_("founded"), null=True, blank=True)

    objects = SlugManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("partnership association")
        verbose_name_plural = _("partnership associations")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Partnership(QuickDisplay, models.Model):
    class Kind(models.TextChoices):
        OFFICIAL = "official", _("official twinning")
        FRIENDSHIP = "friendship", _("friendship")
        CONTACT = "contact", _("informal contact")
        PROJECT = "project", _("project-limited partnership")
        ADOPTION = "adoption", _("adoption or sponsorship")
        NETWORK = "network", _("multilateral network")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        DORMANT = "dormant", _("dormant")
        ENDED = "ended", _("ended")

    class Initiative(models.TextChoices):
        ADMINISTRATION = "administration", _("town administration")
        COUNCIL = "council", _("council")
        MAYOR = "mayor", _("mayor")
        ASSOCIATION = "association", _("association")
        CITIZENS = "citizens", _("citizens")
        SCHOOL = "school", _("school")
        CHURCH = "church", _("church")
        UNIVERSITY = "university", _("university")
        BUSINESS = "business", _("business")
        OCCUPATION = "occupation", _("occupying power")
        OTHER = "other", _("other")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.OFFICIAL)
    slug = models.SlugField(  # unique by a constraint in Meta, as Municipality.slug
        _("slug"),
        max_length=200,
        db_index=False,
        blank=True,
        help_text=_("Left empty, it is made from the partners' names."),
    )
    name = models.CharField(
        _("name"),
        max_length=200,
        blank=True,
        help_text=_(
            "Required for a network; for a bilateral partnership only where the partners' "
            "names do not say it, e.g. Köln – Corinto / El Realejo."
        ),
    )
    other_names = models.CharField(
        _("other names"),
        max_length=500,
        blank=True,
        help_text=_(
            "Other names a network is known by, separated by semicolons, e.g. Neue Hanse; "
            "the network list's search finds it by any of them."
        ),
    )
    first = models.ForeignKey(
        Municipality,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="partnerships_as_first",
        verbose_name=_("first partner (sponsor of an adoption)"),
    )
    first_name_at_signing = models.CharField(
        _("first partner's name at signing"), max_length=200, blank=True
    )
    first_country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: set only where the country changed
        related_name="+",
        verbose_name=_("first partner's country at signing"),
    )
    second = models.ForeignKey(
        Municipality,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="partnerships_as_second",
        verbose_name=_("second partner (sponsored side of an adoption)"),
    )
    second_name_at_signing = models.CharField(
        _("second partner's name at signing"), max_length=200, blank=True
    )
    second_country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: set only where the country changed
        related_name="+",
        verbose_name=_("second partner's country at signing"),
    )
    start = PartialDateField(_("start"), null=True, blank=True)
    end = PartialDateField(_("end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.ACTIVE)
    continues = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta
        related_name="continued_by",
        verbose_name=_("continues"),
        help_text=_("An earlier partnership this one carries on, e.g. after a merger."),
    )
    initiative = models.CharField(
        _("initiative from"), max_length=20, choices=Initiative, blank=True
    )
    themes = models.ManyToManyField(
        Theme, blank=True, related_name="partnerships", verbose_name=_("themes")
    )
    associations = models.ManyToManyField(
        Association,
        blank=True,
        related_name="partnerships",
        verbose_name=_("partnership associations"),
    )
    description = models.TextField(_("description"), blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="partnerships", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="partnerships",
        verbose_name=_("created by import"),
    )

    objects = PartnershipQuerySet.as_manager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(
        no_db_index=[
            "first",
            "first_country_at_signing",
            "second",
            "second_country_at_signing",
            "continues",
            "import_run",
        ]
    )

    class Meta:
        ordering = ["start", "slug"]
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        # As for Municipality: no LIKE index for the slug, partial indexes for the foreign
        # keys that are nearly always empty.
        indexes = [
            models.Index(fields=["kind", "status"]),
            # Not (start, slug), the whole order: that would spare SQLite sorting the ~10%
            # without a start by slug on a list's first page (53 ms at world scale), but cost
            # every import on PostgreSQL, where this one serves the order as well
            # (bench/NOTES.md).
            models.Index(fields=["start"]),
            models.Index(
                fields=["continues"],
                name="partnership_continues",
                condition=Q(continues__isnull=False),
            ),
            models.Index(
                fields=["first_country_at_signing"],
                name="partnership_first_then",
                condition=Q(first_country_at_signing__isnull=False),
            ),
            models.Index(
                fields=["second_country_at_signing"],
                name="partnership_second_then",
                condition=Q(second_country_at_signing__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="partnership_unique_slug"),
            models.CheckConstraint(
                condition=~Q(first=F("second")),
                name="partnership_not_with_itself",
                violation_error_message=_("A municipality cannot be partnered with itself."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="network", first__isnull=True, second__isnull=True)
                    | (~Q(kind="network") & Q(first__isnull=False, second__isnull=False))
                ),
                name="partnership_bilateral_has_two_sides",
                violation_error_message=_(
                    "A bilateral partnership has exactly two partners; "
                    "a network has members instead."
                ),
            ),
            models.UniqueConstraint(
                Least("first", "second"),
                Greatest("first", "second"),
                "kind",
                condition=Q(first__isnull=False, second__isnull=False),
                name="partnership_unique_pair_per_kind",
                violation_error_message=_(
                    "These two municipalities already have a partnership of this kind."
                ),
            ),
            models.CheckConstraint(
                condition=end_not_before_start("start", "end"),
                name="partnership_end_not_before_start",
                violation_error_message=_("The end cannot be before the start."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="network") | ~Q(name=""),
                name="partnership_network_has_name",
                violation_error_message=_("A network needs a name."),
            ),
        ]

    def __str__(self):
        if self.name or not (self.first_id and self.second_id):
            return self.name or self.slug
        return f"{self.first.name} – {self.second.name}"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self._free_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        if self.is_network:
            return quick_reverse("registry:network", self.slug)
        return quick_reverse("registry:partnership", self.pk)

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        super().clean()
        errors = {}
        if self.kind == self.Kind.NETWORK:
            if self.first_id or self.second_id:
                errors["first"] = _(
                    "A network has no sides: add its towns as members below instead."
                )
            if not self.name:
                errors["name"] = _("A network needs a name.")
        else:
            if not self.first_id:
                errors["first"] = _("A bilateral partnership needs a first partner.")
            if not self.second_id:
                errors["second"] = _("A bilateral partnership needs a second partner.")
            if self.first_id and self.first_id == self.second_id:
                errors["second"] = _("A municipality cannot be partnered with itself.")
        if self.start and self.end and ends_before(self.end, self.start):
            errors["end"] = _("The end cannot be before the start.")
        if errors:
            raise ValidationError(errors)
        duplicate = self.duplicate_pair()
        if duplicate is not None:
            raise ValidationError(
                {
                    "second": _(
                        "These two municipalities already have a partnership of this kind: "
                        "%(partnership)s."
                    )
                    % {"partnership": duplicate}
                }
            )

    def duplicate_pair(self):
        """Another partnership of the same kind between the same two towns, either way round."""
        if not (self.first_id and self.second_id):
            return None
        self._lock_pair()
        pair = Q(first_id=self.first_id, second_id=self.second_id) | Q(
            first_id=self.second_id, second_id=self.first_id
        )
        return (
            Partnership.objects.filter(pair, kind=self.kind)
            .exclude(pk=self.pk)
            .select_related("first", "second")
            .first()
        )

    def _lock_pair(self):
        """On PostgreSQL, hold a lock on this pair and kind until the transaction ends.

        Two staff creating the same pair at the same moment would otherwise both pass the
        duplicate check; with the lock, the second waits, then sees the first's row and gets
        the form's message instead of a database error. (SQLite lets one writer in at a time.)
        """
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            return
        low, high = sorted([self.first_id, self.second_id])
        key = zlib.crc32(f"partnership:{low}:{high}:{self.kind}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def _free_slug(self):
        if self.kind == self.Kind.NETWORK or not (self.first_id and self.second_id):
            base = slugify(fold(self.name)) or "network"
        else:
            base = f"{self.first.slug}--{self.second.slug}"
        base = base[:180]
        candidates = [base, f"{base}--{self.kind}"]
        for candidate in candidates:
            if not Partnership.objects.filter(slug=candidate).exclude(pk=self.pk).exists():
                return candidate
        number = 2
        while Partnership.objects.filter(slug=f"{base}--{number}").exists():
            number += 1
        return f"{base}--{number}"

    @property
    def is_network(self):
        return self.kind == self.Kind.NETWORK


class MembershipManager(models.Manager):
    def get_by_natural_key(self, partnership_slug, municipality_slug):
        return self.get(partnership__slug=partnership_slug, municipality__slug=municipality_slug)


class Membership(QuickDisplay, models.Model):
    """A member of a network, or a joint partner on one side of a bilateral partnership."""

    class Side(models.TextChoices):
        NONE = "", _("network member")
        FIRST = "first", _("joint partner on the first side")
        SECOND = "second", _("joint partner on the second side")

    partnership = models.ForeignKey(
        Partnership, models.CASCADE, related_name="memberships", verbose_name=_("partnership")
    )
    municipality = models.ForeignKey(
        Municipality, models.PROTECT, related_name="memberships", verbose_name=_("municipality")
    )
    side = models.CharField(_("side"), max_length=10, choices=Side, blank=True, default="")
    joined = PartialDateField(_("joined"), null=True, blank=True)
    left = PartialDateField(_("left"), null=True, blank=True)
    name_at_signing = models.CharField(_("name at joining"), max_length=200, blank=True)
    country_at_signing = models.ForeignKey(
        Country,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country at joining"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    sources = models.ManyToManyField(
        Source, blank=True, related_name="memberships", verbose_name=_("sources")
    )
    import_run = models.ForeignKey(
        ImportRun,
        models.SET_NULL,
        db_index=False,  # looked up only to undo the import: see ImportRun.revert
        null=True,
        blank=True,
        editable=False,
        related_name="memberships",
        verbose_name=_("created by import"),
    )

    objects = MembershipManager()
    # Its history is looked up by record only: no index on its relations, which an import's
    # first versions would fill for nothing (bench/NOTES.md, "History").
    history = HistoricalRecords(
        no_db_index=["partnership", "municipality", "country_at_signing", "import_run"]
    )

    class Meta:
        ordering = ["partnership", "joined", "municipality"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "municipality"],
                name="membership_once_per_partnership",
                violation_error_message=_("This municipality is already a member."),
            ),
            models.CheckConstraint(
                condition=end_not_before_start("joined", "left"),
                name="membership_left_not_before_joined",
                violation_error_message=_("A member cannot leave before it joined."),
            ),
        ]

    def __str__(self):
        return f"{self.municipality} ({self.partnership})"

    def natural_key(self):
        return (*self.partnership.natural_key(), *self.municipality.natural_key())

    natural_key.dependencies = ["registry.partnership", "registry.municipality"]

    def clean(self):
        super().clean()
        # On an add form the partnership is not saved yet: it is set, but has no id.
        if not (self.partnership_id or Membership.partnership.is_cached(self)):
            return
        partnership = self.partnership
        if partnership.is_network and self.side:
            raise ValidationError({"side": _("Members of a network have no side; leave it empty.")})
        if not partnership.is_network and not self.side:
            raise ValidationError({"side": _("Say which side this joint partner belongs to.")})
        if self.municipality_id and self.municipality_id in (
            partnership.first_id,
            partnership.second_id,
        ):
            raise ValidationError(
                {"municipality": _("This municipality is already one of the two partners.")}
            )
        if self.joined and self.left and ends_before(self.left, self.joined):
            raise ValidationError({"left": _("A member cannot leave before it joined.")})
