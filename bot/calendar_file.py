"""The iCalendar file of `--ics` (RFC 5545): one event per structure, on the day its technical
password expires, with reminders, for Outlook, Thunderbird or a calendar the intranet serves.

Its texts are in French whatever the interface's language: the calendar is shared by the
team, and the event's title is the one the admins asked for.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from loguru import logger

from bot.exports import Expiry, RunOutcome
from bot.i18n import _
from flows.models import PARIS

PRODID = "-//chorus-bot//Chorus Pro technical passwords//FR"
CALENDAR_NAME = "Chorus Pro : mots de passe techniques"
TZID = "Europe/Paris"
EVENT_LENGTH = timedelta(minutes=30)
# The UID names the structure only, not the expiry: after a reset the same event moves to the
# new date, and re-importing the file updates it instead of adding a second one.
_UID = re.compile(r"^chorus-bot-technical-password-(\d{14})@chorus-bot$")
# SEQUENCE must grow when an event changes for Outlook and Thunderbird to take the update on
# re-import. The expiry only moves forward (a reset), so minutes since this date do.
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def uid_for(siret: str) -> str:
    return f"chorus-bot-technical-password-{siret}@chorus-bot"


def summary_for(siret: str) -> str:
    return f"Chorus Pro : mot de passe technique {siret} expire"


def previous_events(path: Path) -> dict:
    """The events of the file as it is now, by SIRET; {} if there is none or it is unreadable."""
    if not path.exists():
        return {}
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(path.read_bytes())
    except Exception as error:  # a damaged file must not stop the new one from being written
        logger.warning(
            _("--ics {}: the previous file cannot be read ({}); replacing it"), path, error
        )
        return {}
    events = {}
    for event in calendar.walk("VEVENT"):
        match = _UID.match(str(event.get("UID", "")))
        if match:
            events[match.group(1)] = event
    return events


def render(
    outcome: RunOutcome, previous: dict, *, warn_days: int, now: datetime | None = None
) -> bytes:
    from icalendar import Calendar

    now = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", CALENDAR_NAME)
    calendar.add("x-wr-timezone", TZID)
    # For subscribed calendars (RFC 7986, and what Outlook reads): look again once a day.
    calendar.add("refresh-interval", timedelta(days=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "P1D")
    events = {siret: _event(expiry, warn_days, now) for siret, expiry in outcome.read.items()}
    for siret, event in previous.items():
        if outcome.keeps(siret):
            events[siret] = event
    starts: list[date] = []
    for siret in sorted(events):
        calendar.add_component(events[siret])
        starts.append(events[siret].decoded("DTSTART").date())
    if starts:
        calendar.subcomponents.insert(0, _vtimezone(min(starts), max(starts)))
    return calendar.to_ical()


# Europe/Paris as Outlook, Thunderbird and Google export it: the EU rule (since 1996) as two
# RRULEs, which every client reads. A list of dates (what icalendar derives from the tz
# database) is misread by some, e.g. ical.js past a change of offset.
_PARIS_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
X-LIC-LOCATION:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def _follows_eu_rule(year: int) -> bool:
    """Whether the tz database gives Paris the EU rule this year: summer time (+02:00) from
    01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October."""

    def last_sunday(month: int) -> datetime:
        day = datetime(year, month, 31, 1, tzinfo=UTC)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(PARIS).utcoffset()

    spring, autumn, second = last_sunday(3), last_sunday(10), timedelta(seconds=1)
    winter, summer = timedelta(hours=1), timedelta(hours=2)
    return (
        offset(datetime(year, 1, 15, tzinfo=UTC)) == winter
        and offset(spring - second) == winter
        and offset(spring) == summer
        and offset(datetime(year, 7, 15, tzinfo=UTC)) == summer
        and offset(autumn - second) == summer
        and offset(autumn) == winter
        and offset(datetime(year, 12, 15, tzinfo=UTC)) == winter
    )


def _vtimezone(first: date, last: date):
    from icalendar import Timezone

    if all(_follows_eu_rule(year) for year in range(first.year - 1, last.year + 2)):
        return Timezone.from_ical(_PARIS_VTIMEZONE)
    # The tz database no longer follows the EU rule over these years: describe each change of
    # offset it gives, one component each, the plainest form (no RRULE, no RDATE list).
    return Timezone.from_ical(_transitions_vtimezone(first.year - 1, last.year + 1))


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _transitions_vtimezone(first_year: int, last_year: int) -> str:
    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(PARIS).utcoffset() or timedelta(0)

    def component(moment: datetime, before: timedelta) -> list[str]:
        local = moment.astimezone(PARIS)
        kind = "DAYLIGHT" if local.dst() else "STANDARD"
        # DTSTART is the local time just before the change, read with TZOFFSETFROM.
        start = (moment.astimezone(UTC) + before).replace(tzinfo=None)
        return [
            f"BEGIN:{kind}",
            f"DTSTART:{start:%Y%m%dT%H%M%S}",
            f"TZNAME:{local.tzname()}",
            f"TZOFFSETFROM:{_offset_text(before)}",
            f"TZOFFSETTO:{_offset_text(local.utcoffset() or timedelta(0))}",
            f"END:{kind}",
        ]

    day = datetime(first_year, 1, 1, tzinfo=UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{TZID}", *component(day, offset(day))]
    while day.year <= last_year:
        after = day + timedelta(days=1)
        if offset(day) != offset(after):
            # Narrow down to the second at which the offset changes.
            low, high = day, after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) != offset(low) else (middle, high)
            lines += component(high, offset(low))
        day = after
    return "\r\n".join([*lines, "END:VTIMEZONE", ""])


def _event(expiry: Expiry, warn_days: int, now: datetime):
    from icalendar import Alarm, Event

    start = expiry.expires_at.astimezone(PARIS).replace(microsecond=0)
    summary = summary_for(expiry.siret)
    event = Event()
    event.add("uid", uid_for(expiry.siret))
    event.add("dtstamp", now.astimezone(UTC).replace(microsecond=0))
    event.add("sequence", max(0, int((start - _SEQUENCE_EPOCH).total_seconds() // 60)))
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: the time stays free
    event.add("categories", ["Chorus Pro"])
    event.add("description", _description(expiry, start))
    for days in sorted({warn_days, 1}, reverse=True):
        if days < 1:
            continue
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(days=-days))
        event.add_component(alarm)
    return event


def _description(expiry: Expiry, start: datetime) -> str:
    siret = expiry.siret
    return (
        f"Le mot de passe de l'utilisateur technique {expiry.login} de la structure {siret} "
        f"expire le {start:%d/%m/%Y} à {start:%H:%M} (heure de Paris).\n"
        "\n"
        "Pour le renouveler et ranger le nouveau dans le trousseau :\n"
        f"    chorus-bot reset --structure {siret}\n"
        "puis le donner au connecteur :\n"
        f"    chorus-bot secret show --structure {siret}\n"
        "\n"
        "Un `chorus-bot reset --all` planifié chaque mois le renouvelle de lui-même : si ce "
        "rappel sonne, il n'a pas encore eu lieu."
    )
