"""The agent view's hand-written <select> says what Django's own Select says."""

from __future__ import annotations

import re

import pytest
from django import forms

from kefu.tickets.forms import FastSelect, TicketUpdateForm

CHOICES = [
    ("", "(automatic)"),
    ("Heading <b>&", [(1, 'Deposit "not" credited'), (2, "提币 <script>")]),
    (3, "Other & more"),
]


def options(html: str) -> list[tuple[str, bool, str]]:
    found = re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', html)
    return [(value, "selected" in attrs, label) for value, attrs, label in found]


@pytest.mark.parametrize("value", ["", "2", 3, None])
def test_same_options_groups_and_escaping_as_djangos_select(value):
    ours = FastSelect(choices=CHOICES).render("category", value, attrs={"id": "id_category"})
    theirs = forms.Select(choices=CHOICES).render("category", value, attrs={"id": "id_category"})
    assert options(ours) == options(theirs)
    assert re.findall(r'<optgroup label="([^"]*)">', ours) == re.findall(
        r'<optgroup label="([^"]*)">', theirs
    )
    assert "<script>" not in ours and "&lt;script&gt;" in ours
    assert ours.startswith('<select name="category" id="id_category">')


@pytest.mark.django_db
def test_the_update_form_lists_the_category_tree_with_the_tickets_category_selected():
    from kefu.tickets.selectors import active_categories

    tree = active_categories()
    leaf = next(c for c in tree if c.parent_id)
    form = TicketUpdateForm(initial={"status": "open", "priority": 2, "category": leaf.pk})
    rendered = options(str(form["category"]))
    assert [int(v) for v, _, _ in rendered] == [c.pk for c in tree]
    assert [int(v) for v, selected, _ in rendered if selected] == [leaf.pk]
    bound = TicketUpdateForm(data={"status": "open", "priority": "2", "category": str(leaf.pk)})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["category"] == leaf


@pytest.mark.django_db
def test_an_admins_edit_of_the_tree_shows_at_once():
    from kefu.tickets.models import Category
    from kefu.tickets.selectors import active_categories

    parent = next(c for c in active_categories() if c.parent_id is None)
    added = Category.objects.create(
        slug="hardware-wallet", parent=parent, name_zh="硬件钱包", name_en="Hardware wallet"
    )
    assert added.pk in [c.pk for c in active_categories()]
    added.is_active = False
    added.save()
    assert added.pk not in [c.pk for c in active_categories()]
