"""Review flags: a record flagged for review with a comment, open until an Editor resolves it.

The groups get their permissions on the new model as on every model of the registry, after
``migrate`` (``registry.signals.grant_group_permissions``: Editors view, add and change;
Reviewers view and add flags).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("registry", "0014_network_other_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewFlag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("object_id", models.CharField(max_length=64, verbose_name="record's key")),
                ("comment", models.TextField(verbose_name="comment")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "open"), ("resolved", "resolved")],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="flagged at"
                    ),
                ),
                (
                    "resolved_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="resolved at"
                    ),
                ),
                (
                    "content_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="type of record",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="flagged by",
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="resolved by",
                    ),
                ),
            ],
            options={
                "verbose_name": "review flag",
                "verbose_name_plural": "review flags",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(fields=["content_type", "object_id"], name="reviewflag_record")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["open", "resolved"])),
                        name="reviewflag_status_valid",
                    )
                ],
            },
        ),
    ]
