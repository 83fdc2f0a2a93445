"""NCCI PTP rows keyed by ``(release, column1, column2, effective)``: no ``id``, no separate pair index (issue 18).

Django does not migrate a table to a composite primary key by itself, so the state change and the table change are
written apart. PostgreSQL: the ``id`` column and the pair index dropped, the key added (its index built once over the
rows). SQLite: the table made again with the key and the rows copied (SQLite cannot change a primary key in place).
Existing rows are kept; the parser refuses a repeated key within a file, so a loaded release has none.
"""

from django.db import migrations, models

TABLE = "codes_ptpedit"
COLUMNS = "release_id, column1, column2, prior_1996, effective, deleted, modifier_indicator, rationale"


def _remake(apps, schema_editor) -> None:
    """The table as the current state's model describes it, the rows copied over (both vendors, both ways)."""
    model = apps.get_model("codes", "PtpEdit")
    quote = schema_editor.quote_name
    schema_editor.execute(f"ALTER TABLE {quote(TABLE)} RENAME TO {quote(TABLE + '_old')}")
    if schema_editor.connection.vendor == "postgresql":  # the key's index keeps its name: free it for the new table
        schema_editor.execute(f"ALTER TABLE {TABLE}_old RENAME CONSTRAINT {TABLE}_pkey TO {TABLE}_old_pkey")
    schema_editor.execute("DROP INDEX IF EXISTS ptp_release_pair")  # the name is the new table's when going back
    schema_editor.create_model(model)
    schema_editor.execute(f"INSERT INTO {quote(TABLE)} ({COLUMNS}) SELECT {COLUMNS} FROM {quote(TABLE + '_old')}")  # noqa: S608
    schema_editor.execute(f"DROP TABLE {quote(TABLE + '_old')}")


def to_composite_key(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        _remake(apps, schema_editor)
        return
    schema_editor.execute("DROP INDEX IF EXISTS ptp_release_pair")
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN id")  # drops its primary key constraint with it
    schema_editor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (release_id, column1, column2, effective)")


class Migration(migrations.Migration):
    dependencies = [
        ("codes", "0004_zip_localities_addon_edits"),
    ]

    operations = [
        # Backwards only, run last: the table made again from the state with ``id`` and the pair index.
        migrations.RunPython(migrations.RunPython.noop, _remake),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="ptpedit", name="ptp_release_pair"),
                migrations.RemoveField(model_name="ptpedit", name="id"),
                migrations.AddField(
                    model_name="ptpedit",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "release",
                        "column1",
                        "column2",
                        "effective",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
        # Forwards only, with the state above (the composite key).
        migrations.RunPython(to_composite_key, migrations.RunPython.noop),
    ]
