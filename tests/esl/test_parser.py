"""The ESL parser against every recorded message of the real FreeSWITCH traces."""

import random

import pytest

from fscontrol.esl.events import EslParser, Event, encode_plain_event, parse_plain_event

from .traces import load, recv_messages, trace_files

TRACES = trace_files()


def _split(raw: str):
    head, _, body = raw.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.split("\n"))
    return headers, body.encode("utf-8")


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_every_recorded_message_parses_whole_stream(path):
    recvs = recv_messages(load(path))
    stream = "".join(recvs).encode("utf-8")
    msgs = EslParser().feed(stream)
    assert len(msgs) == len(recvs)
    for msg, raw in zip(msgs, recvs):
        headers, body = _split(raw)
        assert msg.headers == headers
        assert msg.body == body


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_stream_split_at_odd_byte_boundaries(path):
    recvs = recv_messages(load(path))
    stream = "".join(recvs).encode("utf-8")
    reference = EslParser().feed(stream)
    rng = random.Random(path.stem)
    for chunking in ("bytes", "random", "primes"):
        parser = EslParser()
        got = []
        pos = 0
        step_cycle = [2, 3, 5, 7, 11, 13, 127, 1021]
        i = 0
        while pos < len(stream):
            if chunking == "bytes":
                n = 1 if len(stream) < 40000 else rng.randint(1, 3)
            elif chunking == "random":
                n = rng.randint(1, 4096)
            else:
                n = step_cycle[i % len(step_cycle)]
                i += 1
            got.extend(parser.feed(stream[pos:pos + n]))
            pos += n
        assert parser.buffered == 0
        assert [(m.headers, m.body) for m in got] == [(m.headers, m.body) for m in reference]


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_every_recorded_event_becomes_a_typed_event(path):
    for msg in EslParser().feed("".join(recv_messages(load(path))).encode()):
        if msg.content_type != "text/event-plain":
            continue
        ev = parse_plain_event(msg.body)
        assert isinstance(ev, Event)
        assert ev.name and ev.name == ev.headers["Event-Name"]
        # decoded once: no value still carries an encoded ':' or space
        assert not any("%3A" in v or "%20" in v for v in ev.headers.values()), ev.name
        if ev.name == "BACKGROUND_JOB":
            assert ev.job_uuid
            assert len(ev.body.encode()) == int(ev.headers["Content-Length"])
        if ev.name == "CUSTOM":
            assert "::" in ev.subclass or ev.subclass.startswith("conference")
        if ev.headers.get("Channel-State"):
            assert ev.uuid and ev.state.startswith("CS_")


def test_background_job_fields_from_s02():
    msgs = EslParser().feed("".join(recv_messages(load("s02"))).encode())
    jobs = [parse_plain_event(m.body) for m in msgs if b"BACKGROUND_JOB" in m.body[:40]]
    assert len(jobs) == 1
    job = jobs[0]
    assert job.job_uuid == "df3f9309-9f64-4596-b13a-c40283700df0"
    assert job.body == "+OK 4dd0469c-954f-4986-bfd1-66ce8df778d9\n"
    assert job.headers["Job-Command-Arg"].startswith("{origination_uuid=4dd0469c")


def test_custom_subclass_and_channel_fields_from_s06():
    msgs = EslParser().feed("".join(recv_messages(load("s06"))).encode())
    evs = [parse_plain_event(m.body) for m in msgs if m.content_type == "text/event-plain"]
    valet = [e for e in evs if e.name == "CUSTOM"]
    assert valet and all(e.subclass == "valet_parking::info" for e in valet)
    assert valet[0].key == "valet_parking::info"
    assert valet[0].headers["Action"] == "hold"
    assert valet[0].channel_name == "loopback/valet-auto-b"


def test_bridge_peer_and_variables_from_s03():
    msgs = EslParser().feed("".join(recv_messages(load("s03"))).encode())
    evs = [parse_plain_event(m.body) for m in msgs if m.content_type == "text/event-plain"]
    bridge = [e for e in evs if e.name == "CHANNEL_BRIDGE"][0]
    assert bridge.other_leg_uuid and bridge.other_leg_uuid != bridge.uuid
    create = [e for e in evs if e.name == "CHANNEL_CREATE"][0]
    assert create.variables["uuid"] == create.uuid
    assert create.var("direction") == create.direction


def test_encoded_newline_stays_inside_its_header():
    raw = encode_plain_event({
        "Event-Name": "CUSTOM", "Event-Subclass": "x::y", "Unique-ID": "u1",
        "variable_note": "line1\nline2: not a header", "Other": "a%b",
    }, body="job\nbody")
    assert b"%0A" in raw
    (msg,) = EslParser().feed(raw)
    ev = parse_plain_event(msg.body)
    assert ev.var("note") == "line1\nline2: not a header"
    assert ev.get("Other") == "a%b"
    assert "line2" not in ev.headers
    assert ev.body == "job\nbody"


def test_event_is_frozen():
    ev = Event.from_headers({"Event-Name": "HEARTBEAT"})
    with pytest.raises(Exception):
        ev.name = "x"
