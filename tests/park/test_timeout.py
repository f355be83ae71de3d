"""Timeout, ring-back and fallback (Lync semantics), with test timings of about a second:
the parker is rung with "Parked <orbit> - <caller>", unanswered/busy/unregistered uses an attempt,
the caller hears hold music in between, and used-up attempts go to the fallback."""

import dataclasses

import pytest

from fscontrol.esl import CommandError

from .conftest import until

REFERRED_BY_BOB = {"referred_by_user": "1002"}


def test_unanswered_ringbacks_use_max_attempts_then_the_fallback_extension(make_site):
    site = make_site(timeout=1, ringback_timeout=1, max_attempts=2, fallback="1003")
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    bob.ring_forever()
    alice.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(alice)
    alice.wait_hearing("music")
    rings = []
    for attempt in (1, 2):
        bob.wait_ringing(5)
        rings.append(bob.display())
        assert alice.hearing() == "music"  # never silence, never ringing
        until(lambda: bob.state == "idle", 5)
        if attempt == 1:
            until(lambda: site.service.store.by_orbit(orbit).state.value == "parked")
            assert alice.hearing() == "music"
    assert rings == [f"Parked {orbit} - Alice"] * 2
    carol.wait_ringing(5)
    carol.answer()
    alice.wait_connected("1003")
    assert site.service.store.by_orbit(orbit) is None
    assert site.log_actions(orbit) == ["park", "timeout", "ringback_failed", "timeout", "fallback"]
    causes = [r["details"].get("cause") or r["details"].get("reason")
              for r in site.service.store.call_log(orbit)[2:]]
    assert "NO_ANSWER" in causes[0]
    until(lambda: site.rec.blf(orbit) == ["busy", "idle"])


def test_parker_answers_the_ringback_and_is_bridged_to_the_parked_call(make_site):
    site = make_site(timeout=1, ringback_timeout=3)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(alice)
    alice.wait_connected("1002", timeout=5)
    bob.wait_connected("1001")
    assert bob.display() == f"Parked {orbit} - Alice"
    assert site.log_actions(orbit) == ["park", "timeout", "ringback_answered"]
    until(lambda: site.service.store.by_orbit(orbit) is None)


def test_a_callers_name_with_a_colon_reaches_the_parkers_phone_whole(make_site):
    """A SIP phone shows a caller-id name from its last ':' on (live run of 2026-12-01: "Parked
    7000: Alice" rang as " Alice"): the ring-back's name has no ':' even when the caller's has."""
    site = make_site(timeout=1, ringback_timeout=3)
    bob = site.switch.register("1002", "Bob")
    acme = site.switch.register("2001", "Acme: Sales")     # not one of our users
    bob.ring_forever()
    acme.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(acme)
    bob.wait_ringing(5)
    assert bob.display() == f"Parked {orbit} - Acme Sales"


def test_busy_parker_uses_the_attempt_and_no_fallback_means_prompt_and_disconnect(make_site):
    site = make_site(timeout=1, ringback_timeout=2, max_attempts=1, fallback="")
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.reject_busy()
    call = alice.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(alice)
    alice.wait_idle(6)
    assert site.rec.played[call.uuid][-1] == site.config.park.prompt_disconnect
    assert site.log_actions(orbit) == ["park", "timeout", "disconnect"]
    assert "USER_BUSY" in site.service.store.call_log(orbit)[2]["details"]["reason"]


def test_unregistered_parker_counts_as_an_attempt(make_site):
    site = make_site(timeout=1, ringback_timeout=2, max_attempts=1, fallback="1003")
    alice = site.switch.register("1001", "Alice")
    carol = site.switch.register("1003", "Carol")
    site.switch.add_user("1002")  # known to the directory, no phone registered
    alice.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(alice)
    carol.wait_ringing(6)
    assert "USER_NOT_REGISTERED" in site.service.store.call_log(orbit)[-1]["details"]["reason"]


def test_dialled_directly_nobody_is_rung_and_the_voicemail_fallback_takes_it(make_site, base_config):
    """With voicemail.enabled = false the fallback is FreeSWITCH's mod_voicemail (the
    controller's own voicemail takes it otherwise: tests/voicemail)."""
    config = dataclasses.replace(base_config, voicemail=dataclasses.replace(
        base_config.voicemail, enabled=False))
    site = make_site(config, timeout=1, fallback="voicemail:1002")
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    alice.wait_hearing("recording", timeout=6)
    assert site.log_actions(orbit) == ["park", "fallback"]
    alice.hangup()
    until(lambda: site.switch.voicemails == [("1002", "1001")])


def test_a_fallback_the_switch_refuses_disconnects_the_call_instead_of_stranding_it(make_site):
    """The switch answers -ERR to the fallback transfer: the caller is not left in park with
    the orbit already free, but hears the disconnect prompt and is hung up."""
    site = make_site(timeout=1, fallback="user/1003@{domain}")
    alice = site.switch.register("1001", "Alice")

    def refused(uuid, apps, timeout=None):
        raise CommandError("transfer refused", command="uuid_transfer")
    site.esl.uuid_transfer_inline = refused
    call = alice.dial("*70")
    orbit = site.orbit_of(alice)
    alice.wait_idle(6)
    assert site.rec.played[call.uuid][-1] == site.config.park.prompt_disconnect
    assert site.log_actions(orbit) == ["park", "fallback", "fallback_failed"]
    assert "transfer refused" in site.service.store.call_log(orbit)[-1]["details"]["reason"]
    assert site.service.store.by_orbit(orbit) is None


def test_fallback_dial_string_gets_the_switch_domain(make_site):
    site = make_site(timeout=1, fallback="user/1003@{domain}")
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    carol.auto_answer()
    alice.dial("*70")
    site.orbit_of(alice)
    alice.wait_connected("1003", timeout=6)


@pytest.mark.parametrize("dial", ["{sip_h_X-Site=$${site}}user/{ext}@{domain}",
                                  "sofia/$${internal_profile}/{ext}@{domain}"])
def test_the_ringback_dials_the_user_dial_string_as_the_dialplan_does(make_site, base_config, dial):
    """The ring-back expands the dial string with the dialplan's own function: {ext}, {domain},
    $${name} (a global variable of the switch) and a {} prefix, instead of crashing on it and
    leaving the caller on hold with nobody watching."""
    config = dataclasses.replace(base_config, switch=dataclasses.replace(
        base_config.switch, user_dial_string=dial))
    site = make_site(config, timeout=1, ringback_timeout=3)
    site.switch.globals.update(site="hq", internal_profile="internal")
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("*70", variables=REFERRED_BY_BOB)
    orbit = site.orbit_of(alice)
    alice.wait_connected("1002", timeout=5)
    assert bob.display() == f"Parked {orbit} - Alice"
    if "sip_h_X-Site" in dial:
        assert bob.channel.vars["sip_h_X-Site"] == "hq"
    assert site.log_actions(orbit) == ["park", "timeout", "ringback_answered"]


def test_parked_shows_when_the_ringback_really_ends(make_site):
    """While the parker's phone rings, WHEN is the end of the ringing (ringback_timeout), not the
    controller's internal deadline, which allows some grace beyond it."""
    import re

    from fscontrol.park.view import table
    site = make_site(timeout=1, ringback_timeout=20)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.ring_forever()
    alice.dial("*70", variables=REFERRED_BY_BOB)
    site.orbit_of(alice)
    bob.wait_ringing(5)
    until(lambda: site.parked()[0].state.value == "ringing_back")
    row = table(site.config, site.parked()).splitlines()[1]
    assert "ringing 1002 (attempt 1/1)" in row
    seconds = int(re.search(r"in (\d+)s$", row).group(1))
    assert 15 <= seconds <= 20, row
