"""Admins manage WhatsApp templates here: name and language as registered with Meta, the body
with its {{1}} parameters, and the review status (only approved ones reach the composer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from kefu.whatsapp.models import Template

if TYPE_CHECKING:
    _AdminTemplate = admin.ModelAdmin[Template]
else:
    _AdminTemplate = admin.ModelAdmin


@admin.register(Template)
class TemplateAdmin(_AdminTemplate):
    list_display = ["name", "language", "category", "status", "updated_at"]
    list_filter = ["status", "category", "language"]
    search_fields = ["name", "body"]
