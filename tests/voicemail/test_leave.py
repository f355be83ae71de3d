"""Leaving a message (simulated switch, real SMTP server, real database): a call to a user who
does not take it hears the greeting and the beep, talks, and the recording the switch made is
the message: a row, MWI, an email with the WAV attached; too short is a missed call."""

from __future__ import annotations

import dataclasses
import os

from .conftest import EMAILS, speak, until, wav_sha


def _leave(site, caller, box, seconds):
    """`caller` calls `box`, who rejects it; talks for `seconds` after the beep, then hangs up."""
    callee = site.switch.register(box)
    callee.reject_busy()
    caller.dial(box)
    caller.wait_hearing("recording", timeout=10)
    speak(caller, seconds)
    caller.wait_for(lambda p: not getattr(p.channel, "speaking", False), seconds + 5, "talking")
    caller.hangup()
    caller.wait_idle()


def test_busy_user_gets_a_message_mailed_with_the_recording(make_vm, smtp):
    smtp.start()
    site = make_vm()
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.5)
    [m] = site.wait_messages("1002", 1)
    assert m.kind == "message" and m.state == "new"
    assert m.caller_number == "1001" and m.caller_name == "Alice"
    assert 1400 <= m.duration_ms <= 3000, m.duration_ms
    assert os.path.exists(m.path) and m.path.startswith(site.config.voicemail.storage)
    # what the caller heard: the default greeting, then the beep, then the recording
    heard = site.rec.played[alice.calls[-1].uuid]
    assert heard[:2] == [site.config.voicemail.prompt_greeting, site.config.voicemail.prompt_beep]
    until(lambda: site.lamp("1002") == ("yes", "1/0 (0/0)"), message="MWI of 1002 not 1/0")
    [mail] = until(lambda: smtp.messages() or None, 15, message="no email arrived")
    assert mail["To"] == EMAILS["1002"] and "1001" in mail["Subject"]
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "audio/wav"
    import hashlib
    assert hashlib.sha256(part.get_content()).hexdigest() == wav_sha(m.path) == m.sha256
    sent = until(lambda: (lambda x: x if x.email_state == "sent" else None)(site.admin().message(m.id)),
                 10, message="delivery never recorded")
    assert sent.email_reply.startswith("250 ") and sent.email_attempts == 1
    assert sent.path == m.path          # keep_local_copy: the WAV stays


def test_too_short_is_a_missed_call_notification(make_vm, smtp):
    smtp.start()
    site = make_vm(min_message=3)
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 0.5)
    [m] = site.wait_messages("1002", 1)
    assert m.kind == "missed" and m.path is None
    assert not list((__import__("pathlib").Path(site.config.voicemail.storage) / "1002").glob("*.wav"))
    [mail] = until(lambda: smtp.messages() or None, 15, message="no missed-call email")
    assert mail["Subject"] == "Missed call from Alice <1001>"
    assert not list(mail.iter_attachments())
    assert site.lamp("1002") in (None, ("no", "0/0 (0/0)"))   # no audio message: no lamp


def test_silence_ends_the_recording_and_the_caller_is_hung_up(make_vm, smtp):
    site = make_vm()
    alice = site.switch.register("1001", "Alice")
    bob = site.switch.register("1002")
    bob.reject_busy()
    alice.dial("1002")
    alice.wait_hearing("recording", timeout=10)
    speak(alice, 1.5)
    alice.wait_idle(10)      # silence_seconds (2) after the voice: recorded, hung up
    [m] = site.wait_messages("1002", 1)
    assert m.kind == "message" and 3000 <= m.duration_ms <= 5000, m.duration_ms


def test_unregistered_user_and_own_greeting(make_vm, smtp, tmp_path):
    site = make_vm()
    greeting = tmp_path / "greeting.wav"
    import wave
    with wave.open(str(greeting), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 4000)
    site.admin().require("1003")
    site.admin().store.set_greeting("1003", str(greeting))
    alice = site.switch.register("1001", "Alice")
    alice.dial("1003")             # Carol never registered: USER_NOT_REGISTERED -> voicemail
    alice.wait_hearing("recording", timeout=10)
    assert site.rec.played[alice.calls[-1].uuid][0] == str(greeting)
    speak(alice, 1.2)
    until(lambda: not alice.channel.speaking, 5)
    alice.hangup()
    [m] = site.wait_messages("1003", 1)
    assert m.kind == "message"


def test_smtp_down_then_up_delivers_once(make_vm, smtp):
    site = make_vm()                            # the SMTP server is not running yet
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    until(lambda: site.admin().message(m.id).email_attempts >= 1, 10, message="no attempt")
    failed = site.admin().message(m.id)
    assert failed.email_state == "queued" and "cannot connect" in failed.email_reply
    smtp.start()
    until(lambda: site.admin().message(m.id).email_state == "sent", 15, message="never sent")
    assert len(smtp.messages()) == 1


def test_451_is_retried_and_the_delivery_survives_a_restart(make_vm, smtp):
    smtp.start(temp_fail=1)
    site = make_vm()
    alice = site.switch.register("1001", "Alice")
    site.stop()                                  # no controller: the message waits in the queue
    site.start()
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    until(lambda: site.admin().message(m.id).email_reply or None, 10, message="no attempt")
    assert site.admin().message(m.id).email_reply.startswith("451 ")
    site.stop()                                  # restart before the retry is due
    site.start()
    sent = until(lambda: (lambda x: x if x.email_state == "sent" else None)(site.admin().message(m.id)),
                 15, message="451 never retried")
    assert sent.email_attempts == 2 and len(smtp.messages()) == 1


def test_box_without_local_copy_loses_the_wav_only_after_250(make_vm, smtp):
    site = make_vm(keep_local_copy=False)
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    until(lambda: site.admin().message(m.id).email_attempts >= 1, 10)
    assert os.path.exists(m.path)                # not mailed yet: kept
    smtp.start()
    until(lambda: site.admin().message(m.id).email_state == "sent", 15)
    assert not os.path.exists(m.path) and site.admin().message(m.id).path is None
    [mail] = smtp.messages()
    assert list(mail.iter_attachments())


def test_park_fallback_voicemail_takes_a_message(make_vm, smtp):
    site = make_vm()
    config = site.config
    site.stop()
    site.config = dataclasses.replace(config, park=dataclasses.replace(
        config.park, timeout=1, fallback="voicemail:1002"))
    site.controller = None
    site.start()
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    alice.wait_hearing("recording", timeout=10)
    speak(alice, 1.2)
    until(lambda: not alice.channel.speaking, 5)
    alice.hangup()
    [m] = site.wait_messages("1002", 1)
    assert m.caller_number == "1001" and m.kind == "message"


def test_database_down_the_caller_is_hung_up_and_the_message_stored_later(make_vm, smtp):
    site = make_vm()
    alice = site.switch.register("1001", "Alice")
    pool = site.service.store.pool
    good = pool.database
    from fscontrol import metrics
    from fscontrol.db import Database
    errors = metrics.REGISTRY.get_sample_value("fscontrol_database_errors_total",
                                               {"feature": "voicemail"}) or 0
    bob = site.switch.register("1002")
    bob.reject_busy()
    alice.dial("1002")
    alice.wait_hearing("recording", timeout=10)
    pool.drop_idle()
    pool.database = Database("postgresql://127.0.0.1:9/nowhere", connect_timeout=1)
    speak(alice, 1.2)
    alice.wait_idle(15)                # silence ends it; no database: hung up all the same
    assert site.messages("1002") == []
    assert metrics.REGISTRY.get_sample_value("fscontrol_database_errors_total",
                                             {"feature": "voicemail"}) > errors
    pool.database = good
    [m] = site.wait_messages("1002", 1, timeout=15)
    assert m.kind == "message" and os.path.exists(m.path)


def test_a_caller_waiting_when_the_controller_restarts_gets_the_greeting_again(make_vm, smtp):
    site = make_vm(prompt_greeting="tone_stream://%(3000,0,440)")
    alice = site.switch.register("1001", "Alice")
    bob = site.switch.register("1002")
    bob.reject_busy()
    alice.dial("1002")
    uuid = alice.calls[-1].uuid
    until(lambda: site.rec.played[uuid][:1] == [site.config.voicemail.prompt_greeting])
    # the controller dies (kill -9): no cleanup, nothing said to the switch
    controller, site.controller = site.controller, None
    for feature in controller.features:
        feature.stop()
    controller.esl._stop_event.set()
    controller.esl._conn.close("killed")
    controller.esl.dispatcher.stop()
    site.start()
    alice.wait_hearing("recording", timeout=15)
    assert site.rec.played[uuid].count(site.config.voicemail.prompt_greeting) == 2
    speak(alice, 1.2)
    alice.wait_idle(15)
    [m] = site.wait_messages("1002", 1)
    assert m.kind == "message"
