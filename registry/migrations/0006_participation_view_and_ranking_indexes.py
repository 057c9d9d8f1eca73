"""The participations that rankings count over, and the indexes the ranking plans use.

``Participation`` read the view ``registry_participation``, which was not made here but by a
hook after every ``migrate`` in the versions of this migration's time; migrations 0007 to 0009
and 0011 drop it where such a database still has it. See bench/NOTES.md for the plans behind
the indexes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_import_run_reverted"),
    ]

    operations = [
        migrations.CreateModel(
            name="Participation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("domestic", models.BooleanField(editable=False, null=True)),
            ],
            options={
                "verbose_name": "participation",
                "verbose_name_plural": "participations",
                "db_table": "registry_participation",
                "managed": False,
            },
        ),
        migrations.AddIndex(
            model_name="kindchange",
            index=models.Index(fields=["partnership", "-date", "id"], name="kind_change_latest"),
        ),
        migrations.AddIndex(
            model_name="statuschange",
            index=models.Index(fields=["partnership", "-date", "id"], name="status_change_latest"),
        ),
    ]
