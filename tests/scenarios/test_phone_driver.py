"""The phone driver's own promises, on both switches: what a user heard is kept for every call
of the phone, whichever leg of a loopback pair the switch played it on, and however the calls
overlap (the live run of 2026-12-01 lost the parker's orbit announcement when the ring-back
rang before the announcement's call was over)."""

TONE = "tone_stream://%(1500,0,400)"


def test_a_prompt_on_the_switch_side_is_heard_though_a_second_call_rings_meanwhile(backend):
    alice, bob, carol = backend.phones("1001", "1002", "1003")
    bob.auto_answer()
    alice.dial("1002")
    bob.wait_connected(to="1001")
    first = bob.channel
    side = backend.switch.switch_side(first)
    assert side is not None
    bob.ring_forever()
    # the switch plays to the leg it runs Bob's call on (as the park DTMF announcement does)
    backend.api("uuid_broadcast %s %s aleg" % (side.uuid, TONE))
    carol.dial("1002")
    bob.wait_ringing()
    assert bob.channel is not first          # the second call is now the phone's current one
    bob.wait_for(lambda p: "tone" in p.heard(), 5, "the tone in Bob's history")
    carol.hangup()
    alice.hangup()
    bob.wait_idle()
    assert "tone" in bob.heard(), bob.heard()
    assert "tone" not in carol.heard(), carol.heard()
