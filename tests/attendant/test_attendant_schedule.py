"""The schedule (fscontrol.attendant.schedule) against a reference evaluator written here
directly on zoneinfo, for every 15 minutes of 2026 (both DST changes in Berlin and New York),
holidays and ranges included, with the process's own zone set to a third one (as a switch or
controller in another zone would be): the two must agree on every instant."""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest

from fscontrol.attendant.schedule import AFTER_HOURS, BUSINESS, HOLIDAY, Schedule
from fscontrol.config.model import Attendant, AttendantHoliday, AttendantMenu, BusinessHours

UTC = dt.timezone.utc
HOLIDAY_MENU = AttendantMenu(greeting="tone_stream://%(100,0,300)")


def attendant(zone, **hours):
    week = {"mon": ("08:00-12:00", "13:00-17:30"), "tue": ("08:00-12:00", "13:00-17:30"),
            "wed": ("07:15-19:45",), "thu": ("00:00-01:30", "08:00-17:30"),
            "fri": ("08:00-16:00", "22:00-24:00"), "sat": ("10:00-12:00",),
            # Sunday 02:00-03:00 is skipped by the spring change and repeated by the autumn one
            "sun": ("01:45-03:15",)}
    week.update(hours)
    return Attendant(
        number="8000", time_zone=zone, hours=BusinessHours(**week),
        holidays=(AttendantHoliday("2026-01-01", "New Year"),
                  AttendantHoliday("2026-03-31..2026-04-02", "Spring", HOLIDAY_MENU),
                  AttendantHoliday("2026-10-24..2026-10-26", "Over the autumn change"),
                  AttendantHoliday("2026-11-28..2026-12-01", "Month end"),
                  AttendantHoliday("2026-12-24..2026-12-26", "Christmas", HOLIDAY_MENU)),
        business_hours=AttendantMenu(greeting="open"), after_hours=AttendantMenu(greeting="closed"))


def reference(att, instant: dt.datetime) -> tuple[str, str]:
    """(kind, greeting) computed from the raw config strings: the UTC instant to the zone's wall
    clock with ZoneInfo.fromutc, the local date against each holiday's dates, the wall time
    against each "HH:MM-HH:MM" of that weekday."""
    zone = ZoneInfo(att.time_zone)
    local = zone.fromutc(instant.astimezone(UTC).replace(tzinfo=zone))
    for h in att.holidays:
        first, _, last = h.date.partition("..")
        if first <= local.date().isoformat() <= (last or first):
            return HOLIDAY, (h.menu or att.after_hours).greeting
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    now = local.strftime("%H:%M")
    for span in getattr(att.hours, day):
        start, end = span.split("-")
        if start <= now < end:
            return BUSINESS, att.business_hours.greeting
    return AFTER_HOURS, att.after_hours.greeting


@pytest.fixture
def process_zone():
    """The process runs in Asia/Kolkata (UTC+5:30, no DST) meanwhile: nothing may depend on it."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def instants_of_2026():
    t = dt.datetime(2026, 1, 1, tzinfo=UTC)
    end = dt.datetime(2027, 1, 1, tzinfo=UTC)
    while t < end:
        yield t
        t += dt.timedelta(minutes=15)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_every_15_minutes_of_2026_agree_with_the_reference(zone, process_zone):
    att = attendant(zone)
    schedule = Schedule(att)
    seen = {BUSINESS: 0, AFTER_HOURS: 0, HOLIDAY: 0}
    checked = 0
    for t in instants_of_2026():
        d = schedule.decide(t)
        assert (d.kind, d.menu.greeting) == reference(att, t), t.isoformat()
        # the same instant in any other zone's terms is the same decision
        assert schedule.decide(t.astimezone(ZoneInfo("Pacific/Auckland"))).kind == d.kind
        seen[d.kind] += 1
        checked += 1
    assert checked == 365 * 96
    assert all(seen.values()), seen


def test_the_wall_clock_is_followed_across_both_changes_in_berlin():
    s = Schedule(attendant("Europe/Berlin"))
    utc = lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    # Monday 2026-03-30 (after the spring change, UTC+2): opens 08:00 CEST = 06:00 UTC
    assert s.decide(utc("2026-03-30 05:59")).kind == AFTER_HOURS
    assert s.decide(utc("2026-03-30 06:00")).kind == BUSINESS
    # the Monday before (UTC+1): 06:00 UTC is 07:00, still closed; 07:00 UTC opens
    assert s.decide(utc("2026-03-23 06:00")).kind == AFTER_HOURS
    assert s.decide(utc("2026-03-23 07:00")).kind == BUSINESS
    # Sunday 2026-03-29, "01:45-03:15": 01:45-02:00 CET, then 03:00-03:15 CEST (02:xx never is)
    assert s.decide(utc("2026-03-29 00:45")).kind == BUSINESS       # 01:45 CET
    assert s.decide(utc("2026-03-29 01:00")).kind == BUSINESS       # 03:00 CEST
    assert s.decide(utc("2026-03-29 01:15")).kind == AFTER_HOURS    # 03:15 CEST
    # the autumn change (Sunday 2026-10-25) falls in a holiday range of attendant(): the
    # repeated hour is checked on an attendant without holidays
    s2 = Schedule(attendant("Europe/Berlin", sun=("02:00-03:00",)))
    s2_no_holidays = Schedule(Attendant(number="8000", time_zone="Europe/Berlin",
                                        hours=BusinessHours(sun=("02:00-03:00",))))
    # 2026-10-25: 02:00-03:00 happens twice (00:00-01:00 UTC at +2, 01:00-02:00 UTC at +1)
    for t in ("2026-10-25 00:00", "2026-10-25 00:59", "2026-10-25 01:00", "2026-10-25 01:59"):
        assert s2_no_holidays.decide(utc(t)).kind == BUSINESS, t
    assert s2_no_holidays.decide(utc("2026-10-25 02:00")).kind == AFTER_HOURS   # 03:00 CET
    assert s2.decide(utc("2026-10-25 00:30")).kind == HOLIDAY


def test_a_fixed_utc_offset_as_in_a_dialplan_tz_offset_is_wrong_half_the_year():
    """What `tz-offset=+1` (or a switch in CET without DST rules) would decide for Berlin: it
    disagrees with the schedule at the openings and closings of every summer-time day."""
    att = attendant("Europe/Berlin")
    s = Schedule(att)
    fixed = dt.timezone(dt.timedelta(hours=1))
    wrong = 0
    naive = Schedule(Attendant(number="8000", time_zone="UTC", hours=att.hours,
                               holidays=att.holidays))
    for t in instants_of_2026():
        local = t.astimezone(fixed)
        if naive.decide(local.replace(tzinfo=UTC)).kind != s.decide(t).kind:
            wrong += 1
    assert wrong > 1000


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        Schedule(attendant("Europe/Berlin")).decide(dt.datetime(2026, 3, 30, 9, 0))


def test_the_call_states_refuse_a_move_the_flow_does_not_have():
    from fscontrol.attendant.states import AttendantCall, IllegalTransition, State
    call = AttendantCall("u1", "8000", BUSINESS, dt.datetime.now(UTC))
    call.transition(State.NAME)
    call.transition(State.CHOOSING, among="1004,1005")
    with pytest.raises(IllegalTransition):
        call.transition(State.VOICEMAIL)
    call.transition(State.PUT_THROUGH, extension="1005")
    assert call.state.terminal
    with pytest.raises(IllegalTransition):
        call.transition(State.MENU)
