# CsatSurvey moved here from kefu.chat (chat 0004 drops it from chat's state). The table
# chat_csatsurvey already exists with its rows, so this only adds the model to csat's state,
# and points the admin's content type (and so its permissions) at the new app.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import kefu.csat.models


def _move_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="csatsurvey").exists():
        ContentType.objects.filter(app_label=old, model="csatsurvey").update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="chat", new="csat")


def backwards(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="csat", new="chat")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_verbose_names"),
        ("chat", "0004_move_csatsurvey_to_csat"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tickets", "0004_split_bilingual_canned_titles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CsatSurvey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "token",
                            models.CharField(
                                default=kefu.csat.models.new_token, editable=False, max_length=64, unique=True
                            ),
                        ),
                        ("rating", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="rating")),
                        ("comment", models.TextField(blank=True, verbose_name="comment")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField()),
                        ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                        (
                            "agent",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="agent",
                            ),
                        ),
                        (
                            "conversation",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="survey",
                                to="chat.chatconversation",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="csat_surveys",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="accounts.team",
                                verbose_name="team",
                            ),
                        ),
                        (
                            "ticket",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tickets.ticket",
                                verbose_name="ticket",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "satisfaction survey",
                        "verbose_name_plural": "satisfaction surveys",
                        "db_table": "chat_csatsurvey",
                        "indexes": [models.Index(fields=["-answered_at"], name="chat_csat_answered")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
