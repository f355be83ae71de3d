"""Group Call Pickup and directed pickup scenarios, written once and run on the simulated and the
real switch with the controller `fscontrol run` builds (Call Park and Group Call Pickup).
Assertions are on what the users experience: whom the picker talks to, whose phone stops ringing
and why (PICKED_OFF: "call completed elsewhere", no missed call), which prompt a picker hears
(the nothing-ringing and the refused prompts are different tones), what the caller hears (early
media), what a BLF key on the group shows. Run-time membership is changed from outside the
controller, as `fscontrol pickup-group add|remove` does. A picked-up call is ended here by its
caller, whose hang-up ends the picker's leg on both switches (the picker's uuid_bridge returns
to CS_EXECUTE with no application left: NORMAL_CLEARING). When the picker hangs up first, the
caller's call ends too: the controller set transfer_after_bridge=hangup:inline on it (an
intercepted channel would otherwise go on with its extension, i.e. the member's voicemail).

Users (tests/live/fscontrol.toml): Alice 1001, Bob 1002, Carol 1003 in group *8001 (its pickers
are its members); Dave 1004 and Erin 1005 in no group."""

from waiting import until

GROUP = "*8001"
ROUNDS = 5


def _prompt(ctl, name):
    """The sound of a pickup prompt (`pickup.prompt_<name>`, a tone by default)."""
    return getattr(ctl.config.pickup, "prompt_" + name)


def _ring(caller, callee):
    """`caller` calls `callee`, whose phone rings until someone answers it."""
    callee.ring_forever()
    caller.dial(callee.user)
    callee.wait_ringing(10)


def _heard_prompt_then_hung_up(phone, call, prompt):
    """`phone`'s `call` (what `dial` returned) heard `prompt`, nothing else, then was hung up."""
    phone.wait_idle(10)
    assert phone.played(call) == [prompt], phone.played(call)
    assert phone.last_hangup_cause == "NORMAL_CLEARING"


def _blf(backend):
    return backend.switch.blf(GROUP, proto="pickup")


def test_a_member_picks_up_the_longest_ringing_call_of_the_group(backend, pickup_controller):
    pickup_controller()
    alice, bob, carol, dave, erin = backend.phones("1001", "1002", "1003", "1004", "1005")
    _ring(dave, bob)                       # rings first
    _ring(erin, carol)
    alice.dial(GROUP)
    alice.wait_connected(to="1004", timeout=10)   # Dave's call: the longest ringing
    dave.wait_connected(to="1001")
    assert alice.hearing() == dave.hearing() == "voice"
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"   # mod_sofia: "Call completed elsewhere"
    assert carol.state == "ringing" and erin.state == "dialing"

    bob.dial(GROUP)                        # the next one is Erin's, still ringing Carol
    bob.wait_connected(to="1005", timeout=10)
    erin.wait_connected(to="1002")
    carol.wait_idle()
    assert carol.last_hangup_cause == "PICKED_OFF"
    assert alice.connected_to() == "1004"


def test_a_members_own_outbound_call_in_early_media_is_not_pickable(backend, pickup_controller):
    """Bob (a member) calls Dave, whose phone answers with early media (183 and a tone) and never
    answers: Bob's call is in early media, as FusionPBX's pickup took such calls (its #1209,
    #1237). Alice's pickup finds nothing ringing for the group; Bob still hears Dave's tone."""
    ctl = pickup_controller()
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    dave.early_media()
    bob.dial("1004")
    bob.wait_hearing("tone", timeout=10)  # Dave's early media
    assert bob.state == "dialing" and dave.state == "ringing"
    call = alice.dial(GROUP)
    _heard_prompt_then_hung_up(alice, call, _prompt(ctl, "nothing_ringing"))
    assert bob.state == "dialing" and bob.connected_to() is None
    bob.wait_hearing("tone")
    assert dave.state == "ringing"


def test_an_answered_call_is_not_pickable(backend, pickup_controller):
    ctl = pickup_controller()
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    bob.auto_answer()
    dave.dial("1002")
    dave.wait_connected(to="1002", timeout=10)
    call = alice.dial(GROUP)
    _heard_prompt_then_hung_up(alice, call, _prompt(ctl, "nothing_ringing"))
    assert dave.connected_to() == "1002" and bob.connected_to() == "1004"


def test_nothing_ringing_plays_the_prompt_then_hangs_up(backend, pickup_controller):
    ctl = pickup_controller()
    alice = backend.phone("1001")
    call = alice.dial(GROUP)
    _heard_prompt_then_hung_up(alice, call, _prompt(ctl, "nothing_ringing"))


def test_a_non_member_hears_the_refused_prompt(backend, pickup_controller):
    ctl = pickup_controller()
    bob, dave, erin = backend.phones("1002", "1004", "1005")
    _ring(dave, bob)
    call = erin.dial(GROUP)                # Erin is in no group; the group's pickers are its members
    _heard_prompt_then_hung_up(erin, call, _prompt(ctl, "refused"))
    assert _prompt(ctl, "refused") != _prompt(ctl, "nothing_ringing")
    assert bob.state == "ringing" and dave.state == "dialing"


def test_directed_pickup_takes_the_call_ringing_that_user(backend, pickup_controller):
    ctl = pickup_controller()
    alice, bob, carol, dave, erin = backend.phones("1001", "1002", "1003", "1004", "1005")
    _ring(dave, bob)                       # the group's longest ringing, not the one asked for
    _ring(erin, carol)
    alice.dial(ctl.config.features.directed_pickup + "1003")
    alice.wait_connected(to="1005", timeout=10)
    erin.wait_connected(to="1001")
    carol.wait_idle()
    assert carol.last_hangup_cause == "PICKED_OFF"
    assert bob.state == "ringing" and dave.state == "dialing"


def test_two_pickers_race_for_one_call_exactly_one_is_connected(backend, pickup_controller):
    ctl = pickup_controller()
    alice, bob, carol, dave = backend.phones("1001", "1002", "1003", "1004")
    for round_ in range(ROUNDS):
        _ring(dave, bob)
        calls = {alice: alice.dial(GROUP), carol: carol.dial(GROUP)}
        picked = until(dave.connected_to, 10, message=f"round {round_}: nobody picked up")
        assert picked in ("1001", "1003"), picked
        winner, loser = (alice, carol) if picked == "1001" else (carol, alice)
        loser.wait_idle(10)
        assert loser.played(calls[loser]) == [_prompt(ctl, "nothing_ringing")], (
            round_, loser.played(calls[loser]))
        assert winner.connected_to() == "1004" and winner.played(calls[winner]) == []
        bob.wait_idle()
        assert bob.last_hangup_cause == "PICKED_OFF"
        dave.hangup()
        dave.wait_idle()
        winner.wait_idle()


def test_a_caller_who_hangs_up_before_the_pickup_leaves_the_picker_the_prompt(backend,
                                                                              pickup_controller):
    ctl = pickup_controller()
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    _ring(dave, bob)
    dave.hangup()
    dave.wait_idle()
    bob.wait_idle()                        # stopped ringing: the caller gave up
    call = alice.dial(GROUP)
    _heard_prompt_then_hung_up(alice, call, _prompt(ctl, "nothing_ringing"))


def test_a_caller_who_hangs_up_during_the_pickup_leaves_nothing_half_bridged(backend,
                                                                           pickup_controller):
    """Dave gives up while Alice's pickup is under way — as she dials, or once the switch has
    answered her call and handed it to the controller: whichever comes first, Alice is never left
    in a dead call (she hears the nothing-ringing prompt, or talks to Dave until his hang-up ends
    her call) and every phone ends idle."""
    ctl = pickup_controller()
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    for round_ in range(2 * ROUNDS):
        _ring(dave, bob)
        call = alice.dial(GROUP)
        if round_ % 2:
            alice.wait_for(lambda p: call.answered, 10, "the pickup number answering")
        dave.hangup()
        for phone in (dave, bob, alice):
            phone.wait_idle(10)
        assert set(alice.played(call)) <= {_prompt(ctl, "nothing_ringing")}, alice.played(call)


def test_the_groups_blf_key_blinks_while_a_members_call_rings(backend, pickup_controller):
    """The key on `pickup+*8001` rings while a call rings a member and is idle otherwise: when
    the caller gives up, after a pickup, when the member answers — and a member's own outbound
    call in early media never makes it ring."""
    pickup_controller()
    alice, bob, carol, dave, erin = backend.phones("1001", "1002", "1003", "1004", "1005")
    until(lambda: _blf(backend) == "idle", message="no BLF for the group after the start")
    dave.early_media()
    bob.dial("1004")                       # Bob's own call, in early media: not the group's
    bob.wait_hearing("tone", timeout=10)

    _ring(erin, carol)
    until(lambda: _blf(backend) == "ringing", message="BLF not ringing for Carol's call")
    erin.hangup()
    until(lambda: _blf(backend) == "idle", message="BLF still ringing after Erin gave up")

    _ring(erin, alice)
    until(lambda: _blf(backend) == "ringing", message="BLF not ringing for Alice's call")
    carol.dial(GROUP)
    carol.wait_connected(to="1005", timeout=10)
    until(lambda: _blf(backend) == "idle", message="BLF still ringing after the pickup")
    erin.hangup()
    carol.wait_idle()

    _ring(erin, alice)
    until(lambda: _blf(backend) == "ringing", message="BLF not ringing for Alice's second call")
    alice.answer()
    erin.wait_connected(to="1001")
    until(lambda: _blf(backend) == "idle", message="BLF not idle with the call answered")
    assert backend.switch.blf_history(GROUP, proto="pickup") == ["idle", "ringing"] * 3 + ["idle"]
    assert bob.state == "dialing"          # his early-media call was up all along


def test_members_added_and_removed_at_run_time_without_a_restart(backend, pickup_controller):
    """As `fscontrol pickup-group add|remove` does, from outside the running controller: Erin
    added to *8001 may pick up its calls; Dave added, a call ringing him is the group's; both
    removed, Erin is refused again and Dave's calls are no longer the group's."""
    ctl = pickup_controller()
    alice, bob, dave, erin = backend.phones("1001", "1002", "1004", "1005")
    ctl.admin.add(GROUP, "1005")
    _ring(dave, bob)
    erin.dial(GROUP)
    erin.wait_connected(to="1004", timeout=10)
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"
    dave.hangup()
    erin.wait_idle()

    ctl.admin.add(GROUP, "1004")
    _ring(erin, dave)
    alice.dial(GROUP)
    alice.wait_connected(to="1005", timeout=10)
    dave.wait_idle()
    assert dave.last_hangup_cause == "PICKED_OFF"
    erin.hangup()
    alice.wait_idle()

    ctl.admin.remove(GROUP, "1005")
    ctl.admin.remove(GROUP, "1004")
    _ring(dave, bob)
    call = erin.dial(GROUP)
    _heard_prompt_then_hung_up(erin, call, _prompt(ctl, "refused"))
    assert bob.state == "ringing"
    dave.hangup()
    bob.wait_idle()
    _ring(erin, dave)
    call = alice.dial(GROUP)               # a call ringing Dave is no longer the group's
    _heard_prompt_then_hung_up(alice, call, _prompt(ctl, "nothing_ringing"))
    assert dave.state == "ringing"


def test_when_the_picker_hangs_up_the_callers_call_ends_too(backend, pickup_controller):
    """Never the member's voicemail after a pickup: the call is over for the caller as well."""
    pickup_controller()
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    _ring(dave, bob)
    alice.dial(GROUP)
    dave.wait_connected(to="1001", timeout=10)
    alice.hangup()
    dave.wait_idle(10)
    assert "recording" not in dave.heard(), dave.heard()
