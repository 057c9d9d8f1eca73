"""Who may do what in the admin: the matrix of every kind of user x every admin page of every
registered model, the record it is tried on and what each request sends (tests/test_permissions.py
and tests/test_audit.py)."""

from admin_pages import form_data

# The admin saves no partnership without a source: those the matrix opens carry one.
from conftest import a_source, country, database_state, municipality, staff_user
from conftest import sourced_partnership as partnership
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.test import Client
from django.utils import timezone

from registry.models import (
    AlternativeName,
    Association,
    CorrectionReport,
    Event,
    ImportRun,
    KindChange,
    Membership,
    Merge,
    Region,
    ReviewFlag,
    Source,
    StatusChange,
    Theme,
)

PAGES = ["index", "app", "changelist", "add", "change", "delete", "history", "revert"]


LOGIN = "302 login"


OK = "200"


DENIED = "403"


NOT_FOUND = "404"


ADDED = "302 added"


CHANGED = "302 changed"


DELETED = "302 deleted"


NONE = None  # the page does not exist for this model (no history to revert to)


# The rows of the matrix: for GET, then for POST, one cell per page in PAGES.
#            index app        changelist add     change   delete   history revert
EVERYWHERE_LOGIN = (
    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
)


NO_PERMISSION = (
    (OK, NOT_FOUND, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED),
    (OK, NOT_FOUND, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED),
)


VIEW = (
    (OK, OK, OK, DENIED, OK, DENIED, OK, OK),
    (OK, OK, OK, DENIED, DENIED, DENIED, OK, DENIED),
)


# Editors are offered the delete action, which refuses (a message, the list again) what they
# did not enter themselves within the day: here, the target.
VIEW_ADD_CHANGE_DELETE_OWN = (
    (OK, OK, OK, OK, OK, DENIED, OK, OK),
    (OK, OK, "302", ADDED, CHANGED, DENIED, OK, CHANGED),
)


EVERYTHING = (
    (OK, OK, OK, OK, OK, OK, OK, OK),
    (OK, OK, DELETED, ADDED, CHANGED, DELETED, OK, CHANGED),
)


# Models without a history of their own (auth's, import runs): no revert page.
EVERYWHERE_LOGIN_NO_HISTORY = (
    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, NONE),
    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, NONE),
)


NO_PERMISSION_NO_HISTORY = (
    (OK, NOT_FOUND, DENIED, DENIED, DENIED, DENIED, DENIED, NONE),
    (OK, NOT_FOUND, DENIED, DENIED, DENIED, DENIED, DENIED, NONE),
)


EVERYTHING_NO_HISTORY = (
    (OK, OK, OK, OK, OK, OK, OK, NONE),
    (OK, OK, DELETED, ADDED, CHANGED, DELETED, OK, NONE),
)


# Import runs are written by the import command only; the changelist's action reverts one.
VIEW_IMPORT_RUNS = (
    (OK, OK, OK, DENIED, OK, DENIED, OK, NONE),
    (OK, OK, OK, DENIED, DENIED, DENIED, OK, NONE),
)


REVERT_IMPORT_RUNS = (
    (OK, OK, OK, DENIED, OK, DENIED, OK, NONE),
    (OK, OK, CHANGED, DENIED, DENIED, DENIED, OK, NONE),
)


# Review flags are made on the flagged record's page ("Flag for review"), not by an add form;
# Reviewers see them, Editors also resolve them (the changelist has their action, and answers
# the delete action, which is not theirs, with "No action selected" and the list again).
VIEW_FLAGS = VIEW_IMPORT_RUNS


RESOLVE_FLAGS = (
    (OK, OK, OK, DENIED, OK, DENIED, OK, NONE),
    (OK, OK, "302", DENIED, CHANGED, DENIED, OK, NONE),
)


EVERYTHING_BUT_ADDING_FLAGS = (
    (OK, OK, OK, DENIED, OK, OK, OK, NONE),
    (OK, OK, DELETED, DENIED, CHANGED, DELETED, OK, NONE),
)


# Corrections are reported on the public site, not added in the admin; Reviewers see them,
# Editors set their status and note (the changelist offers them no action).
HANDLE_CORRECTIONS = (
    (OK, OK, OK, DENIED, OK, DENIED, OK, NONE),
    (OK, OK, OK, DENIED, CHANGED, DENIED, OK, NONE),
)


USERS = ["anonymous", "non-staff with every permission", "staff", "reviewer", "editor", "superuser"]


def registry_model(*, editors=VIEW_ADD_CHANGE_DELETE_OWN):
    return {
        "anonymous": EVERYWHERE_LOGIN,
        "non-staff with every permission": EVERYWHERE_LOGIN,
        "staff": NO_PERMISSION,
        "reviewer": VIEW,
        "editor": editors,
        "superuser": EVERYTHING,
    }


AUTH_MODEL = {
    "anonymous": EVERYWHERE_LOGIN_NO_HISTORY,
    "non-staff with every permission": EVERYWHERE_LOGIN_NO_HISTORY,
    "staff": NO_PERMISSION_NO_HISTORY,
    "reviewer": NO_PERMISSION_NO_HISTORY,
    "editor": NO_PERMISSION_NO_HISTORY,
    "superuser": EVERYTHING_NO_HISTORY,
}


MATRIX = {
    "auth.Group": AUTH_MODEL,
    "auth.User": AUTH_MODEL,
    "registry.AlternativeName": registry_model(),
    "registry.Association": registry_model(),
    "registry.CorrectionReport": {
        "anonymous": EVERYWHERE_LOGIN_NO_HISTORY,
        "non-staff with every permission": EVERYWHERE_LOGIN_NO_HISTORY,
        "staff": NO_PERMISSION_NO_HISTORY,
        "reviewer": VIEW_FLAGS,
        "editor": HANDLE_CORRECTIONS,
        "superuser": EVERYTHING_BUT_ADDING_FLAGS,
    },
    "registry.Country": registry_model(),
    "registry.Event": registry_model(),
    "registry.ImportRun": {
        "anonymous": EVERYWHERE_LOGIN_NO_HISTORY,
        "non-staff with every permission": EVERYWHERE_LOGIN_NO_HISTORY,
        "staff": NO_PERMISSION_NO_HISTORY,
        "reviewer": VIEW_IMPORT_RUNS,
        "editor": VIEW_IMPORT_RUNS,
        "superuser": REVERT_IMPORT_RUNS,
    },
    "registry.KindChange": registry_model(),
    "registry.Membership": registry_model(),
    # Merges are made by the municipalities' action and undone by their own button: the
    # admin's pages only show them.
    "registry.Merge": {
        "anonymous": EVERYWHERE_LOGIN_NO_HISTORY,
        "non-staff with every permission": EVERYWHERE_LOGIN_NO_HISTORY,
        "staff": NO_PERMISSION_NO_HISTORY,
        "reviewer": VIEW_IMPORT_RUNS,
        "editor": VIEW_IMPORT_RUNS,
        "superuser": VIEW_IMPORT_RUNS,
    },
    "registry.Municipality": registry_model(),
    "registry.Partnership": registry_model(),
    "registry.Region": registry_model(),
    "registry.ReviewFlag": {
        "anonymous": EVERYWHERE_LOGIN_NO_HISTORY,
        "non-staff with every permission": EVERYWHERE_LOGIN_NO_HISTORY,
        "staff": NO_PERMISSION_NO_HISTORY,
        "reviewer": VIEW_FLAGS,
        "editor": RESOLVE_FLAGS,
        "superuser": EVERYTHING_BUT_ADDING_FLAGS,
    },
    "registry.Source": registry_model(),
    "registry.StatusChange": registry_model(),
    "registry.Theme": registry_model(),
}


# A text field of each model: edited once through the ORM (the version to revert to), and
# again in the change form.
TEXT_FIELD = {
    "auth.Group": "name",
    "auth.User": "first_name",
    "registry.AlternativeName": "language",
    "registry.Association": "name",
    "registry.CorrectionReport": "staff_note",
    "registry.Country": "name_de",
    "registry.Event": "description",
    "registry.ImportRun": "file_name",
    "registry.KindChange": "note",
    "registry.Membership": "note",
    "registry.Merge": "merged_name",
    "registry.Municipality": "seeking_description",
    "registry.Partnership": "description",
    "registry.Region": "code",
    "registry.ReviewFlag": "comment",
    "registry.Source": "note",
    "registry.StatusChange": "note",
    "registry.Theme": "name_de",
}


def make_record():
    """The targets by model label, and the other objects the add forms need."""
    germany = country("DE")
    region = Region.objects.create(country=germany, name="Nordrhein-Westfalen")
    koeln = municipality("Köln", slug="koeln", region=region)
    liverpool = municipality("Liverpool", "GB", slug="liverpool")
    bonn = municipality("Bonn", slug="bonn")
    link = partnership(koeln, liverpool, start="1952")
    run = ImportRun.objects.create(file_name="partners.csv", sha256="0" * 64)
    dublin = municipality("Dublin", "IE", slug="dublin", import_run=run)
    partnership(liverpool, dublin, start="1997", import_run=run)
    targets = {
        "auth.Group": Group.objects.create(name="Translators"),
        "auth.User": User.objects.create_user("someone"),
        "registry.AlternativeName": AlternativeName.objects.create(
            municipality=koeln, name="Cologne", language="en"
        ),
        "registry.Association": Association.objects.create(
            slug="koeln-liverpool", name="Partnerschaftsverein", municipality=koeln
        ),
        "registry.CorrectionReport": CorrectionReport.objects.create(
            municipality=koeln, text="Founded in 1953", language="en"
        ),
        "registry.Country": country("LU"),
        "registry.Event": Event.objects.create(
            kind=Event.Kind.SIGNING, title="Signing", date="1952", partnership=link
        ),
        "registry.ImportRun": run,
        "registry.KindChange": KindChange.objects.create(
            partnership=link, kind="official", date="1952"
        ),
        "registry.Membership": Membership.objects.create(
            partnership=link, municipality=municipality("Birkenhead", "GB"), side="second"
        ),
        "registry.Merge": Merge.objects.create(
            created=timezone.now(), into=koeln, into_name="Köln", merged_name="Coeln", merged_pk=0
        ),
        "registry.Municipality": bonn,
        "registry.Partnership": link,
        "registry.Region": region,
        "registry.ReviewFlag": ReviewFlag.objects.create(record=link, comment="Still in force?"),
        "registry.Source": Source.objects.create(key="koeln", citation="Stadt Köln"),
        "registry.StatusChange": StatusChange.objects.create(
            partnership=link, status="active", date="1952"
        ),
        "registry.Theme": Theme.objects.get(slug="development"),
    }
    for label, target in targets.items():
        if hasattr(target, "history") and not target.history.exists():
            target.save()  # made by a migration: its first version
        setattr(target, TEXT_FIELD[label], "v2")
        target.save()
    others = {"germany": germany, "koeln": koeln, "bonn": bonn, "link": link}
    return targets, others


def add_values(label, others):
    """What a valid add form for ``label`` holds."""
    return {
        "auth.Group": {"name": "Proofreaders"},
        "auth.User": {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
        },
        "registry.AlternativeName": {
            "municipality": others["koeln"].pk,
            "name": "Colonia",
            "kind": "exonym",
        },
        "registry.Association": {"slug": "verein", "name": "Verein"},
        "registry.CorrectionReport": {},
        "registry.Country": {"code": "XA", "name_en": "Atlantis", "name_de": "Atlantis"},
        "registry.Event": {
            "kind": "visit",
            "title": "Visit",
            "date": "1951",
            "partnership": others["link"].pk,
        },
        "registry.ImportRun": {"file_name": "forged.csv", "sha256": "1" * 64},
        "registry.KindChange": {
            "partnership": others["link"].pk,
            "kind": "friendship",
            "date": "1950",
        },
        "registry.Membership": {
            "partnership": others["link"].pk,
            "municipality": others["bonn"].pk,
            "side": "first",
        },
        "registry.Merge": {"merged_name": "Forged", "into_name": "Köln", "merged_pk": 1},
        "registry.Municipality": {
            "name": "Neustadt",
            "slug": "neustadt",
            "kind": "city",
            "country": others["germany"].pk,
        },
        "registry.Partnership": {
            "kind": "official",
            "status": "active",
            "first": others["koeln"].pk,
            "second": others["bonn"].pk,
            "sources": a_source().pk,
        },
        "registry.Region": {"country": others["germany"].pk, "name": "Hessen"},
        "registry.ReviewFlag": {"comment": "Check the date"},
        "registry.Source": {"key": "new-source", "citation": "A new source"},
        "registry.StatusChange": {
            "partnership": others["link"].pk,
            "status": "dormant",
            "date": "2000",
        },
        "registry.Theme": {"slug": "tourism", "name_en": "Tourism", "name_de": "Tourismus"},
    }[label]


def urls(target):
    opts = target._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    pages = {
        "index": "/admin/",
        "app": f"/admin/{opts.app_label}/",
        "changelist": base,
        "add": f"{base}add/",
        "change": f"{base}{target.pk}/change/",
        "delete": f"{base}{target.pk}/delete/",
        "history": f"{base}{target.pk}/history/",
        "revert": None,
    }
    if hasattr(target, "history"):
        version = target.history.earliest().history_id
        pages["revert"] = f"{base}{target.pk}/history/{version}/"
    return pages


def payloads(label, target, others, pages):
    """What each POST sends: what would succeed for a superuser, where anything would."""
    admin_client = Client()
    admin_client.force_login(User.objects.get(username="boss"))
    no_add_form = (
        "registry.ImportRun",
        "registry.Merge",
        "registry.ReviewFlag",
        "registry.CorrectionReport",
    )
    add = form_data(admin_client.get(pages["add"])) if label not in no_add_form else {}
    add.update({name: str(value) for name, value in add_values(label, others).items()})
    change = form_data(admin_client.get(pages["change"]))
    if label == "auth.User":  # a split date and time, which form_data sends whole
        joined = target.date_joined.astimezone()
        del change["date_joined"]
        change.update(
            {"date_joined_0": f"{joined:%Y-%m-%d}", "date_joined_1": f"{joined:%H:%M:%S}"}
        )
    change[TEXT_FIELD[label]] = "v3"
    action = "revert_import" if label == "registry.ImportRun" else "delete_selected"
    return {
        "index": {},
        "app": {},
        "changelist": {"action": action, "_selected_action": [str(target.pk)], "post": "yes"},
        "add": add,
        "change": change,
        "delete": {"post": "yes"},
        "history": {},
        "revert": form_data(admin_client.get(pages["revert"])) if pages["revert"] else None,
    }


def make_user(who):
    if who == "anonymous":
        return None
    if who == "superuser":
        return User.objects.get(username="boss")
    if who == "non-staff with every permission":
        user = User.objects.create_user("outsider", password="a-long-test-password")
        user.user_permissions.set(Permission.objects.all())
        return user
    group = {"reviewer": "Reviewers", "editor": "Editors"}.get(who)
    return staff_user(who, group=group)


CSRF_FAILURE = "CSRF verification failed. Request aborted."


def outcome(client, method, url, data, target, before):
    """The cell: the status; "login" for a redirect to the login page, "csrf" for a CSRF
    failure; and what the request did: "added" a row of the model, "deleted" the target, or
    "changed" anything else. Nothing at all changed in a cell that names no effect."""
    model = type(target)
    with transaction.atomic():
        response = getattr(client, method)(url, data)
        after = database_state()
        if after == before:
            effect = ""
        elif len(after[model._meta.label]) > len(before[model._meta.label]):
            effect = "added"
        elif not model._base_manager.filter(pk=target.pk).exists():
            effect = "deleted"
        else:
            effect = "changed"
        transaction.set_rollback(True)
    cell = [str(response.status_code)]
    if response.status_code == 302 and response["Location"] == f"/admin/login/?next={url}":
        cell.append("login")
    if response.status_code == 403 and CSRF_FAILURE in response.content.decode():
        cell.append("csrf")
    if effect:
        cell.append(effect)
    return " ".join(cell)
