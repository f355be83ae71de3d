"""Hold music per range (silence, a validated WAV, a refused WAV keeping the previous music), the
database unreachable when a call must be parked (error prompt, the call stays), and presence."""

import wave

import pytest

from fscontrol.park.errors import BadMusicFile
from fscontrol.park.music import SILENCE, HoldMusic, validate_wav

from .conftest import database_down, park_range, until, with_test_timing


def make_wav(path, channels=1, width=2, rate=8000, frames=800):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x00" * frames * channels * width)
    return str(path)


@pytest.mark.parametrize("kwargs, reason", [
    ({"channels": 2}, "2 channels; mono is needed"),
    ({"width": 1}, "8-bit samples; 16-bit is needed"),
    ({"rate": 44100}, "44100 Hz; 8000, 16000 or 48000 is needed"),
    ({"frames": 0}, "no audio in it"),
])
def test_wav_validation_names_the_reason(tmp_path, kwargs, reason):
    with pytest.raises(BadMusicFile) as e:
        validate_wav(make_wav(tmp_path / "m.wav", **kwargs))
    assert e.value.reason == reason


def test_wav_validation_accepts_pcm16_mono_and_refuses_non_wav_and_missing(tmp_path):
    for rate in (8000, 16000, 48000):
        assert validate_wav(make_wav(tmp_path / f"ok{rate}.wav", rate=rate)).rate == rate
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(BadMusicFile, match="not a PCM WAV file"):
        validate_wav(str(tmp_path / "text.wav"))
    with pytest.raises(BadMusicFile, match="no such file"):
        validate_wav(str(tmp_path / "missing.wav"))
    with pytest.raises(BadMusicFile, match="cannot carry"):
        validate_wav(str(tmp_path / "with space.wav"))


def test_a_refused_file_keeps_the_previous_music(tmp_path, base_config):
    music = HoldMusic(base_config.park, base_config.ranges("park"))
    good = make_wav(tmp_path / "good.wav", rate=16000)
    assert music.set("main", good) == good
    with pytest.raises(BadMusicFile, match="2 channels"):
        music.set("main", make_wav(tmp_path / "stereo.wav", channels=2))
    assert music.source("main") == good


def test_range_music_wav_silence_and_a_bad_configured_file(make_site, base_config, tmp_path):
    good = make_wav(tmp_path / "hold.wav")
    bad = make_wav(tmp_path / "stereo.wav", channels=2)
    config = with_test_timing(base_config, orbits=[
        park_range("wav", "7000", "7000", music=good),
        park_range("quiet", "7001", "7001", music_on_hold=False),
        park_range("bad", "7002", "7002", music=bad)])
    site = make_site(config, allocation="lowest")
    phones = [site.switch.register(str(1001 + i)) for i in range(3)]
    calls = []
    for p in phones:
        calls.append(p.dial("*70"))
        site.orbit_of(p)
    until(lambda: all(site.rec.played[c.uuid] for c in calls))
    assert [site.rec.played[c.uuid] for c in calls] == [[good], [SILENCE], ["local_stream://moh"]]
    assert phones[1].hearing() == "silence" and phones[2].hearing() == "music"


def test_database_unreachable_at_dtmf_park_the_parties_stay_bridged(make_site):
    site = make_site()
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    presser = alice.channel.uuid
    with database_down(site):
        alice.send_dtmf("*1")
        until(lambda: site.rec.played[presser] == [site.config.park.prompt_error])
    until(lambda: alice.hearing() == "voice")
    assert alice.connected_to() == "1002"


def test_presence_follows_park_timeout_and_fallback(make_site):
    site = make_site(timeout=1, fallback="1003")
    site.switch.register("1003").ring_forever()
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    until(lambda: site.rec.blf(orbit) == ["busy", "idle"], 4)
    assert site.log_actions(orbit) == ["park", "fallback"]
