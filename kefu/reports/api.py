"""Report endpoints of the REST API (supervisors and admins). Thin: parse the period, call
:mod:`kefu.reports.metrics`."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Reply

from kefu.httptypes import AuthedRequest
from kefu.reports import metrics, rollups

router = Router(tags=["reports"])


class TicketsCreatedOut(Schema):
    total: int
    by_channel: dict[str, int] = Field(..., description="Counts keyed by channel name")
    by_category: dict[str, int] = Field(..., description="Counts keyed by category slug")


class FirstReplyOut(Schema):
    count: int = Field(..., description="Tickets of the period with a first reply")
    median: float | None
    p90: float | None


class SlaCountsOut(Schema):
    met: int
    breached: int


class SlaOut(SlaCountsOut):
    by_target: dict[str, SlaCountsOut]


class CsatOut(Schema):
    responses: int
    positive: int
    sent: int


class DefinitionOut(Schema):
    label: str
    definition: str


class SummaryOut(Schema):
    since: datetime
    until: datetime
    tickets_created: TicketsCreatedOut
    first_reply_seconds: FirstReplyOut
    sla: SlaOut
    csat: CsatOut
    definitions: dict[str, DefinitionOut] = Field(..., description="Each figure's meaning, translated")


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def _moment(text: str | None) -> datetime | None:
    """An ISO 8601 date-time (an offset, or the site's time zone when it has none) or date
    (its midnight in the site's time zone); raises ValueError for anything else."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            if day is None:
                raise ValueError(text)
            value = datetime.combine(day, time.min)
    except ValueError:
        raise ValueError(text) from None
    if not metrics.plausible(value):
        raise ValueError(text)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


@router.get(
    "/reports/summary",
    response={200: SummaryOut, 400: ErrorOut, 403: ErrorOut},
    summary="Volumes, first reply, SLA and CSAT for a period (supervisors and admins)",
)
def report_summary(
    request: AuthedRequest,
    since: str | None = Query(None, description="ISO 8601; default: 30 days before until"),
    until: str | None = Query(None, description="ISO 8601, exclusive; default: now"),
):
    if not request.user.is_supervisor:
        return Reply(403, {"detail": _("Only supervisors and administrators can see reports.")})
    errors: dict[str, list[str]] = {}
    moments: dict[str, datetime | None] = {}
    for name, text in (("since", since), ("until", until)):
        try:
            moments[name] = _moment(text)
        except ValueError:
            errors[name] = [_("Enter a date or date and time in ISO 8601, e.g. 2026-12-01T00:00:00+08:00.")]
    if errors:
        return Reply(400, {"detail": _("Invalid input."), "errors": errors})
    window = metrics.default_window(moments["until"] or timezone.now())
    if moments["since"] is not None:
        window = metrics.Window(since=moments["since"], until=window.until)
    if window.since >= window.until:
        return Reply(
            400, {"detail": _("Invalid input."), "errors": {"until": [_("The end must be after the start.")]}}
        )
    with rollups.memo():
        out: dict[str, Any] = {"since": window.since, "until": window.until, **metrics.summary(window)}
    out["definitions"] = metrics.definitions()
    return out
