"""Voicemail scenarios, written once and run on the simulated and the real switch with the
controller `fscontrol run` builds: what callers hear (a greeting, a beep, recording), what the
user's message waiting lamp shows, the email a real SMTP server receives (its attachment is the
recording the switch made), and the dial-in menus driven by keys. Every prompt is a tone: the
switch needs no sound packs."""

import hashlib
from pathlib import Path

from fscontrol.voicemail import Mailboxes
from waiting import until

PIN = "246813"


def _messages(ctl, box):
    """The box as `fscontrol voicemail list` shows it (the database, not the controller)."""
    return Mailboxes(ctl.config, ctl.database).messages(box)


def _talk_after_the_beep(caller, seconds=2.5):
    caller.wait_hearing("recording", timeout=15)
    caller.speak(seconds)
    voice = caller.voice(seconds)
    caller.wait_for(lambda p: voice in p.played() and p.hearing() == "recording", seconds + 10,
                    "talking into the recording")
    caller.hangup()
    caller.wait_idle()


def _one_message(ctl, box):
    return until(lambda: (lambda ms: ms[0] if ms else None)(_messages(ctl, box)), 10,
                 message=f"no message for {box}")


def test_no_answer_leaves_a_message_that_is_mailed(backend, voicemail_controller, smtp):
    smtp.start()
    ctl = voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing()
    _talk_after_the_beep(alice)          # voicemail.ring_timeout later: greeting, beep, record
    assert ctl.config.voicemail.prompt_beep in alice.played()
    m = _one_message(ctl, "1002")
    assert m.kind == "message" and m.caller_number == "1001" and m.duration_ms >= 2000
    until(lambda: backend.switch.message_waiting("1002") == ("yes", "1/0 (0/0)"),
          message="Bob's lamp did not light")
    [mail] = until(lambda: smtp.messages() or None, 15, message="no email")
    assert mail["To"] == "bob@example.com" and "1001" in mail["Subject"]
    [audio] = list(mail.iter_attachments())
    assert hashlib.sha256(audio.get_content()).hexdigest() == \
        hashlib.sha256(Path(m.path).read_bytes()).hexdigest()


def test_park_fallback_to_voicemail_leaves_a_message(backend, voicemail_controller, smtp):
    ctl = voicemail_controller(park={"timeout": 1, "fallback": "voicemail:1002"})
    alice = backend.phone("1001")
    alice.dial(ctl.config.park.code)
    alice.wait_hearing("music")
    _talk_after_the_beep(alice)
    m = _one_message(ctl, "1002")
    assert m.kind == "message" and m.caller_number == "1001"


def test_hanging_up_before_the_beep_is_a_missed_call(backend, voicemail_controller, smtp):
    smtp.start()
    ctl = voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.reject_busy()
    alice.dial("1002")
    alice.wait_for(lambda p: ctl.config.voicemail.prompt_greeting in p.played(), 10, "greeting")
    alice.hangup()
    m = _one_message(ctl, "1002")
    assert m.kind == "missed"
    [mail] = until(lambda: smtp.messages() or None, 15, message="no missed-call email")
    assert mail["Subject"].startswith("Missed call from")


def _press_after(phone, prompt, keys, times=1):
    """Press `keys` once the current call has heard `prompt` start (`times` times): keys pressed
    during a plain playback are dropped, as on a real switch."""
    phone.wait_for(lambda p: p.played(p.calls[-1]).count(prompt) >= times, 15,
                   f"hearing {prompt} ({times}x)")
    phone.send_dtmf(keys)


def test_dial_in_listen_save_delete_with_mwi_after_each(backend, voicemail_controller, smtp):
    ctl = voicemail_controller()
    v = ctl.config.voicemail
    alice, bob, carol = backend.phones("1001", "1002", "1003")
    bob.reject_busy()
    for caller in (alice, carol):
        caller.dial("1002")
        _talk_after_the_beep(caller)
    until(lambda: len(_messages(ctl, "1002")) == 2, 10)
    until(lambda: backend.switch.message_waiting("1002") == ("yes", "2/0 (0/0)"))
    Mailboxes(ctl.config, ctl.database).set_pin("1002", PIN)
    first, second = _messages(ctl, "1002")
    bob.dial(backend.config.features.voicemail)
    _press_after(bob, v.prompt_pin, PIN + "#")
    _press_after(bob, first.path, "2")                     # save Alice's
    until(lambda: backend.switch.message_waiting("1002") == ("yes", "1/1 (0/0)"),
          message="lamp after save")
    _press_after(bob, second.path, "7")                    # delete Carol's
    until(lambda: backend.switch.message_waiting("1002") == ("no", "0/1 (0/0)"),
          message="lamp after delete")
    _press_after(bob, v.prompt_menu, "#", times=1)         # no undelete
    bob.wait_for(lambda p: v.prompt_no_more in p.played(), 15, "no more messages")
    bob.hangup()
    bob.wait_idle()
    until(lambda: [m.id for m in _messages(ctl, "1002")] == [first.id], 10,
          message="the deleted message was not purged at hang-up")
    assert _messages(ctl, "1002")[0].state == "saved"


def test_pin_lockout_counts_across_calls(backend, voicemail_controller, smtp):
    ctl = voicemail_controller(pin_reset_after=5, pin_lock_after=2)
    v = ctl.config.voicemail
    admin = Mailboxes(ctl.config, ctl.database)
    admin.set_pin("1002", PIN)
    bob = backend.phone("1002")
    for attempt in (1, 2):                 # one wrong PIN per call, hung up each time
        bob.dial(backend.config.features.voicemail)
        _press_after(bob, v.prompt_pin, "999999#")
        if attempt == 1:
            bob.wait_for(lambda p: v.prompt_bad_pin in p.played(p.calls[-1]), 10, "bad PIN")
            bob.hangup()
        bob.wait_for(lambda p: p.state == "idle", 15, "the call to end")
    assert v.prompt_locked in bob.played(bob.calls[-1])
    bob.dial(backend.config.features.voicemail)          # locked: the right PIN is refused
    _press_after(bob, v.prompt_pin, PIN + "#")
    bob.wait_for(lambda p: v.prompt_locked in p.played(p.calls[-1]), 10, "locked")
    bob.wait_idle(15)
    admin.unlock("1002")                                 # fscontrol voicemail unlock 1002
    bob.dial(backend.config.features.voicemail)
    _press_after(bob, v.prompt_pin, PIN + "#")
    bob.wait_for(lambda p: v.prompt_no_more in p.played(p.calls[-1]), 10, "logged on")
    bob.hangup()
