"""The live phone driver fed real FreeSWITCH events (trace s05, its callee leg moved into the
`phones` context): a called handset is claimed whenever its events show it, and a leg of an
earlier call whose last events reach a new connection is never taken for a phone's call (the
cause of `test_ringing_phone_answered_by_hand` failing 4 runs in 6 on the real switch)."""

import json
from pathlib import Path
from urllib.parse import unquote

from fscontrol.esl.events import Event
from livephones import LivePhone, LiveSwitch

TRACE = Path(__file__).resolve().parents[1] / "fs_traces" / "s05_ringing_call_intercepted.jsonl"
HANDSET = "3ca1158d"        # loopback/ring-b of s05: rings (ring_ready), like a phone in ring mode
STALE = "11111111-2222-3333-4444-555555555555"


def _recorded():
    """The header blocks of s05's events, in stream order (the first of repeated headers, as
    switch_event_get_header reads them)."""
    for line in TRACE.read_text().splitlines():
        data = json.loads(line)["data"]
        if "text/event-plain" not in data:
            continue
        headers = {}
        for row in data.partition("\n\n")[2].split("\n"):
            key, sep, value = row.partition(": ")
            if sep:
                headers.setdefault(key, unquote(value))
        yield headers


def _events(prefix, uuid=None):
    """The recorded events of channel `prefix`, as the phones context would show them."""
    out = []
    for headers in _recorded():
        if not headers.get("Unique-ID", "").startswith(prefix):
            continue
        headers["Caller-Context"] = "phones"
        headers["Caller-Destination-Number"] = "1002"
        if uuid:
            headers["Unique-ID"] = headers["Caller-Unique-ID"] = uuid
        out.append(Event.from_headers(headers))
    return out


def _driver():
    sw = LiveSwitch(context="default", phones_context="phones")
    bob = sw.phones["1002"] = LivePhone(sw, "1002", "Bob")
    bob.registered = True
    return sw, bob


def test_the_last_events_of_an_earlier_call_do_not_take_the_ringing_phone_away():
    sw, bob = _driver()
    handset = _events(HANDSET)
    ringing = [e for e in handset if e.name != "CHANNEL_HANGUP" and e.answer_state != "hangup"]
    for ev in ringing:
        sw._on_event(ev)
    assert bob.state == "ringing"
    # the previous scenario's handset, hung up by its teardown, ends on this connection
    for ev in _events(HANDSET, uuid=STALE):
        if ev.answer_state == "hangup":
            sw._on_event(ev)
    assert bob.state == "ringing", bob.state
    assert bob.ringing_call().uuid.startswith(HANDSET)


def test_a_handset_is_claimed_by_any_of_its_events_not_only_the_first():
    sw, bob = _driver()
    events = _events(HANDSET)
    create = next(e for e in events if e.name == "CHANNEL_CREATE")
    later = [e for e in events if e is not create and e.answer_state == "ringing"]
    sw._on_event(Event.from_headers({**create.headers, "Caller-Context": "default"}))
    assert bob.state == "idle"        # nothing said yet that it is Bob's handset
    for ev in later:
        sw._on_event(ev)
    assert bob.state == "ringing"


def _whole_call():
    """Every recorded event of s05 in stream order, the callee's handset (loopback/ring-b)
    entering the phones context at 1002, the rest as recorded."""
    out = []
    for headers in _recorded():
        if headers.get("Unique-ID", "").startswith(HANDSET):
            headers["Caller-Context"] = "phones"
            headers["Caller-Destination-Number"] = "1002"
        out.append(Event.from_headers(headers))
    return out


def test_a_picked_off_phone_ends_with_picked_off_and_the_ringing_leg_knows_its_caller():
    """On the real switch's events: the leg a caller's bridge rings names the caller's leg as
    its originator (what a calling phone's early media is found by), and the phone whose call
    another user intercepted ends with PICKED_OFF (mod_loopback hands the -a leg's cause on)."""
    sw, bob = _driver()
    caller_side, ringing = "754fa21c", "9bfb2297"       # loopback/call-ring-b, loopback/ring-a
    for ev in _whole_call():
        sw._on_event(ev)
        if ev.name == "CHANNEL_PROGRESS" and ev.uuid.startswith(HANDSET):
            assert bob.state == "ringing"
    leg = next(v for k, v in sw.ended.items() if k.startswith(ringing))
    assert leg.originator.startswith(caller_side)
    assert bob.state == "idle" and bob.last_hangup_cause == "PICKED_OFF"


def _status(sessions):
    return ("UP 0 years, 0 days, 0 hours, 1 minutes, 2 seconds, 3 milliseconds, 4 microseconds\n"
            "FreeSWITCH (Version 1.10.12-release 64bit) is ready\n"
            "40 session(s) since startup\n"
            "%d session(s) - peak 4, last 5min 4 \n"
            "0 session(s) per Sec out of max 30, peak 2, last 5min 2 \n"
            "1000 session(s) max\n" % sessions)


def test_hangup_all_waits_for_the_session_count_and_the_channel_table():
    """Between scenarios: neither `status` nor `show channels` alone says every leg is gone. The
    count drops before CHANNEL_DESTROY is fired (switch_core_session_perform_destroy); a row
    stays until switch_core_sqldb.c has processed that event, and the next scenario's
    controller would reconcile it as a live channel."""
    sw, _bob = _driver()
    one_row = '{"row_count":1,"rows":[{"uuid":"%s"}]}' % STALE
    replies = {"status": [_status(1), _status(0), _status(0), _status(0)],
               "show channels as json": ['{"row_count":0}', one_row, one_row, '{"row_count":0}']}
    sent = []

    def api(command):
        sent.append(command)
        return replies[command].pop(0) if command in replies else "+OK"

    sw.api = api
    sw.hangup_all(timeout=5)
    assert sent[0] == "hupall MANAGER_REQUEST"
    assert replies == {"status": [], "show channels as json": []}, "returned before both said so"
