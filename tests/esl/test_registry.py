"""ChannelRegistry: built from events, from `show channels as json`, ringing index, renames."""

import json

from fscontrol.esl import ChannelRegistry, Event
from fscontrol.esl.events import EslParser, parse_plain_event

from . import traces


def events_of(name):
    msgs = EslParser().feed("".join(traces.recv_messages(traces.load(name))).encode())
    return [parse_plain_event(m.body) for m in msgs if m.content_type == "text/event-plain"]


def snapshots_of(name):
    entries = traces.load(name)
    out = []
    for i, e in enumerate(entries):
        if e["dir"] == "send" and e["data"].startswith("api show channels as json"):
            reply = next(x for x in entries[i + 1:] if x["dir"] == "recv"
                         and x["data"].startswith("Content-Type: api/response"))
            out.append(reply["data"].split("\n\n", 1)[1])
    return out


def ev(name, uuid, **h):
    headers = {"Event-Name": name, "Unique-ID": uuid, "Channel-State": "CS_EXECUTE"}
    headers.update(h)
    return Event.from_headers(headers)


def test_snapshot_shape_of_s02_and_empty_s01b():
    reg = ChannelRegistry()
    assert reg.reconcile(snapshots_of("s01b")[0]) == []
    assert len(reg) == 0
    reg.reconcile(snapshots_of("s02")[0])
    a = reg.get("4dd0469c-954f-4986-bfd1-66ce8df778d9")
    b = reg.get("1136d01d-0702-44a3-87ff-af0979695b32")
    assert (a.direction, a.state, a.call_state, a.answer_state) == ("outbound", "CS_EXECUTE", "ACTIVE", "answered")
    assert a.name == "loopback/orbit-7001-a" and a.application == "park"
    assert (b.caller_id_name, b.caller_id_number, b.destination_number) == ("Alice", "1001", "orbit-7001")


def test_snapshot_removes_vanished_and_keeps_variables():
    reg = ChannelRegistry()
    reg.apply(ev("CHANNEL_CREATE", "4dd0469c-954f-4986-bfd1-66ce8df778d9", variable_fscontrol_orbit="7001"))
    reg.apply(ev("CHANNEL_CREATE", "gone-0000"))
    removed = reg.reconcile(json.loads(snapshots_of("s02")[0]))
    assert removed == ["gone-0000"]
    assert reg.get("4dd0469c-954f-4986-bfd1-66ce8df778d9").variables["fscontrol_orbit"] == "7001"


def test_ringing_index_from_s05_snapshot():
    reg = ChannelRegistry()
    reg.reconcile(snapshots_of("s05")[0])
    assert [c.uuid for c in reg.ringing_for("call-ring", "inbound")] == ["754fa21c-5d4e-4ce1-8788-c4c07a6e7ab4"]
    assert len(reg.ringing_for("ring")) == 2
    out = reg.ringing_for("ring", "outbound")[0]
    assert out.other_leg_uuid == "754fa21c-5d4e-4ce1-8788-c4c07a6e7ab4"
    reg.reconcile(snapshots_of("s05")[1])  # after the pickup
    assert reg.ringing_users() == []


def test_full_event_streams_leave_no_channel_behind():
    for name in ("s02", "s03", "s04", "s05", "s06", "s07", "s09", "s11"):
        reg = ChannelRegistry()
        for e in events_of(name):
            reg.apply(e)
        assert len(reg) == 0, name
        assert reg.ringing_users() == [], name


def test_channel_uuid_rename_and_late_state_after_destroy():
    reg = ChannelRegistry()
    reg.apply(ev("CHANNEL_CREATE", "old-1", **{"Channel-Call-State": "RINGING", "Caller-Destination-Number": "1002"}))
    assert reg.ringing_for("1002")
    reg.apply(ev("CHANNEL_UUID", "new-1", **{"Old-Unique-ID": "old-1"}))
    assert "old-1" not in reg and reg.get("new-1").destination_number == "1002"
    assert [c.uuid for c in reg.ringing_for("1002")] == ["new-1"]
    reg.apply(ev("CHANNEL_DESTROY", "new-1"))
    reg.apply(ev("CHANNEL_STATE", "new-1", **{"Channel-State": "CS_DESTROY"}))
    assert len(reg) == 0 and reg.ringing_users() == []


def test_dialed_user_and_domain_keys():
    reg = ChannelRegistry()
    reg.apply(ev("CHANNEL_CALLSTATE", "leg-1", **{"Channel-Call-State": "RINGING", "Call-Direction": "outbound",
                                                 "Caller-Destination-Number": "1002@pbx.test",
                                                 "variable_dialed_user": "1002"}))
    assert [c.uuid for c in reg.ringing_for("1002")] == ["leg-1"]
    assert [c.uuid for c in reg.ringing_for("1002@pbx.test")] == ["leg-1"]
    reg.apply(ev("CHANNEL_ANSWER", "leg-1", **{"Channel-Call-State": "ACTIVE", "Answer-State": "answered"}))
    assert reg.ringing_for("1002") == []
