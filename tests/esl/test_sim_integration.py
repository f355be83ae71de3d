"""EslClient against the simulated FreeSWITCH (fscontrol.sim): calls, pickup index, faults."""

from pathlib import Path

import pytest

sim = pytest.importorskip("fscontrol.sim", reason="fscontrol.sim (simulated FreeSWITCH) not importable")

from fscontrol.esl import (AuthenticationError, CommandError, CommandTimeout, ConnectionLost,  # noqa: E402
                           EslClient)

from .fakeswitch import until  # noqa: E402

DIALPLAN = """<context name="default">
  <extension name="users">
    <condition field="destination_number" expression="^(100[0-9])$">
      <action application="set" data="fscontrol_dialed_extension=$1"/>
      <action application="bridge" data="user/$1@$${domain}"/>
    </condition>
  </extension>
</context>"""


@pytest.fixture
def switch():
    sw = sim.SimSwitch(password="ClueCon", port=0, dialplan=DIALPLAN, heartbeat=0.2).start()
    yield sw
    sw.stop()


@pytest.fixture
def esl(switch, make_client):
    c = make_client(switch.port, heartbeat_interval=0.2, heartbeat_misses=5, command_timeout=2)
    c.connect(timeout=3)
    return c


def test_wrong_password_against_sim(switch, make_client):
    with pytest.raises(AuthenticationError, match="rejected the password"):
        make_client(switch.port, password="nope").connect(timeout=3)


def test_phone_call_rings_then_pickup_index(switch, esl):
    alice, bob = switch.register("1001", "Alice"), switch.register("1002", "Bob")
    bob.ring_forever()
    alice.dial("1002")
    until(lambda: esl.registry.ringing_for("1002", "inbound"), timeout=3)
    caller = esl.registry.ringing_for("1002", "inbound")[0]
    assert caller.caller_id_number == "1001" and caller.destination_number == "1002"
    until(lambda: esl.registry.ringing_for("1002", "outbound"), timeout=3)
    bob.answer()
    until(lambda: not esl.registry.ringing_for("1002"), timeout=3)
    until(lambda: esl.registry.get(caller.uuid).bridged_to is not None, timeout=3)
    alice.hangup()
    until(lambda: len(esl.registry) == 0, timeout=3)


def test_originate_answer_execute_and_hangup(switch, esl):
    phone = switch.register("1003", "Carol")
    phone.auto_answer()
    o = esl.originate(f"user/1003@{switch.domain}", {"origination_caller_id_name": "Call Via Work"})
    answer = o.wait_answer(3)
    assert answer.uuid == o.uuid
    assert o.result(3).value == o.uuid
    assert esl.registry.get(o.uuid).answered
    assert esl.uuid_exists(o.uuid)
    esl.uuid_setvar(o.uuid, "fscontrol_orbit", "7001")
    assert esl.uuid_getvar(o.uuid, "fscontrol_orbit") == "7001"
    ex = esl.sendmsg(o.uuid, "set", "fscontrol_note=hello world")
    assert ex.wait(3).application_uuid == ex.event_uuid
    esl.hangup(o.uuid)
    assert o.wait_hangup(3).hangup_cause == "NORMAL_CLEARING"
    until(lambda: o.uuid not in esl.registry)


def test_originate_to_unregistered_user_fails_with_cause(switch, esl):
    switch.add_user("1009")
    o = esl.originate(f"user/1009@{switch.domain}")
    with pytest.raises(CommandError) as err:
        o.result(3)
    assert err.value.cause == "USER_NOT_REGISTERED"


def test_api_errors_raise(switch, esl):
    with pytest.raises(CommandError):
        esl.uuid_kill("00000000-0000-0000-0000-000000000000")
    assert esl.uuid_exists("00000000-0000-0000-0000-000000000000") is False


def test_reconnect_and_reconcile_after_drop(switch, esl):
    a, b = switch.register("1001"), switch.register("1002")
    b.ring_forever()
    a.dial("1002")
    until(lambda: esl.registry.ringing_for("1002", "inbound"), timeout=3)
    uuids = set(esl.registry.uuids())
    esl.registry.clear()  # forget everything: reconcile must bring it back
    n = esl.connect_count
    switch.drop_connections()
    until(lambda: esl.connect_count == n + 1 and esl.connected, timeout=5)
    assert set(esl.registry.uuids()) == uuids
    assert esl.registry.ringing_for("1002", "inbound")


def test_slow_replies_time_out(switch, esl):
    switch.delay_replies(1.0)
    with pytest.raises(CommandTimeout) as err:  # the reply would come after 1 s
        esl.api("status", timeout=0.2)
    assert "within 0.2s" in str(err.value)
    switch.delay_replies(0)


def test_shutdown_is_detected_and_pending_jobs_fail(switch, esl):
    switch.register("1002").ring_forever()
    o = esl.originate(f"user/1002@{switch.domain}", timeout=5)
    switch.shutdown()
    until(lambda: not esl.connected, timeout=3)
    assert "shut down" in (esl.last_loss or "")
    with pytest.raises((CommandError, ConnectionLost)):
        o.result(3)
