# The satisfaction survey moved to its own app (kefu.csat). Only Django's model state moves:
# the table chat_csatsurvey and its rows stay where they are (csat's model names it).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_verbose_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CsatSurvey")],
            database_operations=[],
        ),
    ]
