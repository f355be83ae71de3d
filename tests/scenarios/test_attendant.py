"""Auto attendant scenarios, written once and run on the simulated and the real switch, with the
controller's clock frozen (the schedule is decided on it; nothing waits for real time to pass
except the switch's own input timeouts). Assertions are on what the caller experiences: which
greeting they heard (each menu's greeting is a distinct tone in tests/live/fscontrol.toml),
whom they end up talking to, that they were hung up.

Attendants (tests/live/fscontrol.toml): 8000 "Main", Europe/Berlin, operator Dave 1004, open
Mon-Thu 08:00-12:00 and 13:00-17:30, Fri 08:00-16:00, Christmas 24-26 Dec (own menu), 1 May
(after-hours menu); business keys 1 -> Bob 1002, 2 -> attendant 8001, 9 dial by name, direct
dial by extension; 2 failed inputs -> the operator. 8001 "Sales", America/New_York, open
Mon-Fri 09:00-17:00, 2 failed inputs -> disconnect. Users: Alice 1001, Bob 1002, Carol 1003,
Dave 1004, Erin 1005 (keypad: Dave 3283, Erin 3746; "3" matches both)."""

import re

import pytest

from attendantrig import at
from waiting import until

MAIN, SALES = "8000", "8001"
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def _attendant(ctl, number):
    return next(a for a in ctl.config.attendants if a.number == number)


def _greeting(ctl, number, menu):
    return getattr(_attendant(ctl, number), menu).greeting


def _hears_greeting(phone, call, greeting, timeout=10):
    until(lambda: greeting in phone.played(call), timeout,
          message=f"{phone.user} never heard {greeting}: {phone.played(call)}")


# Berlin changed to summer time on Sunday 2026-03-29 at 02:00 (UTC+1 -> UTC+2) and back on
# Sunday 2026-10-25 at 03:00. New York: 2026-03-08 and 2026-11-01.
@pytest.mark.parametrize("instant, menu", [
    # Monday after the spring change: 08:30 CEST is 06:30 UTC. A switch (or FreeSWITCH's
    # `hour` condition) still on UTC+1 would call it 07:30: closed.
    (at("2026-03-30 08:30", BERLIN), "business_hours"),
    (at("2026-03-30 07:59", BERLIN), "after_hours"),
    (at("2026-03-30 12:30", BERLIN), "after_hours"),      # lunch
    (at("2026-10-26 17:29", BERLIN), "business_hours"),   # Monday after the autumn change
    (at("2026-10-26 17:30", BERLIN), "after_hours"),
    (at("2026-03-28 10:00", BERLIN), "after_hours"),      # Saturday
], ids=["open-after-spring-change", "before-opening", "lunch", "open-after-autumn-change",
        "closing", "saturday"])
def test_the_menu_follows_business_hours_in_the_attendants_zone(backend, attendant_controller,
                                                                instant, menu):
    ctl = attendant_controller(instant)
    erin = backend.phone("1005")
    call = erin.dial(MAIN)
    _hears_greeting(erin, call, _greeting(ctl, MAIN, menu))
    other = "after_hours" if menu == "business_hours" else "business_hours"
    assert _greeting(ctl, MAIN, other) not in erin.played(call)
    erin.hangup()
    erin.wait_idle()


def test_a_holiday_plays_its_own_menu_and_a_range_covers_every_day(backend, attendant_controller):
    ctl = attendant_controller(at("2026-12-24 10:00", BERLIN))    # a Thursday, during opening hours
    christmas = next(h for h in _attendant(ctl, MAIN).holidays if h.name == "Christmas").menu
    erin = backend.phone("1005")
    for day in ("2026-12-24 10:00", "2026-12-26 23:59"):
        ctl.clock.set(at(day, BERLIN))
        call = erin.dial(MAIN)
        _hears_greeting(erin, call, christmas.greeting)
        erin.hangup()
        erin.wait_idle()
    ctl.clock.set(at("2026-12-28 10:00", BERLIN))                # Monday after: open again
    call = erin.dial(MAIN)
    _hears_greeting(erin, call, _greeting(ctl, MAIN, "business_hours"))
    erin.hangup()
    erin.wait_idle()


def test_a_holiday_without_a_menu_plays_the_after_hours_one(backend, attendant_controller):
    ctl = attendant_controller(at("2026-05-01 10:00", BERLIN))    # Friday 1 May, 10:00
    erin = backend.phone("1005")
    call = erin.dial(MAIN)
    _hears_greeting(erin, call, _greeting(ctl, MAIN, "after_hours"))
    erin.hangup()
    erin.wait_idle()


def test_each_attendant_decides_in_its_own_zone(backend, attendant_controller):
    """Monday 2026-03-09, the day after New York's change to summer time (Berlin changes three
    weeks later): 13:30 EDT is 17:30 UTC and 18:30 in Berlin: Sales open, Main closed. 09:30 EDT
    is 13:30 UTC and 14:30 in Berlin: both open (New York on its winter offset would be 08:30:
    closed)."""
    ctl = attendant_controller(at("2026-03-09 13:30", NEW_YORK))
    erin = backend.phone("1005")

    def menu_heard(number, menu):
        call = erin.dial(number)
        _hears_greeting(erin, call, _greeting(ctl, number, menu))
        erin.hangup()
        erin.wait_idle()

    menu_heard(SALES, "business_hours")
    menu_heard(MAIN, "after_hours")
    ctl.clock.set(at("2026-03-09 09:30", NEW_YORK))
    menu_heard(SALES, "business_hours")
    menu_heard(MAIN, "business_hours")


def _said(played, digits):
    """Whether `digits` were said (`say ... number iterated`: one digits/N.wav each, in one
    file_string:// playback, whatever prefix the switch gives the files)."""
    pattern = "!".join(r"[^!]*digits/%s\.wav" % d for d in digits)
    return any(re.fullmatch(r"file_string://" + pattern, p) for p in played)


OPEN = at("2026-03-30 09:00", BERLIN)


def test_a_key_puts_the_call_through_to_an_extension(backend, attendant_controller):
    attendant_controller(OPEN)
    erin, bob = backend.phones("1005", "1002")
    bob.auto_answer()
    call = erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("1")
    erin.wait_connected(to="1002", timeout=10)
    assert call.alive
    erin.hangup()
    bob.wait_idle()


def test_a_key_leads_to_another_attendant(backend, attendant_controller):
    ctl = attendant_controller(OPEN)               # 09:00 Berlin = 03:00 New York: Sales closed
    erin = backend.phone("1005")
    call = erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("2")
    _hears_greeting(erin, call, _greeting(ctl, SALES, "after_hours"))
    erin.hangup()
    erin.wait_idle()


def test_dial_by_extension_with_the_digits_or_after_pound(backend, attendant_controller):
    attendant_controller(OPEN)
    erin, carol = backend.phones("1005", "1003")
    carol.auto_answer()
    erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("1003")                      # straight at the menu
    erin.wait_connected(to="1003", timeout=10)
    erin.hangup()
    carol.wait_idle()

    ctl_prompts = backend.config.attendant
    call = erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("#")
    until(lambda: ctl_prompts.prompt_extension in erin.played(call), 10,
          message="the extension prompt after #")
    erin.send_dtmf("1003#")
    erin.wait_connected(to="1003", timeout=10)
    erin.hangup()
    carol.wait_idle()


def test_dial_by_name_with_one_match_puts_the_call_through(backend, attendant_controller):
    attendant_controller(OPEN)
    erin, bob = backend.phones("1005", "1002")
    bob.auto_answer()
    call = erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("9")                                    # dial by name
    until(lambda: backend.config.attendant.prompt_name in erin.played(call), 10,
          message="the dial-by-name prompt")
    erin.send_dtmf("262#")                                 # B-O-B
    erin.wait_connected(to="1002", timeout=10)
    erin.hangup()
    bob.wait_idle()


def test_dial_by_name_with_two_matches_offers_a_choice(backend, attendant_controller):
    attendant_controller(OPEN)
    alice, dave, erin = backend.phones("1001", "1004", "1005")
    erin.auto_answer()
    call = alice.dial(MAIN)
    alice.wait_hearing("tone", 10)
    alice.send_dtmf("9")
    until(lambda: backend.config.attendant.prompt_name in alice.played(call), 10,
          message="the dial-by-name prompt")
    alice.send_dtmf("3#")                                  # Dave (3283) and Erin (3746)
    # "1 ... 1004, 2 ... 1005": the choice number and the extension, said digit by digit;
    # the caller chooses while Erin's extension is being said
    until(lambda: _said(alice.played(call), "1004"), 10, message="Dave's extension said")
    until(lambda: _said(alice.played(call), "1005"), 10, message="Erin's extension said")
    alice.send_dtmf("2")
    alice.wait_connected(to="1005", timeout=10)
    assert dave.state == "idle"
    alice.hangup()
    erin.wait_idle()


def test_no_input_ends_with_the_operator(backend, attendant_controller):
    ctl = attendant_controller(OPEN)
    erin, dave = backend.phones("1005", "1004")
    dave.auto_answer()
    call = erin.dial(MAIN)
    # two reads of 1 s each with nothing pressed, then the operator
    erin.wait_connected(to="1004", timeout=15)
    assert erin.played(call).count(_greeting(ctl, MAIN, "business_hours")) == 2
    erin.hangup()
    dave.wait_idle()


def test_invalid_input_is_retried_then_disconnected(backend, attendant_controller):
    ctl = attendant_controller(at("2026-03-30 10:00", NEW_YORK))   # Sales open
    erin = backend.phone("1005")
    call = erin.dial(SALES)
    greeting = _greeting(ctl, SALES, "business_hours")
    invalid = ctl.config.attendant.prompt_invalid
    for attempt in (1, 2):
        until(lambda: erin.played(call).count(greeting) == attempt, 10,
              message=f"greeting #{attempt}: {erin.played(call)}")
        erin.send_dtmf("7")                                   # no key 7 at Sales
    erin.wait_idle(15)
    played = erin.played(call)
    assert played.count(invalid) == 1, played                 # after the first; the second ends it
    assert played[-1] == ctl.config.attendant.prompt_goodbye, played
