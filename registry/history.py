"""First versions written in bulk: the history rows of records that were written without one.

django-simple-history writes a version on every ``save()`` and ``delete()``, but not for
records written in bulk: fixtures (``loaddata`` saves them raw), the countries and themes of
the migrations, and the rows an import copies in. :func:`write_versions` gives those their
version in one ``INSERT ... SELECT`` per model, the values read by the database from the
records themselves: no model instances, no rows through Python, the same statement on
PostgreSQL and SQLite. It takes the models as arguments (a migration passes its own), so this
module imports none.
"""

from django.db import connections
from django.utils import timezone

# The columns of a history table that are not a copy of the record's.
HISTORY_COLUMNS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
}


def write_versions(
    model,
    history_model,
    *,
    reason,
    user_id=None,
    history_type="+",
    where="",
    params=(),
    only_without_history=False,
    using="default",
):
    """Write a version (``history_type``, ``reason``, ``user_id``, now) of each record of
    ``model`` that ``where`` (SQL on the record's table, aliased ``record``, with ``params``)
    selects; with ``only_without_history``, only of those that have no version yet. Returns
    how many were written.

    The record's tracked columns are named as in its history table (simple_history keeps the
    names), so the history table's columns say what to copy.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    opts, history = model._meta, history_model._meta
    copied = [f.column for f in history.concrete_fields if f.name not in HISTORY_COLUMNS]
    reason_field = history.get_field("history_change_reason")
    now = history.get_field("history_date").get_db_prep_save(timezone.now(), connection)
    columns = ", ".join(quote(column) for column in copied)
    values = ", ".join(f"record.{quote(column)}" for column in copied)
    conditions = [f"({where})"] if where else []
    if only_without_history:
        pk = quote(opts.pk.column)
        conditions.append(
            f"NOT EXISTS (SELECT 1 FROM {quote(history.db_table)} AS version "  # noqa: S608 (model names)  # nosec B608
            f"WHERE version.{pk} = record.{pk})"
        )
    sql = (
        f"INSERT INTO {quote(history.db_table)} ({columns}, history_date, "  # noqa: S608 (model names)  # nosec B608
        f"history_change_reason, history_type, history_user_id) "
        f"SELECT {values}, %s, %s, %s, %s FROM {quote(opts.db_table)} AS record"
        + (" WHERE " + " AND ".join(conditions) if conditions else "")
    )
    reason = str(reason)[: reason_field.max_length]
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, reason, history_type, user_id, *params])
        return cursor.rowcount


def historied_models(app_config):
    """The models of ``app_config`` that keep a history, each with its history model."""
    models = {model._meta.model_name: model for model in app_config.get_models()}
    return [
        (model, models[f"historical{name}"])
        for name, model in models.items()
        if f"historical{name}" in models
    ]
