"""A trigram index for the admin's paper title search (PostgreSQL only).

The admin searches titles with ``UPPER(title) LIKE UPPER('%words%')``; without this index that scans
every paper (seconds at a million). The index is not declared on the model because Django cannot
express it portably; SQLite (make demo) skips it. If the database user may not create the pg_trgm
extension, the migration logs a warning and carries on: search still works, only slower.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                "CREATE INDEX IF NOT EXISTS paper_title_trgm ON digest_paper USING gin (upper(title) gin_trgm_ops)"
            )
    except Exception as exc:  # no privilege to create the extension: search works, only slower
        logger.warning("paper title trigram index not created: %s", exc)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS paper_title_trgm")


class Migration(migrations.Migration):
    dependencies = [("digest", "0003_feedback_and_ranker")]

    operations = [migrations.RunPython(create_index, drop_index)]
