"""The simulator's `record`, `play_and_get_digits` and key queueing, as the voicemail flows use
them (mod_dptools.c record_function / play_and_get_digits_function, switch_ivr_play_say.c
switch_ivr_record_file_event / switch_play_and_get_digits): a real WAV written, record_ms,
RECORD_START/STOP, what ends a recording, which keys it takes; playback of real and missing
files (tests/sim/test_play_and_get_digits.py covers play_and_get_digits itself)."""

import wave

import pytest

from fscontrol.sim import SimSwitch
from waiting import until

DIALPLAN = """
<include><context name="default">
  <extension name="park"><condition field="destination_number" expression="^park$">
    <action application="answer"/><action application="park"/></condition></extension>
</context></include>
"""


@pytest.fixture
def sw():
    s = SimSwitch(dialplan=DIALPLAN, heartbeat=0).start()
    events = []
    s.add_listener(events.append)
    s.events = events
    yield s
    s.stop()


def _parked(sw, user="1001"):
    phone = sw.register(user)
    ch = phone.dial("park")
    until(lambda: ch.parked)
    return phone, ch


def _run(sw, ch, app, data):
    """Execute `app` on the parked channel as sendmsg does; the CHANNEL_EXECUTE_COMPLETE."""
    import uuid as uuidlib
    app_uuid = str(uuidlib.uuid4())
    ch.post("execute", app, data, app_uuid, None)
    return until(lambda: next((e for e in sw.events if e.name == "CHANNEL_EXECUTE_COMPLETE"
                               and e.get("Application-UUID") == app_uuid), None), 30)


def test_record_writes_a_wav_as_long_as_the_caller_talks_then_silence_ends_it(sw, tmp_path):
    phone, ch = _parked(sw)
    path = str(tmp_path / "m.wav")
    ch.speaking = True
    sw.spawn_later(1.0, setattr, ch, "speaking", False)
    done = _run(sw, ch, "record", f"{path} 30 200 1")
    with wave.open(path, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        seconds = w.getnframes() / 8000
        frames = w.readframes(w.getnframes())
    assert 1.8 <= seconds <= 2.6, seconds          # 1 s of voice, then 1 s of silence
    assert any(frames[:8000]) and not any(frames[-1000:])
    assert done.get("variable_silence_hits_exhausted") == "true"
    assert abs(int(done.get("variable_record_ms")) - seconds * 1000) < 30
    names = [e.name for e in sw.events if e.get("Unique-ID") == ch.uuid]
    start, stop = names.index("RECORD_START"), names.index("RECORD_STOP")
    assert start < stop < names.index("CHANNEL_EXECUTE_COMPLETE", stop)
    assert ch.parked is False or ch.alive       # back in park afterwards


def test_record_ends_on_a_terminator_and_takes_every_key(sw, tmp_path):
    phone, ch = _parked(sw)
    path = str(tmp_path / "m.wav")
    sw.spawn_later(0.3, phone.send_dtmf, "#5")
    done = _run(sw, ch, "record", f"{path} 1")
    # "#" is no terminator by default: dropped like the 5, the limit ended it
    assert done.get("variable_playback_terminator_used") is None
    assert int(done.get("variable_record_ms")) >= 1800
    sw.spawn_later(0.3, phone.send_dtmf, "*")      # the default terminator is "*"
    done = _run(sw, ch, "record", f"{path} 30")
    assert done.get("variable_playback_terminator_used") == "*"
    assert int(done.get("variable_record_ms")) < 1000


def test_record_stops_after_the_limit_and_when_the_caller_hangs_up(sw, tmp_path):
    phone, ch = _parked(sw)
    done = _run(sw, ch, "record", f"{tmp_path / 'a.wav'} 1")
    assert 1800 <= int(done.get("variable_record_ms")) <= 2300   # now - start > limit
    phone2, ch2 = _parked(sw, "1002")
    sw.spawn_later(0.5, phone2.hangup)
    done = _run(sw, ch2, "record", f"{tmp_path / 'b.wav'} 30")
    assert (tmp_path / "b.wav").exists() and 300 <= int(done.get("variable_record_ms")) <= 900
    assert any(e.name == "RECORD_STOP" and e.get("Unique-ID") == ch2.uuid for e in sw.events)


def test_record_into_a_missing_directory_hangs_up(sw, tmp_path):
    phone, ch = _parked(sw)
    _run(sw, ch, "record", f"{tmp_path / 'nowhere' / 'm.wav'} 30")
    until(lambda: not ch.alive)
    assert ch.hangup_cause == "DESTINATION_OUT_OF_ORDER"


def test_a_key_during_a_plain_playback_is_dropped_unless_it_terminates(sw):
    phone, ch = _parked(sw)
    sw.spawn_later(0.2, phone.send_dtmf, "5")
    done = _run(sw, ch, "playback", "tone_stream://%(800,0,440)")
    assert done.get("variable_playback_terminator_used") is None
    got = _run(sw, ch, "play_and_get_digits", "1 1 1 100 # silence_stream://10 "
                                             "silence_stream://10 d [0-9]")
    assert got.get("variable_d") is None           # playback consumed the 5
    sw.spawn_later(0.2, phone.send_dtmf, "*")
    done = _run(sw, ch, "playback", "tone_stream://%(5000,0,440)")
    assert done.get("variable_playback_terminator_used") == "*"


def test_playback_of_a_missing_file_plays_nothing(sw, tmp_path):
    phone, ch = _parked(sw)
    done = _run(sw, ch, "playback", str(tmp_path / "none.wav"))
    assert done.get("Application-Response") == "FILE NOT FOUND"
    assert not any(e.name == "PLAYBACK_START" and e.get("Unique-ID") == ch.uuid for e in sw.events)
