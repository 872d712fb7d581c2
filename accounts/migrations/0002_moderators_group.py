"""Create the ``moderators`` staff group so it exists right after ``migrate`` (see digest/services/roles.py)."""

from django.db import migrations


def create_moderators(apps, schema_editor):
    from digest.services.roles import moderators_group_sync

    moderators_group_sync(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("digest", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_moderators, migrations.RunPython.noop)]
