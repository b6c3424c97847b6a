"""The report pages (supervisors and admins): the summary (``/reports/``) and one page per
report family (``/reports/<family>/``, tabs), sharing one filter form (dates, team, channel,
category, agent). Thin: parse the filters into a :class:`~kefu.reports.metrics.Window`, read
:mod:`kefu.reports.metrics`, shape labels and links.

A family page needs no code here: register the family and its metrics in ``metrics.py``
(see its docstring: the result contract), and this module draws every panel generically —
a chart (ECharts, shipped as a static file, no CDN) and a table under it with each figure's
definition on hover, drill-down links from counts to the tickets behind them (the agents'
workspace list with the same filters), and the CSV/Excel exports of every table
(``/reports/<family>/export.csv`` and ``.xlsx``, same filters).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kefu.accounts.models import Team, User
from kefu.durations import format_duration
from kefu.httptypes import user_or_none
from kefu.reports import metrics, rollups
from kefu.sla.models import TimerKind
from kefu.tickets.models import Category, Channel


def _day(text: str | None) -> date | None:
    try:
        day = parse_date(text or "")
    except ValueError:
        return None
    return day if day is not None and metrics.plausible(day) else None


def _period(request: HttpRequest) -> tuple[date, date, str]:
    """The form's first and last day (both inclusive, site time zone) and an error, if any."""
    today = timezone.localdate()
    first, last = today - timedelta(days=metrics.DEFAULT_DAYS - 1), today
    error = ""
    given_first, given_last = _day(request.GET.get("since")), _day(request.GET.get("until"))
    if (request.GET.get("since") and given_first is None) or (
        request.GET.get("until") and given_last is None
    ):
        error = _("Enter dates as YYYY-MM-DD.")
    elif given_first or given_last:
        first, last = given_first or first, given_last or last
        if first > last:
            error = _("The end must be after the start.")
            first, last = today - timedelta(days=metrics.DEFAULT_DAYS - 1), today
    return first, last, error


@dataclass
class Filters:
    """The shared filter form, parsed: the period and the optional filters (unknown values are
    ignored, never an error page)."""

    first: date
    last: date
    error: str
    team: Team | None
    channel: str | None
    category: Category | None
    agent: User | None

    def window(self) -> metrics.Window:
        return metrics.Window(
            since=timezone.make_aware(datetime.combine(self.first, time.min)),
            until=timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min)),
            team=self.team.pk if self.team else None,
            channel=self.channel,
            category=self.category.slug if self.category else None,
            agent=self.agent.pk if self.agent else None,
        )

    def params(self) -> dict[str, str]:
        """The query string that reproduces these filters (exports, tabs)."""
        params = {"since": self.first.isoformat(), "until": self.last.isoformat()}
        if self.team:
            params["team"] = self.team.slug
        if self.channel:
            params["channel"] = self.channel
        if self.category:
            params["category"] = self.category.slug
        if self.agent:
            params["agent"] = str(self.agent.public_id)
        return params


def _filters(request: HttpRequest) -> Filters:
    first, last, error = _period(request)
    team = Team.objects.filter(slug=(request.GET.get("team") or "")[:50]).first()
    channel = request.GET.get("channel") or None
    if channel not in Channel.values:
        channel = None
    category = Category.objects.filter(slug=(request.GET.get("category") or "")[:50]).first()
    agent = None
    if agent_id := (request.GET.get("agent") or "").strip():
        try:
            agent = User.objects.filter(public_id=agent_id[:36], role__in=_staff_roles()).first()
        except Exception:  # not a UUID: no agent filter
            agent = None
    return Filters(first, last, error, team, channel, category, agent)


def _staff_roles() -> list[str]:
    from kefu.accounts.models import Role

    return [Role.AGENT, Role.SUPERVISOR, Role.ADMIN]


def _form_context(request: HttpRequest, filters: Filters, current: str) -> dict[str, Any]:
    language = get_language() or "en"
    query = urlencode(filters.params())
    tabs = [{"key": "", "label": _("Summary"), "url": reverse("reports:summary") + "?" + query}]
    tabs += [
        {"key": f.key, "label": str(f.label), "url": reverse("reports:family", args=[f.key]) + "?" + query}
        for f in metrics.FAMILIES.values()
    ]
    return {
        "tabs": tabs,
        "current": current,
        "filters": filters,
        "first": filters.first,
        "last": filters.last,
        "error": filters.error,
        "team_options": [(t.slug, t.localized_name(language)) for t in Team.objects.all()],
        "channel_options": list(Channel.choices),
        "category_options": [
            (c.slug, c.localized_name(language))
            for c in Category.objects.filter(is_active=True).order_by("slug")
        ],
        "agent_options": [
            (str(u.public_id), u.get_full_name() or u.email)
            for u in User.objects.filter(role__in=_staff_roles(), is_active=True).order_by("email")[:500]
        ],
        "query": query,
    }


def _labels(values: dict[str, int], names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": key, "name": names.get(key, key), "value": count} for key, count in values.items()]


def _supervisor(request: HttpRequest) -> None:
    user = user_or_none(request)
    if user is None or not user.is_supervisor:
        raise Http404


@login_required
def summary_page(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    filters = _filters(request)
    window = filters.window()
    with rollups.memo():
        figures = metrics.summary(window)
    language = get_language()
    created = figures["tickets_created"]
    categories = {
        c.slug: c.localized_name(language)
        for c in Category.objects.filter(slug__in=list(created["by_category"]))
    }
    channels = {value: str(label) for value, label in Channel.choices}
    targets = {value: str(label) for value, label in TimerKind.choices}
    definitions = metrics.definitions()
    reply = figures["first_reply_seconds"]
    csat = figures["csat"]
    cards = [
        {"key": "tickets_created", "value": created["total"], "detail": ""},
        {
            "key": "first_reply_seconds",
            "value": format_duration(reply["median"]),
            "detail": _("median; 90th percentile {p90}; {count} tickets").format(
                p90=format_duration(reply["p90"]), count=reply["count"]
            ),
        },
        {
            "key": "sla",
            "value": _("{met} met / {breached} breached").format(**figures["sla"]),
            "detail": "",
        },
        {
            "key": "csat",
            "value": _("{positive} of {responses} positive").format(**csat),
            "detail": _("{sent} surveys sent").format(sent=csat["sent"]),
        },
    ]
    for card in cards:
        card.update(definitions[card["key"]], ignored=_ignored(metrics.METRICS[card["key"]], window))
    charts = {
        "by_channel": _labels(created["by_channel"], channels),
        "by_category": _labels(created["by_category"], categories),
        "sla": [
            {"name": targets.get(kind, kind), "met": counts["met"], "breached": counts["breached"]}
            for kind, counts in figures["sla"]["by_target"].items()
        ],
        "labels": {"tickets": _("Tickets"), "met": _("Met"), "breached": _("Breached")},
    }
    return render(
        request,
        "reports/summary.html",
        {
            **_form_context(request, filters, ""),
            "cards": cards,
            "charts": charts,
            "definitions": definitions,
        },
    )


# --- family pages -------------------------------------------------------------------------------


class _Drill:
    """Builds the link from a count to the tickets behind it: the agents' workspace list
    (``report=1``: counted tickets only, any status) with the page's filters and period,
    narrowed by the row's ``drill`` parameters."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.base = reverse("tickets:workspace")
        self._teams = dict(Team.objects.values_list("pk", "slug"))
        self._agents: dict[int, str] = {}

    def _agent(self, pk: int) -> str:
        if not self._agents:  # every staff member's public id, in one query
            rows = User.objects.filter(role__in=_staff_roles()).values_list("pk", "public_id")
            self._agents = {user_pk: str(public_id) for user_pk, public_id in rows}
        if pk not in self._agents:
            public_id = User.objects.filter(pk=pk).values_list("public_id", flat=True).first()
            self._agents[pk] = str(public_id) if public_id else ""
        return self._agents[pk]

    def url(self, drill: dict[str, Any] | None) -> str:
        if drill is None:
            return ""
        f = self.filters
        params: dict[str, str] = {"report": "1", "status": "any"}
        if "status" in drill:  # a figure of now (the backlog): no period
            params["status"] = drill["status"]
        else:
            params["created_from"], params["created_to"] = f.first.isoformat(), f.last.isoformat()
        if f.team:
            params["team"] = f.team.slug
        if f.channel:
            params["channel"] = f.channel
        if f.category:
            params["category"] = f.category.slug
        if f.agent:
            params["assignee"] = str(f.agent.public_id)
        for key, value in drill.items():
            if key == "day":
                params["created_from"] = params["created_to"] = str(value)
            elif key == "channel" and value:
                params["channel"] = str(value)
            elif key == "category" and value:
                params["category"] = str(value)
            elif key == "team":
                if value is None:
                    return ""  # the list has no "no team" filter
                params["team"] = self._teams.get(value, "")
            elif key == "agent":
                params["assignee"] = self._agent(value) if value is not None else "none"
            elif key in ("sla", "sla_target") and value:
                params[key] = str(value)
        return self.base + "?" + urlencode(params)


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "seconds":
        return format_duration(value)
    if unit == "percent":
        return f"{value:g} %"
    return str(value)


def _ignored(entry: metrics.Metric, window: metrics.Window) -> str:
    """The chosen filters a figure does not honour, named in the active language ("" if none)."""
    names = {"team": _("team"), "channel": _("channel"), "category": _("category"), "agent": _("agent")}
    return ", ".join(str(names[n]) for n in sorted(window.active_filters() - entry.filters))


def _panel(
    entry: metrics.Metric, result: dict[str, Any], window: metrics.Window, drill: _Drill
) -> dict[str, Any]:
    columns = result["columns"]
    rows = []
    for row in result["rows"]:
        base = row.get("drill")
        rows.append(
            [
                {
                    "text": _cell(row.get(c["key"]), c["unit"]),
                    "num": bool(c["unit"]),
                    "url": drill.url({**base, **c.get("narrow", {})})
                    if c["drill"] and base is not None
                    else "",
                }
                for c in columns
            ]
        )
    # The chart: the first column names the points, every numeric column is a series (seconds
    # drawn in minutes).
    series = [
        {
            "name": c["label"],
            "unit": c["unit"],
            "data": [
                None
                if row.get(c["key"]) is None
                else round(row[c["key"]] / 60, 1)
                if c["unit"] == "seconds"
                else row[c["key"]]
                for row in result["rows"]
            ],
        }
        for c in columns[1:]
        if c["unit"]
    ]
    return {
        "key": entry.key,
        "label": str(entry.label),
        "definition": str(entry.definition),
        "columns": columns,
        "rows": rows,
        "note": result.get("note", ""),
        "ignored": _ignored(entry, window),
        "chart": {
            "id": f"chart-{entry.key}",
            "kind": result["chart"],
            "x": [str(row.get(columns[0]["key"], "")) for row in result["rows"]],
            "series": series,
            "marks": result.get("marks", []),
        }
        if result["chart"] and result["rows"]
        else None,
    }


def _family_or_404(key: str) -> metrics.Family:
    if key not in metrics.FAMILIES:
        raise Http404
    return metrics.FAMILIES[key]


def _compute(key: str, window: metrics.Window) -> list[tuple[metrics.Metric, dict[str, Any]]]:
    with rollups.memo():
        return [(entry, entry.compute(window)) for entry in metrics.panels(key)]


@login_required
def family_page(request: HttpRequest, key: str) -> HttpResponse:
    _supervisor(request)
    chosen = _family_or_404(key)
    filters = _filters(request)
    window = filters.window()
    drill = _Drill(filters)
    panels = [_panel(entry, result, window, drill) for entry, result in _compute(key, window)]
    charts = {
        "panels": [p["chart"] for p in panels if p["chart"]],
        "labels": {"minutes": _("minutes"), "percent": "%"},
    }
    return render(
        request,
        "reports/family.html",
        {**_form_context(request, filters, key), "family": chosen, "panels": panels, "charts": charts},
    )


# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A table value for an export: numbers stay numbers; text that a spreadsheet would read as
    a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


def _export_tables(key: str, window: metrics.Window) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, headers, rows) of every panel of a family; seconds stay seconds (numbers)."""
    out = []
    for entry, result in _compute(key, window):
        headers = [
            _("{label} (seconds)").format(label=c["label"])
            if c["unit"] == "seconds"
            else _("{label} (%)").format(label=c["label"])
            if c["unit"] == "percent"
            else c["label"]
            for c in result["columns"]
        ]
        rows = [[safe_cell(row.get(c["key"])) for c in result["columns"]] for row in result["rows"]]
        out.append((str(entry.label), [safe_cell(h) for h in headers], rows))
    return out


@login_required
def family_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    _supervisor(request)
    _family_or_404(key)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    filters = _filters(request)
    tables = _export_tables(key, filters.window())
    name = f"kefu-{key}-{filters.first.isoformat()}-{filters.last.isoformat()}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for title, headers, rows in tables:
            writer.writerow([safe_cell(title)])
            writer.writerow(headers)
            writer.writerows(rows)
            writer.writerow([])
        # A BOM so that spreadsheet programs read the Chinese labels as UTF-8.
        response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook  # type: ignore[import-untyped]

        book = Workbook()
        book.remove(book.active)
        for index, (title, headers, rows) in enumerate(tables):
            # Sheet names: at most 31 characters, none of []:*?/\
            clean = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or str(index + 1)
            sheet = book.create_sheet(clean if clean not in book.sheetnames else f"{clean[:25]} {index + 1}")
            sheet.append(headers)
            for row in rows:
                sheet.append(row)
        buffer_bytes = io.BytesIO()
        book.save(buffer_bytes)
        response = HttpResponse(
            buffer_bytes.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
