"""The simulated `intercept` follows FreeSWITCH: mod_dptools.c intercept_function takes
"[-bleg] <uuid>"; switch_ivr_intercept_session (switch_ivr_bridge.c) takes <uuid> itself (with
-bleg, the channel bonded or bridged to it: switch_ivr_find_bridged_uuid), returns without
touching anything when the intercepting channel has intercept_unanswered_only and the target is
answered or intercept_unbridged_only and it is bridged (the dialplan goes on), else answers it,
bridges it to the interceptor and hangs up its partner with PICKED_OFF."""

import pytest

from fscontrol.sim import SimSwitch

TONE = "tone_stream://%(100,0,400)"
DIALPLAN = """<include><context name="default">
  <extension name="users">
    <condition field="destination_number" expression="^(100[0-9])$">
      <action application="bridge" data="user/$1@$${domain}"/>
    </condition>
  </extension>
  <extension name="intercept-bleg">
    <condition field="destination_number" expression="^intercept-bleg-(.+)$">
      <action application="answer"/>
      <action application="intercept" data="-bleg $1"/>
      <action application="playback" data="%(tone)s"/>
    </condition>
  </extension>
  <extension name="unanswered-only">
    <condition field="destination_number" expression="^unanswered-only-(.+)$">
      <action application="set" data="intercept_unanswered_only=true"/>
      <action application="answer"/>
      <action application="intercept" data="$1"/>
      <action application="playback" data="%(tone)s"/>
    </condition>
  </extension>
  <extension name="unbridged-only">
    <condition field="destination_number" expression="^unbridged-only-(.+)$">
      <action application="set" data="intercept_unbridged_only=true"/>
      <action application="answer"/>
      <action application="intercept" data="$1"/>
      <action application="playback" data="%(tone)s"/>
    </condition>
  </extension>
  <extension name="intercept">
    <condition field="destination_number" expression="^intercept-(.+)$">
      <action application="answer"/>
      <action application="intercept" data="$1"/>
      <action application="playback" data="%(tone)s"/>
    </condition>
  </extension>
</context></include>""" % {"tone": TONE}


@pytest.fixture
def sw():
    s = SimSwitch(port=0, dialplan=DIALPLAN, heartbeat=0).start()
    yield s
    s.stop()


def _ringing(sw):
    alice, bob, carol = sw.register("1001"), sw.register("1002"), sw.register("1003")
    alice.dial("1002")
    bob.wait_ringing()
    return alice, bob, carol


def _answered(sw):
    alice, bob, carol = sw.register("1001"), sw.register("1002"), sw.register("1003")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    return alice, bob, carol


def test_intercepting_the_callers_leg_takes_the_call_and_picks_off_the_ringing_phone(sw):
    alice, bob, carol = _ringing(sw)
    carol.dial("intercept-" + alice.channel.uuid)
    carol.wait_connected("1001")
    alice.wait_connected("1003")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"


def test_intercepting_the_ringing_leg_without_bleg_takes_that_leg_and_hangs_up_its_caller(sw):
    """The ringing callee's leg is the target, its partner the caller: a pickup that names the
    wrong leg drops the caller on a real switch, and does here."""
    alice, bob, carol = _ringing(sw)
    carol.dial("intercept-" + bob.channel.uuid)
    alice.wait_idle()
    assert alice.last_hangup_cause == "PICKED_OFF"
    assert carol.connected_to() != "1001"


def test_intercept_bleg_of_the_ringing_leg_takes_its_caller(sw):
    alice, bob, carol = _ringing(sw)
    carol.dial("intercept-bleg-" + bob.channel.uuid)
    carol.wait_connected("1001")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"


@pytest.mark.parametrize("guard", ["unanswered-only", "unbridged-only"])
def test_a_guard_refuses_an_answered_bridged_call_and_the_dialplan_goes_on(sw, guard):
    alice, bob, carol = _answered(sw)
    call = carol.dial(f"{guard}-{alice.channel.uuid}")
    carol.wait_for(lambda p: p.hearing() == "tone", 5, "the dialplan's next action")
    assert carol.connected_to() is None
    assert alice.connected_to() == "1002" and bob.connected_to() == "1001"
    assert call.alive


def test_unguarded_intercept_of_an_answered_call_picks_off_its_bridged_peer(sw):
    alice, bob, carol = _answered(sw)
    carol.dial("intercept-" + alice.channel.uuid)
    carol.wait_connected("1001")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"
