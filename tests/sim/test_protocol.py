"""ESL protocol behaviour of the simulator, against a raw socket and against greenswitch."""
import socket
import time
import urllib.parse

import gevent
import pytest

from fscontrol.sim import wire
from fscontrol.sim.replay import Reader

from waiting import until


class Client:
    def __init__(self, sw):
        self.sock = socket.create_connection(("127.0.0.1", sw.port))
        self.reader = Reader(self.sock)
        self.g = gevent.spawn(self.reader.run)
        self.seen = 0

    def send(self, text):
        self.sock.sendall(text.encode())

    def next(self, pred=lambda m: True, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while self.seen < len(self.reader.messages):
                m = self.reader.messages[self.seen]
                self.seen += 1
                if pred(m):
                    return m
            gevent.sleep(0.005)
        raise AssertionError("no matching message")

    def reply(self):
        return self.next(lambda m: m.event is None)

    def auth(self, pw="ClueCon"):
        assert self.next().ctype == "auth/request"
        self.send("auth %s\n\n" % pw)
        return self.reply()

    def close(self):
        self.sock.close()
        self.g.kill()


@pytest.fixture
def client(switch):
    c = Client(switch)
    yield c
    c.close()


def test_wrong_password_gets_invalid_then_goodbye_and_close(client):
    r = client.auth("nope")
    assert r.raw == "Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"
    n = client.reply()
    assert n.raw == ("Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
                     "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")
    until(lambda: client.reader.closed, message="socket closed")


def test_exit_says_bye(client):
    client.auth()
    client.send("exit\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK bye"
    assert client.reply().ctype == "text/disconnect-notice"
    until(lambda: client.reader.closed, message="socket closed")


def test_api_errors_and_bgapi_job_uuid_honoured(client):
    client.auth()
    client.send("api no_such_command\n\n")
    assert client.reply().body == "-ERR no_such_command Command not found!\n"
    client.send("api uuid_kill 00000000-0000-0000-0000-000000000000\n\n")
    assert client.reply().body == "-ERR No such channel!\n"
    client.send("event plain BACKGROUND_JOB\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK event listener enabled plain"
    client.send("bgapi uuid_exists x\nJob-UUID: 11111111-2222-3333-4444-555555555555\n\n")
    r = client.reply()
    assert r.envelope["Reply-Text"] == "+OK Job-UUID: 11111111-2222-3333-4444-555555555555"
    assert r.envelope["Job-UUID"] == "11111111-2222-3333-4444-555555555555"
    ev = client.next(lambda m: m.event is not None)
    assert ev.event["Job-UUID"] == "11111111-2222-3333-4444-555555555555"
    assert ev.event_body == "false"


def test_call_events_arrive_before_the_background_job(client):
    client.auth()
    client.send("event plain CHANNEL_PARK BACKGROUND_JOB\n\n")
    client.reply()
    client.send("bgapi originate {origination_uuid=aaaaaaaa-0000-0000-0000-000000000001}loopback/park/trace &park()\n\n")
    client.reply()
    names = [client.next(lambda m: m.event is not None).event["Event-Name"] for _ in range(3)]
    assert names[0] == "CHANNEL_PARK"         # the -b leg parks inside the dialplan first
    assert "BACKGROUND_JOB" in names


def test_plain_event_values_are_url_encoded_like_freeswitch():
    assert wire.url_encode("loopback/orbit-7001-b") == "loopback/orbit-7001-b"
    assert wire.url_encode("Sat, 21 Nov 2026 20:14:33 GMT") == "Sat,%2021%20Nov%202026%2020%3A14%3A33%20GMT"
    assert wire.url_encode("{a=b}x &park()") == "%7Ba%3Db%7Dx%20%26park()"
    assert wire.url_encode("7001@pbx.test") == "7001%40pbx.test"
    assert wire.url_encode("+1 'x' ~*%") == "%2B1%20'x'%20~*%25"
    raw = wire.event_plain([("Event-Name", "X"), ("Info", "a b")], "body")
    head, _, payload = raw.partition(b"\n\n")
    assert head == b"Content-Length: %d\nContent-Type: text/event-plain" % len(payload)
    assert payload == b"Event-Name: X\nInfo: a%20b\nContent-Length: 4\n\nbody"


def test_subscriptions_nixevent_noevents_filter(client):
    client.auth()
    client.send("event plain CHANNEL_CREATE CUSTOM valet_parking::info\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK event listener enabled plain"
    client.send("nixevent CHANNEL_CREATE\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK events nixed"
    client.send("filter Event-Name CHANNEL_ANSWER\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK filter added. [Event-Name]=[CHANNEL_ANSWER]"
    client.send("filter delete Event-Name CHANNEL_ANSWER\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK filter deleted. [Event-Name][CHANNEL_ANSWER]"
    client.send("noevents\n\n")
    assert client.reply().envelope["Reply-Text"] == "+OK no longer listening for events"


def test_command_split_at_odd_byte_boundaries(client):
    client.next()
    for ch in "auth ClueCon\n\napi uuid_exists nope\n\n":
        client.send(ch)
        gevent.sleep(0)
    assert client.reply().envelope["Reply-Text"] == "+OK accepted"
    assert client.reply().body == "false"


def test_shutdown_notice_exactly_as_s13(switch, client):
    client.auth()
    client.send("event plain SHUTDOWN CHANNEL_HANGUP_COMPLETE\n\n")
    client.reply()
    client.send("api originate {origination_uuid=aaaaaaaa-0000-0000-0000-000000000013}null/1001 &park()\n\n")
    assert client.reply().body == "+OK aaaaaaaa-0000-0000-0000-000000000013\n"
    gevent.spawn(switch.shutdown)
    assert client.next(lambda m: m.event is not None).event["Event-Name"] == "SHUTDOWN"
    hc = client.next(lambda m: m.event is not None)
    assert hc.event["Hangup-Cause"] == "SYSTEM_SHUTDOWN"
    n = client.next(lambda m: m.event is None)
    assert n.raw == "Content-Type: text/disconnect-notice\nContent-Length: 31\n\nThe system is being shut down.\n"
    until(lambda: client.reader.closed, message="socket closed")


def test_drop_connections_and_delay_replies(switch, client):
    client.auth()
    switch.delay_replies(0.3)
    t = time.monotonic()
    client.send("api uuid_exists x\n\n")
    client.reply()
    assert time.monotonic() - t >= 0.3
    switch.delay_replies(0)
    switch.drop_connections()
    until(lambda: client.reader.closed, message="socket dropped")


def test_greenswitch_client_talks_to_the_simulator(switch):
    import greenswitch
    fs = greenswitch.InboundESL(host="127.0.0.1", port=switch.port, password="ClueCon")
    fs.connect()
    try:
        r = fs.send("api uuid_exists 00000000-0000-0000-0000-000000000000")
        assert r.data == "false"
        r = fs.send("api originate {origination_uuid=bbbbbbbb-0000-0000-0000-000000000001}null/1001 &park()")
        assert r.data.strip() == "+OK bbbbbbbb-0000-0000-0000-000000000001"
        assert fs.send("api uuid_exists bbbbbbbb-0000-0000-0000-000000000001").data == "true"
    finally:
        fs.stop()


def test_refused_connections_are_closed_until_allowed_again(switch):
    import socket as pysocket
    switch.refuse_connections()
    s = pysocket.create_connection(("127.0.0.1", switch.port), timeout=2)
    assert s.recv(100) == b""  # closed at once, no auth/request
    s.close()
    switch.refuse_connections(False)
    s = pysocket.create_connection(("127.0.0.1", switch.port), timeout=2)
    assert s.recv(100).startswith(b"Content-Type: auth/request")
    s.close()


def test_show_calls_joins_a_bridged_pair_into_one_row(switch, client):
    """`show calls` is FreeSWITCH's basic_calls view: the caller's row carries its callee as b_*,
    the callee has no row of its own, unbridged channels have empty b_* (s05 shows the columns)."""
    import json
    client.auth()
    a, b, c = ("aaaaaaaa-0000-0000-0000-00000000000%d" % i for i in (1, 2, 3))
    for u, n in ((a, 1001), (b, 1002), (c, 1003)):
        client.send("api originate {origination_uuid=%s}null/%d &park()\n\n" % (u, n))
        assert client.reply().body.startswith("+OK")
    assert until(lambda: all(ch.parked for ch in switch.channels()) and len(switch.channels()) == 3)
    client.send("api uuid_bridge %s %s\n\n" % (a, b))
    assert client.reply().body == "+OK %s\n" % b

    def calls():
        client.send("api show calls as json\n\n")
        return json.loads(client.reply().body)

    assert until(lambda: calls()["row_count"] == 2)
    rows = calls()["rows"]
    assert [r["uuid"] for r in rows] == [c, a]          # unbridged first (NULL call_created_epoch)
    assert rows[0]["b_uuid"] == "" and rows[0]["call_created_epoch"] == ""
    assert rows[1]["b_uuid"] == b and rows[1]["b_name"] == "null/1002" and rows[1]["call_created_epoch"]
    client.send("api uuid_kill %s\n\n" % b)
    client.reply()
    assert until(lambda: [r["uuid"] for r in calls()["rows"]] == [c])   # a's app list ended with the bridge (s03)


def test_conference_members_floor_and_list(switch, client):
    """Two callers in one room (the trace has one): ids count up, the first keeps the floor
    until it leaves, then the other has it; the room goes with its last member."""
    client.auth()
    for n in ("1001", "1002"):
        client.send("api originate {origination_caller_id_number=%s}loopback/conf-3000/trace &park()\n\n" % n)
        assert client.reply().body.startswith("+OK")

    def listing():
        client.send("api conference list\n\n")
        return client.reply().body

    until(lambda: "2 members" in listing() and "|floor" in listing())
    lines = listing().splitlines()
    assert lines[0].startswith("+OK Conference 3000 (2 members rate: 8000 flags: running|")
    first, second = (line.split(";") for line in lines[1:])
    assert (first[0], first[4], first[5]) == ("1", "1001", "hear|speak|floor")
    assert (second[0], second[4], second[5]) == ("2", "1002", "hear|speak")
    client.send("api uuid_kill %s\n\n" % first[2])
    client.reply()
    until(lambda: "(1 member " in listing())
    assert listing().splitlines()[1].split(";")[5] == "hear|speak|floor"
    client.send("api uuid_kill %s\n\n" % second[2])
    client.reply()
    until(lambda: listing() == "+OK No active conferences.\n")


def test_valet_auto_in_from_a_bridge_parks_the_partner_and_a_slot_dial_retrieves(switch, client):
    """mod_valet_parking's transfer case (not in s06): `auto in` on a bridged leg sends its
    partner to the slot with a ticket and hangs the parker up; dialling the slot retrieves."""
    import json
    client.auth()
    a, b = "aaaaaaaa-0000-0000-0000-00000000000a", "aaaaaaaa-0000-0000-0000-00000000000b"
    for u, n in ((a, 1001), (b, 1002)):
        client.send("api originate {origination_uuid=%s}null/%d &park()\n\n" % (u, n))
        assert client.reply().body.startswith("+OK")
    until(lambda: len(switch.channels()) == 2 and all(ch.parked for ch in switch.channels()))
    client.send("api uuid_bridge %s %s\n\n" % (a, b))
    client.reply()
    until(lambda: switch.find(b) is not None and switch.find(b).bridged is not None)
    client.send("api uuid_setvar %s park_after_bridge true\n\n" % b)    # b waits while a leaves
    client.reply()
    client.send("api uuid_transfer %s 'valet_park:lot1 auto in 7001 7010' inline\n\n" % a)
    assert client.reply().body == "+OK\n"

    def info():
        client.send("api valet_info lot1\n\n")
        return client.reply().body

    until(lambda: switch.find(a) is None, timeout=5)              # the parker is hung up
    until(lambda: '<extension uuid="%s">7001</extension>' % b in info(), timeout=5)
    assert switch.valet.parked_in("lot1") == {"7001": b}
    client.send("api originate {origination_caller_id_number=1003}loopback/valet-7001/trace &park()\n\n")
    assert client.reply().body.startswith("+OK")
    until(lambda: info() == '<lots>\n  <lot name="lot1">\n  </lot>\n</lots>\n')
    client.send("api show calls as json\n\n")
    rows = json.loads(client.reply().body)["rows"]
    assert any(r["uuid"] == b and r["b_name"] == "loopback/valet-7001-b" for r in rows)
