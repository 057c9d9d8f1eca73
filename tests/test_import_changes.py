"""import_changes: dated changes of a partnership's kind or status, through the import path."""

import io

import pytest
from conftest import municipality, network, partnership
from django.contrib import messages
from django.core.management import CommandError, call_command
from pages import page, rows

from registry.models import ImportRun, KindChange, Municipality, Partnership, StatusChange

pytestmark = pytest.mark.django_db

HEADER = (
    "date,kind,status,partnership,municipality_a,country_a,municipality_b,country_b,"
    "partnership_kind,source"
)
CHANGELIST = "/admin/registry/importrun/"


@pytest.fixture
def record():
    koeln, lille, liege = (
        municipality("Köln"),
        municipality("Lille", "FR"),
        municipality("Liège", "BE"),
    )
    twinning = partnership(koeln, lille, start="1958", slug="koeln-lille")
    friendship = partnership(koeln, lille, kind=Partnership.Kind.FRIENDSHIP, slug="koeln-lille-f")
    liege_twinning = partnership(liege, koeln, start="1960", slug="liege-koeln")
    hanse = network("Neue Hanse", koeln, liege, slug="neue-hanse")
    return koeln, lille, liege, twinning, friendship, liege_twinning, hanse


def write(tmp_path, text):
    path = tmp_path / "changes.csv"
    path.write_bytes(text.encode())
    return path


def run(path, *options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_changes", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def changes():
    """Every dated change: partnership, kind or status, date, source."""
    kinds = KindChange.objects.values_list("partnership__slug", "kind", "date", "sources__url")
    statuses = StatusChange.objects.values_list(
        "partnership__slug", "status", "date", "sources__url"
    )
    return sorted([*kinds, *statuses], key=lambda change: (change[0], change[2], change[1]))


def test_changes_of_kind_and_status_by_slug_or_by_the_two_towns(tmp_path, record):
    out, err = run(
        write(
            tmp_path,
            f"{HEADER}\n"
            "1958,friendship,,,Lille,France,Köln,Germany,official,https://example.org/a\n"
            "1975-06,Sister city,,,koln,DE,Lille,FR,official,\n"
            "1965,,dormant,liege-koeln,,,,,,\n"
            "1990,,Aktiv,,Liège,BE,Köln,DE,,\n"
            "2001,,ended,neue-hanse,,,,,,\n",
        )
    )
    assert changes() == [
        ("koeln-lille", "friendship", "1958", "https://example.org/a"),
        ("koeln-lille", "official", "1975-06", None),
        ("liege-koeln", "dormant", "1965", None),
        ("liege-koeln", "active", "1990", None),
        ("neue-hanse", "ended", "2001", None),
    ]
    run_ = ImportRun.objects.get()
    assert (run_.changes_created, run_.rows_read, run_.partnerships_created, len(run_.sha256)) == (
        5,
        5,
        0,
        64,
    )
    assert KindChange.objects.filter(import_run=run_).count() == 2
    assert StatusChange.objects.filter(import_run=run_).count() == 3
    # Today's kind, status and counts are as they were.
    assert list(Partnership.objects.order_by("slug").values_list("slug", "kind", "status")) == [
        ("koeln-lille", "official", "active"),
        ("koeln-lille-f", "friendship", "active"),
        ("liege-koeln", "official", "active"),
        ("neue-hanse", "network", "active"),
    ]
    assert Municipality.objects.get(name="Köln").partner_count == 2
    assert (out, err) == (
        "Imported:\n"
        "  rows read                  5\n"
        "  rows rejected              0\n"
        "  changes of kind created    2\n"
        "  changes of status created  3\n"
        "  duplicates merged          0\n"
        "  already in the registry    0\n"
        f"Imported as run {run_.pk}.\n",
        "",
    )


def test_a_change_listed_twice_or_already_there_is_created_once(tmp_path, record):
    *_, twinning, friendship, liege_twinning, hanse = record
    KindChange.objects.create(partnership=twinning, kind="friendship", date="1958")
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "1958,friendship,,koeln-lille,,,,,,\n"
        "1965,,dormant,liege-koeln,,,,,,\n"
        "1965,,Ruht,,Köln,DE,Liège,BE,,https://example.org/b\n",
    )
    run(path)
    assert changes() == [
        ("koeln-lille", "friendship", "1958", None),
        ("liege-koeln", "dormant", "1965", "https://example.org/b"),
    ]
    assert ImportRun.objects.values_list(
        "changes_created", "duplicates_merged", "already_present"
    ).get() == (1, 1, 1)
    run(path)  # again: nothing new
    assert len(changes()) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "1970,,dormant,,Köln,DE,Lille,FR,,",
            "line 3, partnership_kind: 'Köln' and 'Lille' have 2 partnerships; "
            "give partnership_kind to choose one",
        ),
        (
            "1970,,dormant,,Lille,FR,Liège,BE,,",
            "line 3, municipality_b: 'Lille' and 'Liège' have no partnership in the registry",
        ),
        (
            "1970,,dormant,,Köln,DE,Liège,BE,friendship,",
            "line 3, municipality_b: 'Köln' and 'Liège' have no partnership of kind friendship "
            "in the registry",
        ),
        (
            "1970,,dormant,,Bonn,DE,Lille,FR,,",
            "line 3, municipality_a: 'Bonn' is not a municipality of Germany in the registry",
        ),
        (
            "1970,,dormant,,Köln,DE,,,,",
            "line 3, municipality_b: give the partnership's other municipality, or its slug",
        ),
        (
            "1970,,dormant,,,,,,,",
            "line 3, partnership: give the partnership's slug or its two municipalities",
        ),
        (
            "1970,,dormant,no-such-slug,,,,,,",
            "line 3, partnership: no partnership or network has the slug 'no-such-slug'",
        ),
        (
            "1970,,dormant,koeln-lille,Köln,DE,,,,",
            "line 3, partnership: give the partnership or the municipalities, not both",
        ),
        (
            "1970,official,,neue-hanse,,,,,,",
            "line 3, kind: 'neue-hanse' is a network: its kind does not change",
        ),
        (
            "1970,official,dormant,koeln-lille,,,,,,",
            "line 3, status: give the kind or the status, not both: one change per row",
        ),
        ("1970,,,koeln-lille,,,,,,", "line 3, kind: give the kind or the status it changed to"),
        ("1970,parade,,koeln-lille,,,,,,", "line 3, kind: 'parade' is not one of"),
        ("1970,network,,koeln-lille,,,,,,", "line 3, kind: 'network' is not one of"),
        ("1970,,asleep,koeln-lille,,,,,,", "line 3, status: 'asleep' is not one of"),
        ("3000,,dormant,koeln-lille,,,,,,", "line 3, date: 3000 lies too far in the future"),
        (",,dormant,koeln-lille,,,,,,", "line 3, date: is empty"),
        (
            "1970,,dormant,,Köln,Narnia,Lille,FR,,",
            "line 3, country_a: 'Narnia' is not a country we know",
        ),
        (
            "1970,,dormant,,Köln,DE,Köln,Germany,,",
            "line 3, municipality_b: 'Köln' is the same town as 'Köln'",
        ),
        (
            "1970,,dorm\x00ant,koeln-lille,,,,,,",
            "line 3, status: contains a control character (such as NUL)",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(tmp_path, record, row, message):
    before = changes(), ImportRun.objects.count()
    path = write(tmp_path, f"{HEADER}\n1980,,dormant,liege-koeln,,,,,,\n{row}\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_changes", str(path), stdout=io.StringIO(), stderr=err)
    assert str(refused.value) == (
        "1 bad row(s); nothing was imported. Correct them, or use --skip-invalid to import "
        "the good rows."
    )
    assert err.getvalue().startswith(f"{path}: {message}")
    assert err.getvalue().count("\n") == 1
    assert (changes(), ImportRun.objects.count()) == before


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("date,partnership", "line 1: missing required column(s): kind or status."),
        ("kind,partnership", "line 1: missing required column(s): date."),
    ],
)
def test_missing_columns_refuse_the_file(tmp_path, record, header, message):
    path = write(tmp_path, f"{header}\n1970,koeln-lille\n")
    with pytest.raises(CommandError) as refused:
        run(path)
    assert str(refused.value) == f"{path}: {message} Nothing was imported."


def test_dry_run_writes_nothing(tmp_path, record):
    out, _ = run(write(tmp_path, f"{HEADER}\n1965,,dormant,liege-koeln,,,,,,\n"), "--dry-run")
    assert (changes(), ImportRun.objects.count()) == ([], 0)
    assert out.splitlines()[0] == "Checked (nothing written):"
    assert "  changes of status created  1" in out.splitlines()
    assert out.splitlines()[-1] == "Dry run: nothing was written."


def test_skip_invalid_writes_the_good_rows(tmp_path, record):
    path = write(tmp_path, f"{HEADER}\n1965,,dormant,liege-koeln,,,,,,\n1966,,dormant,nope,,,,,,\n")
    out, err = run(path, "--skip-invalid")
    assert err == f"{path}: line 3, partnership: no partnership or network has the slug 'nope'\n"
    assert changes() == [("liege-koeln", "dormant", "1965", None)]
    assert ImportRun.objects.values_list("rows_read", "rows_rejected").get() == (2, 1)


def test_reverting_the_run_in_the_admin_deletes_its_changes_only(
    client, superuser, tmp_path, record
):
    *_, twinning, friendship, liege_twinning, hanse = record
    KindChange.objects.create(partnership=twinning, kind="friendship", date="1958")
    run(
        write(
            tmp_path,
            f"{HEADER}\n1975,official,,koeln-lille,,,,,,\n1965,,dormant,liege-koeln,,,,,,\n",
        )
    )
    assert len(changes()) == 3
    client.force_login(superuser)
    run_ = ImportRun.objects.get()
    response = client.post(
        CHANGELIST,
        {"action": "revert_import", "post": "yes", "_selected_action": [str(run_.pk)]},
        follow=True,
    )
    assert [(m.level, m.message) for m in response.context["messages"]] == [
        (
            messages.SUCCESS,
            f"Reverted “{run_}”: 1 change of kind and 1 change of status deleted.",
        )
    ]
    assert changes() == [("koeln-lille", "friendship", "1958", None)]
    assert Partnership.objects.count() == 4


def test_the_ranking_of_a_past_year_reads_imported_changes(client, tmp_path, record):
    def ranking(year):
        response = client.get(f"/rankings/?on={year}")
        assert response.status_code == 200
        return rows(response, "ranking")

    assert ranking(1970)[:1] == [["1", "Köln", "Germany", "2"]]
    run(
        write(
            tmp_path,
            f"{HEADER}\n"
            "1958,friendship,,,Köln,DE,Lille,FR,official,\n"
            "1975,official,,koeln-lille,,,,,,\n"
            "1965,,dormant,liege-koeln,,,,,,\n"
            "1972,,active,liege-koeln,,,,,,\n",
        )
    )
    response = client.get("/rankings/?on=1970")
    assert "ranking" not in page(response).tables
    assert "<p>No municipality has partners under this rule.</p>" in response.content.decode()
    assert ranking(1973) == [["1", "Köln", "Germany", "1"], ["1", "Liège", "Belgium", "1"]]
    assert ranking(1980)[:1] == [["1", "Köln", "Germany", "2"]]
