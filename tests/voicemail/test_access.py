"""Dial-in access, PIN policy and lockout across calls, MWI counts after every action, and the
`fscontrol voicemail` CLI — the simulated switch with an empty sounds directory (every prompt a
tone, every message a WAV the switch recorded or the test wrote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave

import pytest

from fscontrol.voicemail import PinRefused
from fscontrol.voicemail.pins import check_pin, hash_pin, policy_problem

from .conftest import ROOT, until

PIN = "246813"


def _wav(path, seconds=0.5):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\1\0" * int(8000 * seconds))
    return path


def _message(site, box, caller, name=""):
    """A message as the leave flow stores it (its WAV in the box's storage)."""
    store = site.service.store
    n = len(store.messages(box, ("new", "saved", "deleted")))
    path = _wav(os.path.join(site.config.voicemail.storage, box, f"test-{caller}-{n}.wav"))
    m = store.add_message(box, "message", caller, name, 500, path, None, None, False)
    site.service.notify_mwi(box)
    return m


def _heard(site, phone, path, timeout=10, times=1):
    """The phone's current call has heard (started hearing) `path`, `times` times."""
    uuid = phone.calls[-1].uuid
    until(lambda: site.rec.played[uuid].count(path) >= times, timeout,
          message=f"{phone.user} never heard {path} ({times}x)")


def _login(site, phone, number, pin=PIN):
    phone.dial(number)
    _heard(site, phone, site.config.voicemail.prompt_pin)
    phone.send_dtmf(pin + "#")


# -- PIN policy --------------------------------------------------------------------------------
@pytest.mark.parametrize("pin,why", [
    ("12345", "6 to 24"), ("123456", "run"), ("987654", "run"), ("111111", "repeat"),
    ("991002", "extension"), ("121212", "pattern"), ("12a456", "digits only"),
])
def test_pin_policy_refuses(pin, why):
    assert why in policy_problem(pin, "1002", 6)


def test_pin_is_stored_only_as_a_salted_slow_hash(make_vm):
    site = make_vm()
    admin = site.admin()
    admin.set_pin("1002", PIN)
    stored = admin.store.box("1002").pin_hash
    assert PIN not in stored and stored.startswith("scrypt$")
    assert check_pin(PIN, stored) and not check_pin("246814", stored)
    assert hash_pin(PIN) != hash_pin(PIN)                    # a salt per hash
    with pytest.raises(PinRefused) as e:
        admin.set_pin("1002", PIN)                           # the history (user change)
    assert e.value.field == "pin" and PIN not in str(e.value)
    admin.set_pin("1002", PIN, check_history=False)          # an admin reset may reuse it


# -- dial-in -----------------------------------------------------------------------------------
def test_own_box_listen_save_delete_undelete_and_mwi_after_each(make_vm):
    site = make_vm()
    site.admin().set_pin("1002", PIN)
    old = _message(site, "1002", "1005", "Erin")
    site.service.set_state(old.id, "saved")
    first = _message(site, "1002", "1001", "Alice")
    second = _message(site, "1002", "1003", "Carol")
    third = _message(site, "1002", "1004", "Dave")
    until(lambda: site.lamp("1002") == ("yes", "3/1 (0/0)"))
    bob = site.switch.register("1002", "Bob")
    _login(site, bob, "*98")
    _heard(site, bob, first.path)              # new messages first, oldest first
    bob.send_dtmf("2")                         # save
    until(lambda: site.lamp("1002") == ("yes", "2/2 (0/0)"), message="MWI after save")
    _heard(site, bob, second.path)
    bob.send_dtmf("7")                         # delete ...
    until(lambda: site.lamp("1002") == ("yes", "1/2 (0/0)"), message="MWI after delete")
    _heard(site, bob, site.config.voicemail.prompt_menu)
    bob.send_dtmf("8")                         # ... undelete (keys count while a menu reads)
    until(lambda: site.lamp("1002") == ("yes", "2/2 (0/0)"), message="MWI after undelete")
    _heard(site, bob, third.path)
    bob.send_dtmf("7")
    until(lambda: site.lamp("1002") == ("yes", "1/2 (0/0)"))
    _heard(site, bob, site.config.voicemail.prompt_menu, times=2)
    bob.send_dtmf("#")                         # no undelete
    _heard(site, bob, old.path)                # then the saved ones: skip it
    uuid = bob.calls[-1].uuid
    bob.send_dtmf("#")
    _heard(site, bob, site.config.voicemail.prompt_no_more)
    _heard(site, bob, site.config.voicemail.prompt_menu, times=3)     # the main menu
    bob.send_dtmf("9")
    bob.wait_idle(10)
    assert site.config.voicemail.prompt_goodbye in site.rec.played[uuid]
    states = {m.id: m.state for m in site.admin().messages("1002", include_deleted=True)}
    # the third purged at hang-up
    assert states == {old.id: "saved", first.id: "saved", second.id: "new"}
    assert not os.path.exists(third.path)
    assert site.lamp("1002") == ("yes", "1/2 (0/0)")


def test_pilot_number_any_box_and_change_pin(make_vm):
    site = make_vm()
    site.admin().set_pin("1003", PIN)
    alice = site.switch.register("1001", "Alice")
    alice.dial("*99")
    _heard(site, alice, site.config.voicemail.prompt_box)
    alice.send_dtmf("1003#")
    _heard(site, alice, site.config.voicemail.prompt_pin)
    alice.send_dtmf(PIN + "#")
    _heard(site, alice, site.config.voicemail.prompt_no_more)
    _heard(site, alice, site.config.voicemail.prompt_menu)
    alice.send_dtmf("6")                       # change PIN
    _heard(site, alice, site.config.voicemail.prompt_new_pin)
    alice.send_dtmf("135792#")
    _heard(site, alice, site.config.voicemail.prompt_new_pin, times=2)   # again, to confirm
    alice.send_dtmf("135792#")
    _heard(site, alice, site.config.voicemail.prompt_pin_changed)
    alice.hangup()
    box = site.admin().store.box("1003")
    assert check_pin("135792", box.pin_hash)


def test_lockout_counts_across_calls_reset_then_lock_and_unlock(make_vm, smtp):
    smtp.start()
    site = make_vm(pin_reset_after=2, pin_lock_after=4)
    site.admin().set_pin("1002", PIN)
    bob = site.switch.register("1002", "Bob")
    v = site.config.voicemail
    # call 1: one wrong PIN, hang up
    _login(site, bob, "*98", "999999")
    _heard(site, bob, v.prompt_bad_pin)
    bob.hangup()
    bob.wait_idle()
    assert site.admin().store.box("1002").failures == 1
    # call 2: the second failure in a row resets the PIN (mailed to Bob), the count goes on
    _login(site, bob, "*98", "999999")
    _heard(site, bob, v.prompt_bad_pin)
    [mail] = until(lambda: smtp.messages() or None, 10, message="no PIN reset mail")
    assert mail["To"] == "bob@example.com" and "reset" in mail["Subject"]
    assert not check_pin(PIN, site.admin().store.box("1002").pin_hash)   # the old one is gone
    _heard(site, bob, v.prompt_pin, times=2)
    bob.send_dtmf(PIN + "#")                  # the old PIN: failure 3
    _heard(site, bob, v.prompt_bad_pin)
    until(lambda: site.admin().store.box("1002").failures == 3)
    bob.hangup()
    bob.wait_idle()
    # call 3: failure 4 locks the box; the right PIN does not open a locked box
    new_pin = next(line.split(": ")[1] for line in mail.get_content().splitlines()
                   if line.startswith("Your new PIN"))
    _login(site, bob, "*98", "999999")
    _heard(site, bob, v.prompt_locked)
    bob.wait_idle(10)
    assert site.admin().store.box("1002").locked
    _login(site, bob, "*98", new_pin)
    _heard(site, bob, v.prompt_locked)
    bob.wait_idle(10)
    site.admin().unlock("1002")
    _login(site, bob, "*98", new_pin)          # the mailed PIN works, a new one is required
    _heard(site, bob, v.prompt_new_pin)
    bob.hangup()


def test_message_query_is_answered_and_mwi_resent_on_reconnect(make_vm):
    site = make_vm()
    _message(site, "1001", "1002")
    until(lambda: site.lamp("1001") == ("yes", "1/0 (0/0)"))
    site.mwi.clear()
    # a phone subscribing to message-summary: mod_sofia fires MESSAGE_QUERY
    site.esl.sendevent("MESSAGE_QUERY", {"Message-Account": "sip:1001@fscontrol.test"})
    until(lambda: site.lamp("1001") == ("yes", "1/0 (0/0)"), message="MESSAGE_QUERY unanswered")
    site.mwi.clear()
    site.switch.drop_connections()
    until(lambda: site.lamp("1001") == ("yes", "1/0 (0/0)") and site.lamp("1002") == ("no", "0/0 (0/0)"),
          10, message="MWI not re-sent after the reconnect")


# -- CLI ---------------------------------------------------------------------------------------
def _cli(site, tmp_path, *args, stdin=None):
    # the site's switch (its port), under the identity its rows have (the example's)
    toml = (ROOT / "fscontrol.example.toml").read_text().replace(
        "esl_port = 8021", f"esl_port = {site.switch.port}").replace(
        'name = ""', f'name = "{site.config.switch.identity}"', 1)
    toml = toml.replace("\n[voicemail]\n",
                        f'\n[voicemail]\nstorage = "{site.config.voicemail.storage}"\n', 1)
    (tmp_path / "site.toml").write_text(toml)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update({"DATABASE_URL": site.database.url,
                "PGOPTIONS": f"-c search_path={site.database.schema}"})
    return subprocess.run([sys.executable, "-m", "fscontrol", "voicemail", *args, "--config",
                           str(tmp_path / "site.toml")], capture_output=True, text=True,
                          input=stdin, env=env, cwd=ROOT, timeout=60)


def test_cli_list_play_info_delete_unlock_set_pin(make_vm, tmp_path):
    site = make_vm()
    m = _message(site, "1002", "1001", "Alice")
    r = _cli(site, tmp_path, "list", "1002", "--json")
    assert r.returncode == 0, r.stderr
    [shown] = json.loads(r.stdout)
    assert shown["id"] == m.id and shown["caller"] == {"number": "1001", "name": "Alice"}
    r = _cli(site, tmp_path, "play-info", str(m.id))
    assert r.returncode == 0 and f"path: {m.path}" in r.stdout
    r = _cli(site, tmp_path, "set-pin", "1002", stdin="234567\n")
    assert r.returncode == 2 and "run of digits" in r.stderr and "234567" not in r.stderr
    r = _cli(site, tmp_path, "set-pin", "1002", stdin=PIN + "\n")
    assert r.returncode == 0 and PIN not in r.stdout
    assert check_pin(PIN, site.admin().store.box("1002").pin_hash)
    r = _cli(site, tmp_path, "unlock", "1002")
    assert r.returncode == 0 and "unlocked" in r.stdout
    r = _cli(site, tmp_path, "keep-local-copy", "1002", "no")
    assert r.returncode == 0 and not site.admin().store.box("1002").keep_local_copy
    r = _cli(site, tmp_path, "delete", str(m.id))
    assert r.returncode == 0 and "MWI 0/0 sent" in r.stdout, r.stdout + r.stderr
    assert not os.path.exists(m.path)
    until(lambda: site.lamp("1002") == ("no", "0/0 (0/0)"))
    r = _cli(site, tmp_path, "play-info", str(m.id))
    assert r.returncode == 2 and "no message" in r.stderr
    r = _cli(site, tmp_path, "unlock", "9999")
    assert r.returncode == 2 and "no mailbox 9999" in r.stderr
