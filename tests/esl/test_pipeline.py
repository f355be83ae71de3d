"""bgapi/originate/sendmsg against replayed real traces; dispatch ordering and isolation."""

import random
import time

import gevent
import pytest

from fscontrol.esl import ChannelGone, CommandError, CommandTimeout, EslClient, encode_plain_event

from . import traces
from .fakeswitch import FakeSwitch, until


@pytest.fixture
def replay(make_client):
    switches = []

    def start(name, lookahead=False, **kw):
        sw = FakeSwitch(script=traces.load(name), lookahead=lookahead).start()
        switches.append(sw)
        c = make_client(sw.port, **kw)
        c.connect(timeout=2)
        return sw, c

    yield start
    for sw in switches:
        sw.stop()


def channel_event(name, uuid, seq=0, **extra):
    headers = {"Event-Name": name, "Unique-ID": uuid, "Channel-State": "CS_EXECUTE",
               "Channel-Call-State": "ACTIVE", "Event-Sequence": str(seq)}
    headers.update(extra)
    return headers


# --- bgapi -----------------------------------------------------------------------------------

def test_bgapi_sends_job_uuid_and_resolves_by_background_job(fake_switch, client):
    fake_switch.bgapi_results["status"] = "UP 0 years\n"
    result = client.bgapi("status")
    sent = [c for c in fake_switch.commands if c.startswith("bgapi status")][0]
    assert sent.split("\n")[1] == f"Job-UUID: {result.job_uuid}"
    assert result.text == "UP 0 years" and result.event.name == "BACKGROUND_JOB"


def test_bgapi_err_becomes_command_error(fake_switch, client):
    fake_switch.bgapi_results["originate"] = "-ERR DESTINATION_OUT_OF_ORDER\n"
    o = client.originate("loopback/answer/trace", {"origination_caller_id_name": "Call Via Work"})
    with pytest.raises(CommandError) as err:
        o.result()
    assert err.value.cause == "DESTINATION_OUT_OF_ORDER"
    with pytest.raises(CommandError):
        o.wait_answer(1)


def test_bgapi_job_timeout(fake_switch, client):
    fake_switch.bgapi_results["status"] = None  # accepted, but no BACKGROUND_JOB ever
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        client.bgapi("status", timeout=0.2)
    assert time.monotonic() - t0 < 3  # a hang guard; the message proves the 0.2 s governed
    assert "within 0.2s" in str(err.value)
    assert client._jobs == {}


def test_bgapi_job_recorded_in_s01b(replay):
    sw, c = replay("s01b", lookahead=True)
    result = c.bgapi("status")
    assert result.value.startswith("UP 0 years")
    with pytest.raises(CommandError) as err:
        c.bgapi("originate user/1001@pbx.test &park()")
    assert err.value.cause == "DESTINATION_OUT_OF_ORDER"


def test_originate_replayed_s02_events_before_background_job(replay):
    sw, c = replay("s02")
    seen = []
    c.on("CHANNEL_PARK", lambda ev: seen.append(ev.uuid))
    o = c.originate("loopback/orbit-7001/trace",
                    {"origination_caller_id_number": "1001", "origination_caller_id_name": "Alice"})
    answer = o.wait_answer(2)
    assert answer.uuid == o.uuid and answer.name == "CHANNEL_ANSWER"
    assert o.result(2).value == o.uuid
    # in the recording the answer came before the job result: both resolved anyway
    ch = c.registry.get(o.uuid)
    assert ch.answered and ch.direction == "outbound" and ch.destination_number == "orbit-7001"
    b_leg = "1136d01d-0702-44a3-87ff-af0979695b32"
    assert c.registry.get(b_leg).direction == "inbound"
    until(lambda: sorted(seen) == sorted([o.uuid, b_leg]))
    # the snapshot FreeSWITCH gives agrees with the registry built from events
    snapshot = c.api("show channels as json")
    before = {u: (ch.state, ch.call_state, ch.direction) for u, ch in ((x.uuid, x) for x in c.registry)}
    assert c.registry.reconcile(snapshot) == []
    assert {u: (ch.state, ch.call_state, ch.direction) for u, ch in ((x.uuid, x) for x in c.registry)} == before
    assert c.uuid_getvar(o.uuid, "other_loopback_leg_uuid") == b_leg


def test_registry_empties_after_hangup_s02(replay):
    sw, c = replay("s02", worker_idle_timeout=0.1)
    c.on("CHANNEL_HANGUP_COMPLETE", lambda ev: None)
    o = c.originate("loopback/orbit-7001/trace",
                    {"origination_caller_id_number": "1001", "origination_caller_id_name": "Alice"})
    o.wait_answer(2)
    assert len(c.registry) == 2
    c.api("show channels as json")
    c.uuid_getvar(o.uuid, "other_loopback_leg_uuid")
    c.api(f"uuid_dump {o.uuid}")
    c.uuid_broadcast(o.uuid, "local_stream://moh/8000")
    c.uuid_break(o.uuid, all=True)
    c.uuid_kill(o.uuid, "NORMAL_CLEARING")
    hangup = o.wait_hangup(2)
    assert hangup.hangup_cause == "NORMAL_CLEARING"
    # CHANNEL_STATE CS_DESTROY arrives after CHANNEL_DESTROY: must not resurrect the channel
    until(lambda: len(c.registry) == 0)
    until(lambda: c.dispatcher.active_workers == 0)


def test_sendmsg_execute_complete_by_event_uuid_s09(replay):
    sw, c = replay("s09")
    u = "0d0d0d0d-05f9-4173-bcf1-f95eba27aea6"
    assert c.api(f"originate {{origination_uuid={u},origination_caller_id_number=1001}}null/1001 &park()") \
        == f"+OK {u}\n"
    ex = c.sendmsg(u, "playback", "tone_stream://%(300,0,400)")
    done = ex.wait(2)
    assert done.name == "CHANNEL_EXECUTE_COMPLETE" and done.application_uuid == ex.event_uuid
    assert done.headers["Application-Response"] == "FILE PLAYED"


def test_ringing_index_from_s05_and_pickup(replay):
    sw, c = replay("s05")
    c.originate("loopback/call-ring/trace",
                {"origination_caller_id_number": "1001", "origination_caller_id_name": "Alice"}).result(2)
    callers = c.registry.ringing_for("call-ring", direction="inbound")
    assert [ch.uuid for ch in callers] == ["754fa21c-5d4e-4ce1-8788-c4c07a6e7ab4"]
    legs = c.registry.ringing_for("ring")
    assert {ch.direction for ch in legs} == {"inbound", "outbound"}
    out_leg = c.registry.ringing_for("ring", "outbound")[0]
    assert out_leg.other_leg_uuid == callers[0].uuid
    # what `show channels as json` says while it rings agrees with the events
    snapshot = c.api("show channels as json")
    assert c.registry.reconcile(snapshot) == []
    assert [ch.uuid for ch in c.registry.ringing_for("call-ring", "inbound")] == [callers[0].uuid]
    assert {ch.uuid for ch in c.registry.ringing_for("ring")} == {ch.uuid for ch in legs}
    c.api("show calls as json")
    # the pickup (intercept) answers the caller: nothing rings any more
    c.originate(f"loopback/intercept-{callers[0].uuid}/trace",
                {"origination_caller_id_number": "1003", "origination_caller_id_name": "Carol"}).result(2)
    until(lambda: c.registry.ringing_for("call-ring") == [] and c.registry.ringing_for("ring") == [])
    picker = "0a2fb2ad-2f59-419d-adef-86f8fd0587e4"
    assert c.registry.get(picker).bridged_to == callers[0].uuid
    assert c.registry.get(callers[0].uuid).bridged_to == picker


# --- waiters ---------------------------------------------------------------------------------

def test_wait_for_event_predicate_timeout_and_channel_gone(fake_switch, client):
    u = "cccccccc-0000-0000-0000-000000000001"
    park = client.wait_for(u, "CHANNEL_PARK")
    pred = client.wait_for(u, lambda ev: ev.get("Event-Sequence") == "7")
    answer = client.wait_for(u, "CHANNEL_ANSWER")
    fake_switch.push_event(channel_event("CHANNEL_PARK", u, 5))
    fake_switch.push_event(channel_event("CHANNEL_EXECUTE", u, 7))
    assert park.get(1).name == "CHANNEL_PARK"
    assert pred.get(1).name == "CHANNEL_EXECUTE"
    fake_switch.push_event(channel_event("CHANNEL_DESTROY", u, 8, **{"Hangup-Cause": "NORMAL_CLEARING"}))
    with pytest.raises(ChannelGone) as err:
        answer.get(1)
    assert err.value.cause == "NORMAL_CLEARING"
    with pytest.raises(CommandTimeout):
        client.wait_for(u, "CHANNEL_ANSWER").get(0.05)
    assert client.dispatcher.waiting_uuids() == []


# --- dispatch --------------------------------------------------------------------------------

def test_slow_or_raising_handler_does_not_stall_others(fake_switch, client):
    slow, fast = "dddddddd-0000-0000-0000-00000000000a", "dddddddd-0000-0000-0000-00000000000b"
    got = []
    release = gevent.event.Event()

    def handler(ev):
        if ev.uuid == slow:
            release.wait(5)
        if ev.get("Event-Sequence") == "2":
            raise RuntimeError("handler bug")
        got.append((ev.uuid, ev.get("Event-Sequence")))

    client.on("CHANNEL_PARK", handler)
    fake_switch.push_event(channel_event("CHANNEL_PARK", slow, 1))
    fake_switch.push_event(channel_event("CHANNEL_PARK", fast, 2))
    fake_switch.push_event(channel_event("CHANNEL_PARK", fast, 3))
    until(lambda: (fast, "3") in got, timeout=1)
    assert client.api("status") == "+OK\n"  # the reader is not stalled either
    assert (slow, "1") not in got
    release.set()
    until(lambda: (slow, "1") in got)


def test_per_channel_order_kept_under_jitter(fake_switch, client):
    uuids = [f"eeeeeeee-0000-0000-0000-00000000000{i}" for i in range(5)]
    got = {u: [] for u in uuids}
    rng = random.Random(7)

    def handler(ev):
        if rng.random() < 0.2:
            gevent.sleep(rng.random() / 200)
        got[ev.uuid].append(int(ev.get("Event-Sequence")))

    client.on("CHANNEL_STATE", handler)
    stream = b"".join(encode_plain_event(channel_event("CHANNEL_STATE", uuids[i % 5], i)) for i in range(500))
    for s in fake_switch.live_sessions:
        for i in range(0, len(stream), 777):
            s.write(stream[i:i + 777])
    until(lambda: sum(map(len, got.values())) == 500)
    for i, u in enumerate(uuids):
        assert got[u] == list(range(i, 500, 5))


def test_star_handler_and_custom_subclass(fake_switch, client):
    seen, star = [], []
    client.on("valet_parking::info", lambda ev: seen.append(ev.headers["Action"]))
    client.on("*", lambda ev: star.append(ev.name))
    fake_switch.push_event({"Event-Name": "CUSTOM", "Event-Subclass": "valet_parking::info", "Action": "hold"})
    fake_switch.push_event({"Event-Name": "HEARTBEAT"})
    until(lambda: seen == ["hold"] and sorted(star) == ["CUSTOM", "HEARTBEAT"])


def test_feed_drives_the_pipeline_without_a_socket():
    client = EslClient("127.0.0.1", 1, "unused", worker_idle_timeout=0.05)
    parks = []
    client.on("CHANNEL_PARK", lambda ev: parks.append(ev.uuid))
    stream = "".join(traces.recv_messages(traces.load("s03"))).encode()
    n = client.feed(stream[:1000]) + client.feed(stream[1000:])
    assert n == stream.count(b"Content-Type: text/event-plain")
    until(lambda: len(parks) == 2)
    assert len(client.registry) == 0  # both calls ended in the recording
    until(lambda: client.dispatcher.active_workers == 0)
