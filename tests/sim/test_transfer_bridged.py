"""uuid_transfer of one leg of a bridge takes it out of the bridge; the partner sees the bridge end
and follows its after-bridge variables (park_after_bridge parks it, hangup_after_bridge ends it)."""

from fscontrol.sim import SimSwitch

DIALPLAN = """<include><context name="default">
  <extension name="users">
    <condition field="destination_number" expression="^(100[0-9])$">
      <action application="set" data="hangup_after_bridge=true"/>
      <action application="bridge" data="user/$1@$${domain}"/>
    </condition>
  </extension>
</context></include>"""


def _call():
    sw = SimSwitch(port=0, dialplan=DIALPLAN, heartbeat=0).start()
    alice, bob = sw.register("1001"), sw.register("1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    return sw, alice, bob


def test_transferring_the_b_leg_ends_the_callers_bridge_and_park_after_bridge_parks_it():
    sw, alice, bob = _call()
    try:
        a, b = alice.channel, bob.channel
        sw.api.execute("uuid_setvar", f"{a.uuid} hangup_after_bridge false")
        sw.api.execute("uuid_setvar", f"{a.uuid} park_after_bridge true")
        assert sw.api.execute("uuid_transfer", f"{b.uuid} park inline").startswith("+OK")
        assert sw.wait_until(lambda: b.parked and a.parked, 3)
        assert a.bridged is None and b.bridged is None
        assert alice.connected_to() is None and bob.connected_to() is None
    finally:
        sw.stop()


def test_transferring_the_b_leg_hangs_up_a_caller_with_hangup_after_bridge():
    sw, alice, bob = _call()
    try:
        b = bob.channel
        sw.api.execute("uuid_transfer", f"{b.uuid} park inline")
        alice.wait_idle(3)
        assert b.alive and sw.wait_until(lambda: b.parked, 3)
    finally:
        sw.stop()
