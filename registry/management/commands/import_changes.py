from registry.importing import CHANGE_COLUMNS, CHANGE_REQUIRED, import_changes
from registry.management.commands import import_partnerships


class Command(import_partnerships.Command):
    help = (
        "Import dated changes of the kind or status of the partnerships the registry has, "
        "from a UTF-8 CSV file with a header row. Required columns: "
        f"{', '.join(CHANGE_REQUIRED)} and one of kind, status in each row; optional: "
        f"{', '.join(c for c in CHANGE_COLUMNS if c not in (*CHANGE_REQUIRED, 'kind', 'status'))}. "
        "A row's partnership is the one with the slug in 'partnership', else the one between "
        "municipality_a and municipality_b (either way round; partnership_kind chooses where "
        "they have several). A change the registry has already is not created again. By "
        "default nothing is written if any row is bad."
    )
    offers_geocoding = False

    def run_import(self, data, *, geocode, **options):
        return import_changes(data, **options)
