"""Replay a recorded FreeSWITCH ESL conversation (tests/fs_traces/*.jsonl) against a SimSwitch and
report every difference: reply texts, and per channel the sequence of events with their key headers.

Channels are matched by (Channel-Name, n-th distinct Unique-ID seen with that name), so uuids the
switch chose itself are mapped back before later commands that quote them are sent."""
from __future__ import annotations

import json
import re
import socket
import time
import urllib.parse

import gevent

KEY_HEADERS = ("Channel-State", "Channel-Call-State", "Answer-State", "Call-Direction", "Hangup-Cause",
               "Application")
# Events carrying channel headers that are not part of a channel's own story (temp uuids, reporting).
IGNORED_CHANNEL_EVENTS = {"CODEC", "API", "RE_SCHEDULE", "HEARTBEAT"}
GLOBAL_EVENTS_COMPARED = {"BACKGROUND_JOB", "SHUTDOWN", "PRESENCE_IN", "MESSAGE", "CUSTOM"}
MEMBER_ID_RE = re.compile(r"(?m)^\d+;")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_headers(block):
    h = {}
    for line in block.split("\n"):
        if line:
            k, _, v = line.partition(": ")
            h.setdefault(k, v)
    return h


class Message:
    def __init__(self, raw):
        self.raw = raw
        env, _, body = raw.partition("\n\n")
        self.envelope = parse_headers(env)
        self.body = body
        self.ctype = self.envelope.get("Content-Type", "")
        self.event = None
        self.event_body = ""
        if self.ctype == "text/event-plain":
            block, _, ebody = body.partition("\n\n")
            self.event = {k: urllib.parse.unquote(v) for k, v in parse_headers(block).items()}
            self.event_body = ebody


def load_trace(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Reader:
    """Reads whole ESL messages from a socket (envelope + Content-Length body)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.messages = []
        self.closed = False

    def run(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            self.buf += data
            while True:
                end = self.buf.find(b"\n\n")
                if end < 0:
                    break
                env = parse_headers(self.buf[:end].decode())
                n = int(env.get("Content-Length", 0))
                if len(self.buf) < end + 2 + n:
                    break
                raw = self.buf[: end + 2 + n].decode("utf-8", "replace")
                self.buf = self.buf[end + 2 + n:]
                self.messages.append(Message(raw))


def channel_story(messages):
    """-> {(name, n): [(event, key headers...)]}, {uuid: (name, n)}"""
    stories, keys, per_name = {}, {}, {}
    for m in messages:
        ev = m.event
        if not ev or "Unique-ID" not in ev or ev.get("Event-Name") in IGNORED_CHANNEL_EVENTS:
            continue
        if "Channel-Name" not in ev:
            continue
        u = ev["Unique-ID"]
        if u not in keys:
            name = UUID_RE.sub("<uuid>", ev["Channel-Name"])
            per_name[name] = per_name.get(name, 0) + 1
            keys[u] = (name, per_name[name])
        row = (ev["Event-Name"],) + tuple(ev.get(h, "") for h in KEY_HEADERS) + \
              ("Other-Leg" if "Other-Leg-Unique-ID" in ev else "",)
        stories.setdefault(keys[u], []).append(row)
    return {k: canonical(v) for k, v in stories.items()}, keys


def canonical(story):
    """A hangup signalled across a loopback pair or a bridge reaches the other channel's running
    app at a racy moment: the real switch reports CHANNEL_HANGUP either before or after that app's
    CHANNEL_UNPARK/CHANNEL_EXECUTE_COMPLETE (s02 vs s12). Both orders are normalised to
    'app ends first', with the hangup-only fields of the app-ending events blanked."""
    out = list(story)
    i = 0
    while i < len(out):
        if out[i][0] == "CHANNEL_HANGUP":
            j = i + 1
            while j < len(out) and out[j][0] in ("CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_UNBRIDGE"):
                j += 1
            if j > i + 1:
                out[i:j] = out[i + 1:j] + [out[i]]
                i = j
                continue
        i += 1
    return [(r[0], r[1], r[2], "" if r[0] in ("CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_UNBRIDGE") else r[3],
             r[4], "" if r[0] in ("CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_UNBRIDGE") else r[5]) + r[6:]
            for r in out]


def normalize_reply(m):
    if m.ctype == "command/reply":
        return "reply: " + UUID_RE.sub("<uuid>", m.envelope.get("Reply-Text", ""))
    if m.ctype == "api/response":
        b = m.body
        if b.startswith("UP "):
            return "api: <status>"
        if b.startswith("{") and '"row_count"' in b:
            obj = json.loads(b)
            rows = obj.get("rows", [])
            return "api: json row_count=%s keys=%s" % (obj.get("row_count"), sorted(rows[0]) if rows else [])
        if b.startswith("Event-Name: CHANNEL_DATA"):
            return "api: <uuid_dump>"
        if b.startswith("+OK Conference "):
            # a member id comes from mod_conference's switch-wide counter (next_member_id), so
            # its value counts every member since the switch started, like a session id: the
            # recording switch had run calls before s11 (its session ids start at 63)
            b = MEMBER_ID_RE.sub("<member-id>;", b)
        return "api: " + UUID_RE.sub("<uuid>", b)
    if m.ctype == "text/disconnect-notice":
        return "notice: %r %s" % (m.body, sorted(k for k in m.envelope if k not in ("Content-Length",)))
    if m.ctype == "auth/request":
        return "auth/request"
    return m.ctype


def global_events(messages):
    out = []
    for m in messages:
        ev = m.event
        if ev and ev.get("Event-Name") in GLOBAL_EVENTS_COMPARED and "Channel-Name" not in ev:
            name = ev["Event-Name"]
            if name == "CUSTOM":
                name += " " + ev.get("Event-Subclass", "")
            if name == "BACKGROUND_JOB":
                body = m.event_body
                name += " " + ("<status>" if body.startswith("UP ") else UUID_RE.sub("<uuid>", body).strip())
            out.append(name)
    return out


class Result:
    def __init__(self, name):
        self.name = name
        self.diffs = []

    @property
    def ok(self):
        return not self.diffs

    def __repr__(self):
        return "<%s %s>" % (self.name, "ok" if self.ok else "%d diffs" % len(self.diffs))


def replay(trace_path, switch, settle=1.0):
    """Replay the trace's sends against `switch` (already started) with the trace's timing."""
    records = load_trace(trace_path)
    expected = [Message(r["data"]) for r in records if r["dir"] == "recv"]
    sock = socket.create_connection(("127.0.0.1", switch.port))
    reader = Reader(sock)
    g = gevent.spawn(reader.run)
    t0 = time.monotonic()
    uuid_map = {}
    try:
        recv_before = 0
        for r in records:
            if r["dir"] == "recv":
                recv_before += 1
                continue
            if r["dir"] != "send":
                continue
            # keep the trace's pacing: call timing (ring timeouts, playback) is part of the story
            delay = r["t"] - (time.monotonic() - t0)
            if delay > 0:
                gevent.sleep(delay)
            _learn_uuids(expected, reader.messages, uuid_map)
            data = r["data"]
            for tu, su in uuid_map.items():
                data = data.replace(tu, su)
            try:
                sock.sendall(data.encode())
            except OSError:
                break
            # a reply must come before the next command, as a synchronous client would wait for it
            n_replies = sum(1 for m in reader.messages if m.event is None)
            deadline = time.monotonic() + 10
            while sum(1 for m in reader.messages if m.event is None) <= n_replies and not reader.closed \
                    and time.monotonic() < deadline:
                gevent.sleep(0.005)
        end = records[-1]["t"] + settle
        want = channel_story(expected)[0]
        while time.monotonic() - t0 < end + 3 and not reader.closed:
            got = channel_story(reader.messages)[0]
            if time.monotonic() - t0 >= end and all(len(got.get(k, [])) >= len(v) for k, v in want.items()):
                break
            gevent.sleep(0.02)
    finally:
        try:
            sock.close()
        except OSError:
            pass
        g.kill()
    return compare(trace_path, expected, reader.messages)


def _learn_uuids(expected, got, uuid_map):
    _, ekeys = channel_story(expected)
    _, gkeys = channel_story(got)
    by_key = {v: k for k, v in gkeys.items()}
    for tu, key in ekeys.items():
        if key in by_key and tu != by_key[key]:
            uuid_map[tu] = by_key[key]


def compare(name, expected, got):
    res = Result(name)
    er = [normalize_reply(m) for m in expected if m.event is None]
    gr = [normalize_reply(m) for m in got if m.event is None]
    if er != gr:
        for i in range(max(len(er), len(gr))):
            a = er[i] if i < len(er) else "<missing>"
            b = gr[i] if i < len(gr) else "<missing>"
            if a != b:
                res.diffs.append("reply #%d: trace %r, sim %r" % (i, a, b))
    es, _ = channel_story(expected)
    gs, _ = channel_story(got)
    for key in list(es) + [k for k in gs if k not in es]:
        a, b = es.get(key, []), gs.get(key, [])
        if a == b:
            continue
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else "<missing>"
            y = b[i] if i < len(b) else "<missing>"
            if x != y:
                res.diffs.append("channel %s#%d event #%d: trace %s, sim %s" % (key[0], key[1], i, x, y))
                break
    eg, gg = global_events(expected), global_events(got)
    if eg != gg:
        res.diffs.append("global events: trace %s, sim %s" % (eg, gg))
    return res
