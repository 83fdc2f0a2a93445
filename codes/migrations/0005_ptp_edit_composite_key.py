"""NCCI PTP rows keyed by ``(release, column1, column2, effective)``: no ``id``, no separate pair index (issue 18).

Django does not migrate a table to a composite primary key by itself, so the state change and the table change are
written apart: the table is made again with the key and the rows copied. On PostgreSQL it is partitioned by release
(``PARTITION BY LIST (release_id)``, the key includes it): the loader COPYs a release's rows into a table of their
own with no index, builds its key in one pass and attaches it (``codes.loading.bulk_insert``), as fast as a bare
load, where a plain table keeps its index up row by row through the COPY.
Existing rows are kept; the parser refuses a repeated key within a file, so a loaded release has none.
"""

from django.db import migrations, models

TABLE = "codes_ptpedit"
COLUMNS = "release_id, column1, column2, prior_1996, effective, deleted, modifier_indicator, rationale"


def _remake(apps, schema_editor, *, partitioned: bool = False) -> None:
    """The table as the current state's model describes it, the rows copied over (both vendors, both ways).
    ``partitioned`` (PostgreSQL): partitioned by release, one partition per release already loaded."""
    model = apps.get_model("codes", "PtpEdit")
    quote = schema_editor.quote_name
    old = TABLE + "_old"
    schema_editor.execute(f"ALTER TABLE {quote(TABLE)} RENAME TO {quote(old)}")
    if schema_editor.connection.vendor == "postgresql":  # the key's index keeps its name: free it for the new table
        schema_editor.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {TABLE}_pkey TO {old}_pkey")
    schema_editor.execute("DROP INDEX IF EXISTS ptp_release_pair")  # the name is the new table's when going back
    if partitioned:
        sql, params = schema_editor.table_sql(model)
        schema_editor.execute(f"{sql} PARTITION BY LIST (release_id)", params or None)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT release_id FROM {quote(old)}")  # noqa: S608
            releases = [int(row[0]) for row in cursor.fetchall()]
        for release_id in releases:
            schema_editor.execute(
                f"CREATE TABLE {quote(f'{TABLE}_r{release_id}')} PARTITION OF {quote(TABLE)} FOR VALUES IN ({release_id})"
            )
    else:
        schema_editor.create_model(model)
    schema_editor.execute(f"INSERT INTO {quote(TABLE)} ({COLUMNS}) SELECT {COLUMNS} FROM {quote(old)}")  # noqa: S608
    schema_editor.execute(f"DROP TABLE {quote(old)}")  # with its partitions, going back


def to_composite_key(apps, schema_editor) -> None:
    _remake(apps, schema_editor, partitioned=schema_editor.connection.vendor == "postgresql")


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
