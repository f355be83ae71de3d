"""Which menu an auto attendant plays at an instant: a holiday's, the business-hours one or the
after-hours one, decided on the wall clock of the attendant's own IANA zone.

The decision is taken by the controller when the call arrives, not by the dialplan
(switch_xml.c, switch_xml_std_datetime_check): `wday`/`hour`/`time-of-day` read the switch's
clock unless the channel has a fixed `tod_tz_offset`/`tz-offset` (wrong for half of every year
in a zone with summer time) or a `timezone` name from the switch's timezones.conf.xml, and
`date-time` (holiday ranges) is compared in the switch's local time whatever `timezone` says
(switch_fulldate_cmp), so a switch in UTC answering for Berlin and New York would open an hour
early or late around each change, or keep a holiday an hour too long. Here an instant
(an aware datetime, any zone) is turned into the attendant's local date and time with zoneinfo,
which knows every transition; the switch's zone and the controller's never enter into it.

Wall-clock rules: "08:00-12:00" means from 08:00 up to (not including) 12:00 local time, every
day of that weekday, whatever the UTC offset that day. On the night clocks go back, the repeated
hour is inside an interval both times it happens; on the night they go forward, the skipped
times never happen (an interval "02:00-03:00" is then empty). A holiday covers whole local days.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")   # datetime.weekday() order

BUSINESS = "business_hours"
AFTER_HOURS = "after_hours"
HOLIDAY = "holiday"

_INTERVAL = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_interval(text: str) -> tuple[int, int]:
    """"08:00-12:30" -> (480, 750), minutes after local midnight, end excluded ("24:00" is the
    day's end). ValueError saying what is wrong."""
    m = _INTERVAL.fullmatch(text)
    if not m:
        raise ValueError(f'"{text}" is not a time range like "08:00-12:30"')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59:
        raise ValueError(f'"{text}": {h1:02d}:{m1:02d} is not a time of day')
    if h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f'"{text}": {h2:02d}:{m2:02d} is not a time of day (24:00 ends the day)')
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f'"{text}" ends before it starts (a range past midnight is written '
                         f'as two: "22:00-24:00" on one day, "00:00-02:00" on the next)')
    return start, end


def parse_days(text: str) -> tuple[dt.date, dt.date]:
    """"2026-12-24" or "2026-12-24..2026-12-26" -> (first, last), both included."""
    first, sep, last = text.partition("..")
    if not _DATE.fullmatch(first) or (sep and not _DATE.fullmatch(last)):
        raise ValueError(f'"{text}" is not a date "2026-12-24" or a range "2026-12-24..2026-12-26"')
    try:
        a = dt.date.fromisoformat(first)
        b = dt.date.fromisoformat(last) if sep else a
    except ValueError as e:
        raise ValueError(f'"{text}": {e}') from None
    if b < a:
        raise ValueError(f'"{text}" ends before it starts')
    return a, b


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; ValueError when the zone database does not know it."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f'"{name}" is not an IANA time zone name like "Europe/Berlin"')
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{name}" is not an IANA time zone name like "Europe/Berlin" '
                         f'(unknown to the zone database)') from None


@dataclass(frozen=True)
class Decision:
    """What applies at one instant: `kind` (BUSINESS, AFTER_HOURS or HOLIDAY), the menu to play,
    the holiday's name (HOLIDAY only) and the attendant's local time it was decided on."""

    kind: str
    menu: object
    local: dt.datetime
    holiday: str = ""


class Schedule:
    """An attendant's opening hours and holidays, parsed once (the config loader has already
    refused anything `parse_interval`/`parse_days` refuse)."""

    def __init__(self, attendant):
        self.attendant = attendant
        self.zone = zone(attendant.time_zone)
        self.hours: dict[int, tuple[tuple[int, int], ...]] = {
            i: tuple(sorted(parse_interval(t) for t in getattr(attendant.hours, day)))
            for i, day in enumerate(WEEKDAYS)}
        self.holidays = sorted((parse_days(h.date), n, h) for n, h in enumerate(attendant.holidays))

    def local(self, instant: dt.datetime) -> dt.datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("the schedule needs an aware datetime (a naive one names no instant)")
        return instant.astimezone(self.zone)

    def holiday_on(self, day: dt.date):
        """The first holiday (in config order) covering `day`, or None."""
        found = [(n, h) for (first, last), n, h in self.holidays if first <= day <= last]
        return min(found, key=lambda f: f[0])[1] if found else None

    def is_open(self, local: dt.datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.hours[local.weekday()])

    def decide(self, instant: dt.datetime) -> Decision:
        local = self.local(instant)
        holiday = self.holiday_on(local.date())
        a = self.attendant
        if holiday is not None:
            return Decision(HOLIDAY, holiday.menu or a.after_hours, local, holiday.name or holiday.date)
        if self.is_open(local):
            return Decision(BUSINESS, a.business_hours, local)
        return Decision(AFTER_HOURS, a.after_hours, local)
