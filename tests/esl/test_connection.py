"""Connection lifecycle: auth, timeouts, loss, reconnect with backoff, resubscribe + reconcile."""

import logging
import time

import gevent
import pytest
from gevent.server import StreamServer

from fscontrol.esl import (AuthenticationError, CommandTimeout, ConnectionLost, EslClient,
                           REQUIRED_EVENTS)

from . import traces
from .fakeswitch import FakeSwitch, until


def test_auth_ok_subscribes_and_reconciles(fake_switch, client):
    assert client.connected
    cmds = fake_switch.commands
    assert cmds[0] == "auth ClueCon"
    assert cmds[1].startswith("event plain ")
    assert set(REQUIRED_EVENTS) <= set(cmds[1].split()[2:])
    assert cmds[2] == "api show channels as json"


def test_custom_subclasses_in_subscription(fake_switch, make_client):
    c = make_client(fake_switch.port, events=["PRESENCE_IN", "valet_parking::info"])
    c.on("conference::maintenance", lambda ev: None)
    c.connect(timeout=2)
    sub = [x for x in fake_switch.commands if x.startswith("event plain")][0]
    assert "PRESENCE_IN" in sub.split()
    assert sub.split("CUSTOM ", 1)[1].split() == ["valet_parking::info", "conference::maintenance"]


def test_wrong_password_recorded_trace_raises_clear_error(make_client, caplog):
    sw = FakeSwitch(script=traces.load("s01a")).start()
    try:
        c = make_client(sw.port, password="wrong-password")
        caplog.set_level(logging.DEBUG)
        t0 = time.monotonic()
        with pytest.raises(AuthenticationError) as err:
            c.connect(timeout=3)
        assert time.monotonic() - t0 < 2.5  # answered by the switch, not the 3 s connect timeout
        assert str(err.value) == f"ESL at 127.0.0.1:{sw.port} rejected the password"
        assert "wrong-password" not in caplog.text
        # no retry loop after a rejected password
        n = sw.connections
        gevent.sleep(0.1)
        assert sw.connections == n == 1
    finally:
        sw.stop()


def test_wrong_password_default_server(fake_switch, make_client):
    c = make_client(fake_switch.port, password="nope")
    with pytest.raises(AuthenticationError):
        c.start().wait_connected(2)


def test_connect_timeout_when_no_auth_request(make_client, caplog):
    sw = FakeSwitch(send_auth_request=False).start()
    try:
        c = make_client(sw.port, connect_timeout=0.2)
        caplog.set_level(logging.WARNING, logger="fscontrol.esl")
        t0 = time.monotonic()
        with pytest.raises(ConnectionLost) as err:
            c.connect(timeout=0.5)
        assert time.monotonic() - t0 < 3  # a hang guard; the message below names the cause
        assert "auth/request" in str(err.value)
        until(lambda: "connect attempt" in caplog.text)
        line = [r for r in caplog.records if "connect attempt" in r.getMessage()][0].getMessage()
        assert f"127.0.0.1:{sw.port}" in line and "auth/request" in line
    finally:
        sw.stop()


def test_command_timeout_is_an_error_not_a_hang(fake_switch, client):
    fake_switch.mute = True
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        client.api("status", timeout=0.2)
    assert time.monotonic() - t0 < 3  # a hang guard; the message proves the 0.2 s governed
    assert "api status" in str(err.value) and "within 0.2s" in str(err.value)
    # a late reply is consumed by the timed-out command, not given to the next one
    fake_switch.mute = False
    fake_switch.api_replies["status"] = "UP\n"
    fake_switch.api_replies["version"] = "FreeSWITCH 1.10\n"
    # answer the muted one now, then the next command must get its own reply
    fake_switch.live_sessions[0].write("Content-Type: api/response\nContent-Length: 5\n\nLATE\n")
    assert client.api("version") == "FreeSWITCH 1.10\n"


def test_disconnect_mid_command_fails_pending_at_once(fake_switch, client):
    fake_switch.mute = True
    results = []

    def call():
        try:
            client.api("status", timeout=5)
        except Exception as exc:
            results.append(exc)

    greenlets = [gevent.spawn(call) for _ in range(3)]
    until(lambda: len(fake_switch.commands) >= 6)
    t0 = time.monotonic()
    fake_switch.drop()
    gevent.joinall(greenlets, timeout=4)
    assert time.monotonic() - t0 < 2.5  # failed by the loss, not by their 5 s timeout
    assert len(results) == 3 and all(isinstance(e, ConnectionLost) for e in results)


def test_shutdown_notice_from_trace_is_loss(make_client):
    sw = FakeSwitch(script=traces.load("s13"), lookahead=True).start()
    try:
        c = make_client(sw.port, backoff=(5, 5))
        c.connect(timeout=2)
        lost = []
        c.on("SHUTDOWN", lambda ev: lost.append(ev.name))
        with pytest.raises(Exception):
            c.bgapi("fsctl shutdown", timeout=1)  # the job result never comes: loss first
        until(lambda: not c.connected)
        assert "The system is being shut down." in c.last_loss
        until(lambda: lost == ["SHUTDOWN"])
    finally:
        sw.stop()


def test_reconnect_with_backoff_after_server_restart(make_client, caplog):
    sw = FakeSwitch().start()
    port = sw.port
    caplog.set_level(logging.WARNING, logger="fscontrol.esl")
    c = make_client(port, backoff=(0.05, 0.2))
    hooks = []
    c.on_connect(lambda cl: hooks.append(cl.connect_count))
    c.connect(timeout=2)
    assert hooks == [1]
    sw.stop()
    until(lambda: not c.connected)
    until(lambda: caplog.text.count("connect attempt") >= 3, timeout=3)
    with pytest.raises(ConnectionLost):
        c.api("status")
    sw2 = FakeSwitch(port=port).start()
    sw2.channels_json = ('{"row_count":1,"rows":[{"uuid":"aaaaaaaa-0000-0000-0000-000000000001",'
                         '"direction":"inbound","name":"sofia/internal/1001","state":"CS_EXECUTE",'
                         '"cid_name":"Alice","cid_num":"1001","dest":"1002","callstate":"RINGING",'
                         '"call_uuid":""}]}')
    try:
        assert c.wait_connected(3)
        until(lambda: hooks == [1, 2])
        assert sw2.commands[0] == "auth ClueCon"
        assert sw2.commands[1].startswith("event plain")
        assert sw2.commands[2] == "api show channels as json"
        ch = c.registry.get("aaaaaaaa-0000-0000-0000-000000000001")
        assert ch is not None and ch.caller_id_name == "Alice"
        assert [x.uuid for x in c.registry.ringing_for("1002")] == [ch.uuid]
        attempts = [r.getMessage() for r in caplog.records if "connect attempt" in r.getMessage()]
        assert all(f"127.0.0.1:{port}" in a for a in attempts)
        delays = [float(a.rsplit("retrying in ", 1)[1].rstrip("s")) for a in attempts]
        assert max(delays) <= 0.2 + 1e-9
    finally:
        sw2.stop()


def test_missed_heartbeats_detected(make_client):
    sw = FakeSwitch().start()
    try:
        c = make_client(sw.port, heartbeat_interval=0.1, heartbeat_misses=2, backoff=(5, 5))
        c.connect(timeout=2)
        t0 = time.monotonic()
        until(lambda: not c.connected, timeout=2)  # detected on its own, long before any TCP timeout
        assert time.monotonic() - t0 > 0.15  # not before two intervals were missed
        assert "HEARTBEAT" in c.last_loss
    finally:
        sw.stop()


def test_heartbeats_keep_connection(make_client):
    sw = FakeSwitch().start()
    try:
        c = make_client(sw.port, heartbeat_interval=0.1, heartbeat_misses=2)
        c.connect(timeout=2)
        beat = gevent.spawn(lambda: [ (sw.push_event({"Event-Name": "HEARTBEAT"}), gevent.sleep(0.05)) for _ in range(12)])
        beat.join()
        assert c.connected and c.connect_count == 1
    finally:
        sw.stop()


def test_events_are_held_until_reconcile_done(make_client):
    """Events arriving between subscription and the snapshot reach handlers only after it."""
    sw = FakeSwitch().start()
    order = []

    def on_command(session, command):
        if command == "api show channels as json":
            ev = {"Event-Name": "CHANNEL_CREATE", "Unique-ID": "bbbbbbbb-0000-0000-0000-000000000001",
                  "Channel-State": "CS_INIT", "Channel-Call-State": "DOWN", "Call-Direction": "inbound"}
            from fscontrol.esl import encode_plain_event
            from .fakeswitch import api_response
            return [encode_plain_event(ev), api_response('{"row_count": 0}\n')]
        return None

    sw.on_command = on_command
    try:
        c = make_client(sw.port)
        c.on("CHANNEL_CREATE", lambda ev: order.append(("event", len(c.registry))))
        c.on_connect(lambda cl: order.append(("hook", len(cl.registry))))
        c.connect(timeout=2)
        until(lambda: len(order) == 2)
        # the channel created before the snapshot is absent from it: the snapshot wins
        assert ("event", 0) in order
    finally:
        sw.stop()


def test_stop_is_clean(fake_switch, make_client):
    c = make_client(fake_switch.port)
    c.connect(timeout=2)
    c.stop()
    assert not c.connected
    assert fake_switch.commands[-1] == "exit"
    with pytest.raises(ConnectionLost):
        c.api("status")


def test_waiting_for_the_socket_counts_against_the_command_timeout(fake_switch, client):
    """A command queued behind a sender stuck on a full socket fails in its own time."""
    lock = client._conn._send_lock
    lock.acquire()  # stands for another greenlet blocked in sendall
    try:
        with pytest.raises(CommandTimeout) as err:
            client.api("status", timeout=0.2)
        assert "could not send 'api status' within 0.2s" in str(err.value)
    finally:
        lock.release()
    fake_switch.api_replies["status"] = "UP\n"
    assert client.api("status") == "UP\n"  # the connection is still usable
