"""[call_via_work] and users[].callback validation: each problem names its key path."""

import pytest

from fscontrol.config.load import parse
from fscontrol.errors import ConfigError

USERS = [{"extension": "1001", "name": "Alice"}, {"extension": "1002", "name": "Bob"}]
ORBITS = [{"name": "main", "kind": "park", "start": "7000", "end": "7099"}]


def problems(cvw=None, users=None):
    data = {"call_via_work": cvw or {}, "users": users or USERS, "orbits": ORBITS}
    try:
        parse(data, {})
    except ConfigError as e:
        return e.problems
    return []


def test_defaults_and_a_full_section_are_valid():
    assert problems() == []
    assert problems({"caller_id_name": "Work line", "caller_id_number": "+15550100",
                     "destinations": ["1[0-9]{3}", r"\+49[0-9]{6,12}"], "rate_limit": 5,
                     "user_timeout": 20, "destination_timeout": 45, "user_callback": True,
                     "destination_dial_string": "sofia/gateway/carrier/{number}",
                     "hold_music": "", "conference_profile": "wideband"}) == []


@pytest.mark.parametrize("cvw, key, words", [
    ({"destinations": ["[0-9"]}, "call_via_work.destinations[0]", "not a regular expression"),
    ({"destinations": []}, "call_via_work.destinations", "is empty"),
    ({"rate_limit": 0}, "call_via_work.rate_limit", "outside 1-1000"),
    ({"user_timeout": 1}, "call_via_work.user_timeout", "outside 5-300"),
    ({"destination_timeout": 900}, "call_via_work.destination_timeout", "outside 5-600"),
    ({"caller_id_number": "555-0100"}, "call_via_work.caller_id_number", "must be digits"),
    ({"caller_id_name": "Work: Alice"}, "call_via_work.caller_id_name", "last \":\""),
    ({"caller_id_name": "O'Brien"}, "call_via_work.caller_id_name", "contains \"'\""),
    ({"caller_id_name": "a,b"}, "call_via_work.caller_id_name", "contains ','"),
    ({"caller_id_name": "${system(id)}"}, "call_via_work.caller_id_name", "contains '$'"),
    ({"caller_id_name": ""}, "call_via_work.caller_id_name", "must not be empty"),
    ({"prompt_busy": "${x}"}, "call_via_work.prompt_busy", "${"),
    ({"hold_music": "tone_stream://%(100,0,400)"}, "call_via_work.hold_music", "cannot be set"),
    ({"conference_profile": "a b"}, "call_via_work.conference_profile", "letters"),
    ({"destination_dial_string": "sofia/gateway/x/1000"}, "call_via_work.destination_dial_string",
     "no {number}"),
    ({"destination_dial_string": "{execute_on_answer=system}loopback/{number}"},
     "call_via_work.destination_dial_string", "may not be set"),
    ({"destination_dial_string": "${sofia_contact(x)}/{number}"},
     "call_via_work.destination_dial_string", "refused"),
    ({"destination_dial_string": "loopback/{number},user/1002"},
     "call_via_work.destination_dial_string", "cannot be dialled"),
])
def test_bad_values_name_the_key(cvw, key, words):
    found = problems(cvw)
    assert any(k == key and words in m for k, m in found), found


@pytest.mark.parametrize("callback, words", [
    ("10 02", "not an extension"),
    ("7001", "is an orbit of orbits[0]"),
    ("*70", "is park.code"),
    ("user/${x}@{domain}", 'has a "$"'),
    ("{api_on_answer=system}user/1005@{domain}", "may not be set"),
    ("user/1005@{domain},user/1006", "cannot be dialled"),
])
def test_users_callback_is_an_extension_a_number_or_a_safe_dial_string(callback, words):
    users = [{"extension": "1001", "name": "Alice", "callback": callback}]
    found = problems(users=users)
    assert any(k == "users[0].callback" and words in m for k, m in found), found


@pytest.mark.parametrize("callback", ["1002", "+4915112345678", "user/1101@{domain}",
                                      "{sip_auto_answer=true}user/{ext}-desk@{domain}"])
def test_good_callbacks(callback):
    assert problems(users=[{"extension": "1001", "name": "Alice", "callback": callback}]) == []
