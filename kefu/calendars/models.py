"""Business calendars: when the support desk works, in which time zone, on which days.

One calendar model for every clock that follows working hours: SLA targets, live-chat hours
(``kefu.chat.models.ServiceCalendar`` names a team's calendar per channel) and the phone line
(the voice inbox's calendar). A calendar's day is decided in this order:

1. ``always_open``: every minute of every day (a true 24/7: no gap at midnight).
2. An admin's :class:`CalendarOverride` for that date: closed, open with the usual working
   hours, or its own hours.
3. The official holidays chosen for the calendar: a holiday closes, a make-up working day
   (调休) opens with the usual working hours.
4. The weekly :class:`CalendarHours` of that weekday (several ranges: a lunch break).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.calendars import official

DEFAULT_CALENDAR = "default"


class HolidaySet(models.TextChoices):
    NONE = official.NONE, _("None")
    CN_MAINLAND = official.CN_MAINLAND, _("Mainland China (holidays and make-up working days)")
    REGIONAL = "regional", _("Another country or region (the holidays package)")


class BusinessCalendar(models.Model):
    name = models.SlugField(_("name"), unique=True, help_text=_("Used by `kefu sla due --calendar`."))
    title = models.CharField(_("title"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    always_open = models.BooleanField(
        _("open 24/7"), default=False, help_text=_("Every minute of every day, holidays included.")
    )
    holiday_set = models.CharField(
        _("official holidays"), max_length=16, choices=HolidaySet.choices, default=HolidaySet.CN_MAINLAND
    )
    holiday_country = models.CharField(
        _("country"),
        max_length=8,
        blank=True,
        help_text=_("ISO code, e.g. DE, for another region's holidays."),
    )
    holiday_subdivision = models.CharField(_("subdivision"), max_length=16, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title or self.name

    def clean(self) -> None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": _("Unknown time zone.")}) from None
        if self.holiday_set == HolidaySet.REGIONAL and not official.regional_is_known(
            self.holiday_country, self.holiday_subdivision
        ):
            raise ValidationError({"holiday_country": _("The holidays package does not know this region.")})


class CalendarHours(models.Model):
    """Open ``opens_at``–``closes_at`` on ``weekday`` (0 = Monday), local wall-clock time.

    ``closes_at`` 00:00 is midnight at the end of the day; a ``closes_at`` before
    ``opens_at`` runs overnight into the next day.
    """

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["weekday", "opens_at"]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class OverrideKind(models.TextChoices):
    CLOSED = "closed", _("Closed")
    OPEN = "open", _("Open with the usual working hours")
    CUSTOM = "custom", _("Open with these hours")


class CalendarOverride(models.Model):
    """An admin's exception for one date; wins over the official holidays and the week."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField(_("date"))
    kind = models.CharField(
        _("kind"), max_length=8, choices=OverrideKind.choices, default=OverrideKind.CLOSED
    )
    hours = models.CharField(
        _("hours"), max_length=200, blank=True, help_text=_("For custom hours, e.g. 09:00-12:00, 13:00-17:00")
    )
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("Shown to customers, e.g. the holiday's name.")
    )
    note_en = models.CharField(_("note (English)"), max_length=200, blank=True)
    # Live chat and the phone line tell customers that fewer agents work that day (waits are
    # longer), open or not: a 24/7 chat on National Day.
    reduced_staff = models.BooleanField(_("reduced staff"), default=False)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_override_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"

    def clean(self) -> None:
        from kefu.calendars.arithmetic import parse_hours

        if self.kind == OverrideKind.CUSTOM:
            try:
                if not parse_hours(self.hours):
                    raise ValueError
            except ValueError:
                raise ValidationError(
                    {"hours": _("Write ranges such as 09:00-12:00, 13:00-17:00.")}
                ) from None
