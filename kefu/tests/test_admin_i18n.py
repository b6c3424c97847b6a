"""The Django admin speaks Chinese to a Chinese admin: every list column has a translated header."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.utils import translation

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def _columns():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in ("auth", "contenttypes", "sessions"):
            continue
        for name in model_admin.get_list_display(None):
            if name == "__str__":
                continue
            yield model, model_admin, name


def test_every_admin_list_column_header_is_translated():
    untranslated = []
    with translation.override("zh-hans"):
        for model, model_admin, name in _columns():
            label = str(label_for_field(name, model, model_admin))
            if not CJK.search(label):
                untranslated.append(f"{model._meta.label}.{name}: {label!r}")
    assert not untranslated, "\n".join(untranslated)


def test_model_names_are_translated_in_the_admin():
    with translation.override("zh-hans"):
        missing = [
            model._meta.label
            for model in admin.site._registry
            if model._meta.app_label.startswith(
                (
                    "accounts",
                    "tickets",
                    "helpcenter",
                    "chat",
                    "trust",
                    "identity",
                    "mail",
                    "audit",
                    "wallet",
                    "bot",
                )
            )
            and not CJK.search(str(model._meta.verbose_name_plural))
        ]
    assert not missing, missing
