"""Faults across a parked call's life: the database or the switch gone for longer than a timeout,
a row lost. The promise: a parked caller is never left on hold with nobody watching, and nothing
is counted or recorded wrongly because a peer was away."""

import logging

from .conftest import database_down, until


def _blip_and_reconcile(site, caplog):
    """The event socket drops once; returns when the controller has reconnected and reconciled
    (its log, at INFO, kept in `caplog`)."""
    reconciles = site.service.reconciles
    caplog.set_level(logging.INFO, "fscontrol.park")
    site.switch.drop_connections()
    until(lambda: site.service.reconciles > reconciles, 10, message="no reconnect and reconcile")


def _park_direct(site, phone):
    phone.dial("*70")
    return site.orbit_of(phone)


def test_a_deadline_missed_while_the_database_is_down_is_handled_once_it_is_back(make_site, caplog):
    site = make_site(timeout=3, fallback="1003")   # the database goes down well before it
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    carol.auto_answer()
    orbit = _park_direct(site, alice)
    with caplog.at_level(logging.ERROR, "fscontrol.park"), database_down(site):
        until(lambda: "not handled, database unavailable" in caplog.text, 10,
              message="the deadline never tried the database")
        assert alice.hearing() == "music"   # still parked: nothing decided without the database
    alice.wait_connected("1003", timeout=40)
    assert "fallback" in site.log_actions(orbit)


def test_a_caller_who_hangs_up_while_the_database_is_down_is_recorded_as_abandoned(make_site, caplog):
    site = make_site(timeout=3, fallback="")
    alice = site.switch.register("1001", "Alice")
    orbit = _park_direct(site, alice)
    with caplog.at_level(logging.ERROR, "fscontrol.park"), database_down(site):
        alice.hangup()
        alice.wait_idle()
        until(lambda: "hang-up of parked" in caplog.text, 10, message="the hang-up was not tried")
    until(lambda: site.service.store.by_orbit(orbit) is None, 40, message="the orbit was never freed")
    actions = site.log_actions(orbit)
    assert actions[-1] == "abandon" and "disconnect" not in actions, actions


def test_park_code_with_the_database_down_goes_back_to_the_transferring_user(make_site):
    site = make_site()
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.ring_forever()
    with database_down(site):
        call = alice.dial("*70", variables={"referred_by_user": "1002"})
        bob.wait_ringing(10)
        assert bob.display() == "Not parked - Alice"
        assert site.rec.played[call.uuid][0] == site.config.park.prompt_error
        bob.answer()
        alice.wait_connected("1002")


def test_park_code_with_the_database_down_and_nobody_to_return_to_is_disconnected(make_site):
    site = make_site(fallback="")
    alice = site.switch.register("1001", "Alice")
    with database_down(site):
        call = alice.dial("*70")
        alice.wait_idle(10)
    assert site.rec.played[call.uuid] == [site.config.park.prompt_error,
                                          site.config.park.prompt_disconnect]


def test_switch_unreachable_across_the_deadline_uses_no_attempt(make_site, caplog):
    """The event socket refuses connections while the deadline passes (calls stay up): the
    deadline waits, and after the reconnect the parker's phone rings with the attempt intact."""
    site = make_site(timeout=3, max_attempts=1, fallback="1003")
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.ring_forever()
    alice.dial("*70", variables={"referred_by_user": "1002"})
    orbit = site.orbit_of(alice)
    alice.wait_hearing("music")        # parked completely before the switch goes away
    with caplog.at_level(logging.WARNING, "fscontrol.park"):
        site.switch.refuse_connections()
        site.switch.drop_connections()
        until(lambda: "waits for the switch" in caplog.text, 10, message="the deadline did not wait")
        assert alice.hearing() == "music" and bob.state == "idle"
        site.switch.refuse_connections(False)
    bob.wait_ringing(10)
    assert bob.channel.cid_name.startswith("Parked %s" % orbit)
    call = site.service.store.by_orbit(orbit)
    assert call is not None and call.attempts == 1
    bob.answer()
    alice.wait_connected("1002")


def test_a_channel_tagged_as_parked_whose_row_was_lost_is_re_adopted(make_site, caplog):
    site = make_site(timeout=60, fallback="1003")
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    carol.auto_answer()
    orbit = _park_direct(site, alice)
    alice.wait_hearing("music")
    until(lambda: alice.channel.vars.get("fscontrol_parked"), message="never tagged")
    site.crash()
    with site.database.connection() as conn:   # the row is lost while nobody watches
        conn.execute("DELETE FROM parked_calls")
    with caplog.at_level(logging.WARNING, "fscontrol.park"):
        site.start()
        until(lambda: "re-adopted" in caplog.text, 10, message="the orphan was not re-adopted")
    # due at once: nobody to ring back, so the fallback
    alice.wait_connected("1003", timeout=10)
    parks = [r for r in site.service.store.call_log() if r["action"] == "park"]
    assert [r["details"]["via"] for r in parks] == ["code", "readopt"], parks
    assert parks[0]["orbit"] == orbit


def test_a_stranger_named_by_sip_is_not_the_parker(make_site):
    site = make_site()
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70", variables={"referred_by_user": "1002|sip:x@evil|y"})
    orbit = site.orbit_of(alice)
    assert site.service.store.by_orbit(orbit).parker is None


def test_a_retrieved_call_is_not_re_adopted_after_a_reconnect(make_site, caplog):
    """Still tagged fscontrol_parked, but bridged to its retriever: not in park any more."""
    site = make_site(fallback="1003")
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1002", "Carol")
    orbit = _park_direct(site, alice)
    carol.dial(orbit)
    alice.wait_connected("1002")
    _blip_and_reconcile(site, caplog)
    assert "park: re-adopted" not in caplog.text and "0 re-adopted" in caplog.text
    assert alice.connected_to() == "1002" and site.parked() == []


def _parked_by_bob(site, **variables):
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.ring_forever()
    alice.dial("*70", variables={"referred_by_user": "1002", **variables})
    return alice, bob, site.orbit_of(alice)


def test_a_ring_back_that_ends_unanswered_while_the_database_is_down_still_reaches_the_fallback(
        make_site, caplog):
    site = make_site(timeout=1, ringback_timeout=2, max_attempts=1, fallback="1003")
    site.switch.register("1003", "Carol").auto_answer()
    alice, bob, orbit = _parked_by_bob(site)
    bob.wait_ringing(10)
    with caplog.at_level(logging.ERROR, "fscontrol.park"), database_down(site):
        bob.wait_idle(15)   # the ring-back times out while the database is down
        until(lambda: "ring-back outcome" in caplog.text, 10, message="the outcome was not tried")
    alice.wait_connected("1003", timeout=40)


def test_a_ring_back_answered_while_the_database_is_down_connects_once_it_is_back(make_site, caplog):
    site = make_site(timeout=1, ringback_timeout=5, max_attempts=1, fallback="1003")
    alice, bob, orbit = _parked_by_bob(site)
    bob.wait_ringing(10)
    with caplog.at_level(logging.ERROR, "fscontrol.park"), database_down(site):
        bob.answer()
        until(lambda: "ring-back outcome" in caplog.text, 10, message="the outcome was not tried")
    alice.wait_connected("1002", timeout=40)
    assert site.log_actions(orbit)[-1] == "ringback_answered"


def test_an_event_socket_blip_while_the_parker_is_rung_back_loses_nothing(make_site, caplog):
    site = make_site(timeout=1, ringback_timeout=10, max_attempts=1, fallback="")
    alice, bob, orbit = _parked_by_bob(site)
    bob.wait_ringing(10)
    _blip_and_reconcile(site, caplog)
    bob.wait_ringing(10)        # the same ring-back, or a new one: the attempt was not used up
    bob.answer()
    alice.wait_connected("1002", timeout=10)
    assert "disconnect" not in site.log_actions(orbit)


def test_a_call_hearing_the_disconnect_prompt_is_not_re_adopted_after_a_reconnect(make_site, caplog):
    site = make_site(timeout=1, fallback="",
                     prompt_disconnect="tone_stream://%(400,200,425);loops=15")
    alice = site.switch.register("1001", "Alice")
    orbit = _park_direct(site, alice)
    until(lambda: "disconnect" in site.log_actions(orbit), 10, message="no disconnect")
    alice.wait_hearing("tone")
    _blip_and_reconcile(site, caplog)
    assert "park: re-adopted" not in caplog.text
    alice.wait_idle(15)
    assert site.log_actions(orbit).count("disconnect") == 1 and site.parked() == []


def test_a_call_sent_to_the_park_code_while_the_switch_was_unreachable_is_parked_after(make_site):
    site = make_site(fallback="")
    alice = site.switch.register("1001", "Alice")
    site.switch.refuse_connections()
    site.switch.drop_connections()
    until(lambda: not site.esl.connected, 5, message="still connected")
    alice.dial("*70")              # its CHANNEL_PARK reaches no controller
    alice.wait_for(lambda p: p.state == "talking", 5, "the park code answering")
    site.switch.refuse_connections(False)
    orbit = site.orbit_of(alice, timeout=15)
    alice.wait_hearing("music")
    assert site.log_actions(orbit) == ["park"]
    call = site.service.store.by_orbit(orbit)
    assert (call.caller_name, call.caller_number) == ("Alice", "1001")   # not "*70"


def test_the_event_socket_cut_between_the_orbit_and_the_hold_music_restarts_the_music(make_site):
    site = make_site(timeout=60, fallback="")
    alice = site.switch.register("1001", "Alice")
    site.switch.drop_at("api uuid_broadcast")  # the network dies as the music is asked for
    reconciles = site.service.reconciles
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    until(lambda: site.service.reconciles > reconciles, 10, message="no reconnect and reconcile")
    alice.wait_hearing("music")        # not left in silence until the deadline
    assert site.log_actions(orbit) == ["park"]
    assert site.rec.blf(orbit) == ["busy"]
    assert [c.orbit for c in site.parked()] == [orbit]
