"""Exporting partnerships in the format ``import_partnerships`` reads: ``export_partnerships``."""

from registry.importing.partnerships import COLUMNS

# Each side's country is the one it lies in today: the columns of the country today (for a
# row naming a former state) stay out.
EXPORTED = [name for name in COLUMNS if not name.startswith("country_today_")]


def export_rows(partnerships):
    """The CSV rows of ``import_partnerships`` for bilateral partnerships, header first."""
    yield EXPORTED
    for partnership in partnerships:
        source = next(iter(partnership.sources.all()), None)
        a, b = partnership.first, partnership.second
        yield [
            a.name,
            a.country.code,
            b.name,
            b.country.code,
            partnership.kind,
            partnership.start or "",
            partnership.end or "",
            partnership.status,
            a.region.name if a.region else "",
            b.region.name if b.region else "",
            a.latitude if a.latitude is not None else "",
            a.longitude if a.longitude is not None else "",
            b.latitude if b.latitude is not None else "",
            b.longitude if b.longitude is not None else "",
            (source.url or source.citation) if source else "",
        ]
