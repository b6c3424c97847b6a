"""The phone line's hours are its voice inbox's calendar (kefu.phone answers by it): the service
calendars of the phone channel are removed, so no second, unused set of phone hours can be
edited or shown. Their business calendars (``phone-default`` from 0008) stay, for an admin to
choose on the voice inbox."""

from django.db import migrations, models


def drop_phone_rows(apps, schema_editor):
    apps.get_model("chat", "ServiceCalendar").objects.filter(channel="phone").delete()


class Migration(migrations.Migration):
    dependencies = [("chat", "0009_drop_own_hours")]

    operations = [
        migrations.RunPython(drop_phone_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="servicecalendar",
            name="channel",
            field=models.CharField(choices=[("chat", "Online chat")], max_length=10, verbose_name="channel"),
        ),
    ]
