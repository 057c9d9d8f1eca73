"""Rankings count participations from the partnerships they count (a common table
expression, ``registry.models.participations_sql``): the view ``registry_participation``
and its unmanaged model are gone. The view is dropped here (and first thing in 0007 to 0009,
for a database that an earlier version made, before they rebuild a table under it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_event_order_index"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP VIEW IF EXISTS registry_participation", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.DeleteModel(name="Participation"),
    ]
