"""Split canned-reply titles written as "中文 / English" into the Chinese and English titles.

Only titles of exactly that shape (Chinese before the slash, no Chinese after it) are split, so
a title that merely contains a slash stays as it is. Reversing joins them again.
"""

import re

from django.db import migrations

CJK = re.compile(r"[\u3400-\u9fff]")


def split_titles(apps, schema_editor):
    CannedReply = apps.get_model("tickets", "CannedReply")
    for reply in CannedReply.objects.filter(title__contains=" / ", title_en=""):
        chinese, _, english = reply.title.partition(" / ")
        if CJK.search(chinese) and english.strip() and not CJK.search(english):
            reply.title, reply.title_en = chinese.strip(), english.strip()
            reply.save(update_fields=["title", "title_en"])


def join_titles(apps, schema_editor):
    CannedReply = apps.get_model("tickets", "CannedReply")
    for reply in CannedReply.objects.exclude(title_en=""):
        reply.title = f"{reply.title} / {reply.title_en}"[:120]
        reply.title_en = ""
        reply.save(update_fields=["title", "title_en"])


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_cannedreply_title_en")]

    operations = [migrations.RunPython(split_titles, join_titles)]
