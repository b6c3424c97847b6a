from django.db import migrations, models


class Migration(migrations.Migration):
    """An index of running clocks by deadline, for the agents' lists sorted by what is due."""

    dependencies = [
        ("sla", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="slatimer",
            index=models.Index(
                condition=models.Q(("met_at__isnull", True), ("stopped_at__isnull", True), ("due_at__isnull", False)),
                fields=["due_at", "id"],
                name="sla_timer_running",
            ),
        ),
    ]
