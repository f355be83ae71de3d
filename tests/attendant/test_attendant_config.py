"""[[attendants]] and [attendant] in the site config: every problem names its key path."""

from __future__ import annotations

import textwrap

import pytest

from fscontrol.config import load
from fscontrol.config.load import parse
from fscontrol.errors import ConfigError

BASE = """
[[users]]
extension = "1001"
name = "Alice Smith"
[[users]]
extension = "1002"
name = "Bob"
[[orbits]]
name = "main"
kind = "park"
start = "7000"
end = "7009"
"""


def problems(toml_text):
    import tomllib
    try:
        parse(tomllib.loads(BASE + textwrap.dedent(toml_text)), env={})
    except ConfigError as e:
        return dict(e.problems)
    return {}


def test_a_valid_attendant_loads_with_its_keys_in_order():
    import tomllib
    config = parse(tomllib.loads(BASE + textwrap.dedent("""
        [[attendants]]
        number = "8000"
        time_zone = "Europe/Berlin"
        operator = "1001"
        holidays = [{ date = "2026-12-24..2026-12-26", name = "Christmas" }]
        [attendants.hours]
        mon = ["08:00-12:00", "13:00-24:00"]
        [attendants.business_hours]
        keys = { "2" = "extension:1002", "1" = "voicemail:1001", "3" = "announcement:/s/a.wav" }
        dial_by_name = "9"
    """)), env={})
    att = config.attendants[0]
    assert att.business_hours.keys == (("2", "extension:1002"), ("1", "voicemail:1001"),
                                       ("3", "announcement:/s/a.wav"))
    assert att.hours.mon == ("08:00-12:00", "13:00-24:00")
    assert att.holidays[0].menu is None


@pytest.mark.parametrize("number, path, message", [
    ("1001", "attendants[0].number", "users[0].extension"),
    ("7003", "attendants[0].number", "orbit of orbits[0]"),
    ("*70", "attendants[0].number", "feature code park.code"),
    ("0800", "attendants[0].number", "not a dialable number"),
])
def test_an_attendant_number_must_be_free_and_dialable(number, path, message):
    found = problems(f"""
        [[attendants]]
        number = "{number}"
        time_zone = "UTC"
        on_failure = "disconnect"
    """)
    assert message in found[path]


def test_two_attendants_with_one_number():
    found = problems("""
        [[attendants]]
        number = "8000"
        time_zone = "UTC"
        on_failure = "disconnect"
        [[attendants]]
        number = "8000"
        time_zone = "UTC"
        on_failure = "disconnect"
    """)
    assert found["attendants[1].number"] == '"8000" is also attendants[0]'


def test_every_rule_of_an_attendant_names_its_key():
    found = problems("""
        [[attendants]]
        number = "8000"
        time_zone = "Europe/Berlln"
        timeout = 0
        digit_timeout_ms = 50
        retries = 11
        holidays = [{ date = "2026-12-24..2026-12-26" }, { date = "2026-12-26" },
                    { date = "2026-02-30" }, { date = "24.12.2026" }]
        [attendants.hours]
        mon = ["08:00-12:00", "11:30-13:00"]
        tue = ["17:00-09:00"]
        wed = ["8-12"]
        [attendants.business_hours]
        greeting = "${system(rm)}"
        dial_by_name = "#"
        [attendants.business_hours.keys]
        1 = "extension:1009"
        2 = "attendant:8000"
        3 = "voicemail:x"
        4 = "operator"
        5 = "dial:1001"
        0 = "extension:1001"
        6 = "announcement:my file.wav"
    """)
    assert 'unknown to the zone database' in found["attendants[0].time_zone"]
    assert found["attendants[0].timeout"] == "0 is outside 1-60 seconds"
    assert "200-10000 ms" in found["attendants[0].digit_timeout_ms"]
    assert "1-10" in found["attendants[0].retries"]
    assert "overlaps holidays[0]" in found["attendants[0].holidays[1].date"]
    assert "day is out of range" in found["attendants[0].holidays[2].date"]
    assert "is not a date" in found["attendants[0].holidays[3].date"]
    assert "overlaps hours.mon[0]" in found["attendants[0].hours.mon[1]"]
    assert "ends before it starts" in found["attendants[0].hours.tue[0]"]
    assert "is not a time range" in found["attendants[0].hours.wed[0]"]
    assert "${...} and API calls are refused" in found["attendants[0].business_hours.greeting"]
    keys = 'attendants[0].business_hours.keys."%s"'
    assert "not a users[].extension" in found[keys % 1]
    assert "this attendant itself" in found[keys % 2]
    assert "2 to 9 digits" in found[keys % 3]
    assert "has no operator" in found[keys % 4]
    assert "is not \"extension:<ext>\"" in found[keys % 5]
    assert "not a key 1-9" in found[keys % 0]
    assert "has a space" in found[keys % 6]
    assert "not a key 1-9 or *" in found["attendants[0].business_hours.dial_by_name"]
    assert 'no operator is set' in found["attendants[0].on_failure"]


def test_keys_must_be_a_table():
    found = problems("""
        [[attendants]]
        number = "8000"
        time_zone = "UTC"
        on_failure = "disconnect"
        [attendants.after_hours]
        keys = ["extension:1001"]
    """)
    assert found["attendants[0].after_hours.keys"] == "expected a table, got array"


def test_the_shared_prompts_are_checked():
    found = problems("""
        [attendant]
        prompt_invalid = ""
        say_language = "english"
    """)
    assert "must not be empty" in found["attendant.prompt_invalid"]
    assert "language code" in found["attendant.say_language"]


def test_the_example_config_has_a_worked_attendant():
    config = load("fscontrol.example.toml", env={})
    assert config.attendants and config.attendants[0].time_zone
