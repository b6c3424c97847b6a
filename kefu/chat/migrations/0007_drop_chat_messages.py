"""The chat's messages are its case's now (0006): ChatMessage and the chat's own counter go."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_messages_into_cases"),
    ]

    operations = [
        migrations.DeleteModel(name="ChatMessage"),
        migrations.RemoveField(model_name="chatconversation", name="last_seq"),
    ]
