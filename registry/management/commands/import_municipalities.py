from registry.importing import TOWN_COLUMNS, TOWN_REQUIRED, import_municipalities
from registry.management.commands import import_partnerships


class Command(import_partnerships.Command):
    help = (
        "Import municipalities (with or without partners) from a UTF-8 CSV file with a header "
        f"row. Required columns: {', '.join(TOWN_REQUIRED)}; optional: "
        f"{', '.join(c for c in TOWN_COLUMNS if c not in TOWN_REQUIRED)}. kind is city "
        "(the default), municipality, borough, county or region; lat and lon are decimal "
        "degrees; source is a citation or URL. A town the registry has already (any of its "
        "names in the same country and, where the row gives one, region) is not created "
        "again. By default nothing is written if any row is bad."
    )

    offers_geocoding = False

    def run_import(self, data, *, geocode, **options):
        return import_municipalities(data, **options)
