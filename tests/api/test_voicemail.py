"""/api/v1/voicemail on the controller `fscontrol run` builds: a user lists their messages,
downloads the recording the switch made (the same bytes), marks one read and deletes one — the
lamp (MESSAGE_WAITING) and the event stream follow; another user's message is 404; an admin
names the box."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import wave

import pytest

from waiting import until

from .conftest import ApiSite, SseReader


@pytest.fixture
def vm_site(migrated, base_config, tmp_path):  # noqa: F811
    config = dataclasses.replace(
        base_config, api=dataclasses.replace(base_config.api, heartbeat=1),
        voicemail=dataclasses.replace(base_config.voicemail, storage=str(tmp_path / "vm")))
    site = ApiSite(config, migrated)
    site.lamps = []
    site.switch.add_listener(lambda ev: ev.name == "MESSAGE_WAITING" and site.lamps.append(
        (ev.get("MWI-Message-Account").split("@")[0], ev.get("MWI-Voice-Message"))))
    try:
        yield site
    finally:
        site.stop()


def _message(site, box, caller):
    """A message as the leave flow stores it (its WAV in the box's storage)."""
    service = site.controller.feature("voicemail").service
    path = os.path.join(site.config.voicemail.storage, box, f"api-{caller}.wav")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(os.urandom(8000))
    m = service.store.add_message(box, "message", caller, "", 500, path, None, None, False)
    service.notify_mwi(box)
    return m


def _lamp(site, box):
    mine = [v for b, v in site.lamps if b == box]
    return mine[-1] if mine else None


def test_list_download_mark_read_delete_with_lamp_and_events(vm_site):
    site = vm_site
    first, second = _message(site, "1001", "1002"), _message(site, "1001", "1003")
    until(lambda: _lamp(site, "1001") == "2/0 (0/0)")
    stream = SseReader(site.alice)
    r = site.alice.get("/api/v1/voicemail/messages")
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()["messages"]] == [first.id, second.id]
    assert r.json()["messages"][0]["caller"] == {"number": "1002", "name": ""}
    r = site.alice.get(f"/api/v1/voicemail/messages/{first.id}/audio")
    assert r.status_code == 200 and r.headers["Content-Type"] == "audio/wav"
    assert hashlib.sha256(r.content).hexdigest() == \
        hashlib.sha256(open(first.path, "rb").read()).hexdigest()
    r = site.alice.post(f"/api/v1/voicemail/messages/{first.id}/read")
    assert r.status_code == 200 and r.json()["state"] == "saved"
    until(lambda: _lamp(site, "1001") == "1/1 (0/0)", message="lamp after read")
    r = site.alice.delete(f"/api/v1/voicemail/messages/{second.id}")
    assert r.status_code == 200 and not os.path.exists(second.path)
    until(lambda: _lamp(site, "1001") == "0/1 (0/0)", message="lamp after delete")
    kinds = until(lambda: (lambda k: k if "voicemail_deleted" in k else None)(
        [e[1] for e in stream.events]), 5, message="no voicemail events on the stream")
    assert "voicemail_updated" in kinds
    r = site.alice.get(f"/api/v1/voicemail/messages/{second.id}")
    assert r.status_code == 404 and r.json()["error"] == "message_not_found"


def test_another_users_message_is_not_found_and_an_admin_names_the_box(vm_site):
    site = vm_site
    m = _message(site, "1001", "1002")
    for method, url in (("get", f"/api/v1/voicemail/messages/{m.id}"),
                        ("get", f"/api/v1/voicemail/messages/{m.id}/audio"),
                        ("post", f"/api/v1/voicemail/messages/{m.id}/read"),
                        ("delete", f"/api/v1/voicemail/messages/{m.id}")):
        r = getattr(site.bob, method)(url)
        assert r.status_code == 404 and r.json()["error"] == "message_not_found", (url, r.text)
    assert os.path.exists(m.path)
    r = site.bob.get("/api/v1/voicemail/messages", params={"user": "1001"})
    assert r.status_code == 403 and r.json()["field"] == "user"
    r = site.admin.get("/api/v1/voicemail/messages")
    assert r.status_code == 422 and r.json()["field"] == "user"
    r = site.admin.get("/api/v1/voicemail/messages", params={"user": "1001"})
    assert r.status_code == 200 and [x["id"] for x in r.json()["messages"]] == [m.id]
    r = site.anonymous.get("/api/v1/voicemail/messages")
    assert r.status_code == 401


def test_audio_of_a_missed_call_is_404(vm_site):
    site = vm_site
    service = site.controller.feature("voicemail").service
    missed = service.store.add_message("1001", "missed", "1002", "", 0, None, None, None, False)
    r = site.alice.get(f"/api/v1/voicemail/messages/{missed.id}/audio")
    assert r.status_code == 404 and r.json()["error"] == "audio_not_available"


# -- greetings ---------------------------------------------------------------------------------

def _wav(seconds, rate=16000, channels=1, width=2):
    import io
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes(os.urandom(int(seconds * rate) * channels * width))
    return buf.getvalue()


def _greeting_heard(site, caller, box):
    """What `caller` hears first calling `box`, who is not registered (voicemail answers)."""
    from park.conftest import Recorder
    rec = Recorder(site.switch)
    phone = site.phone(caller)
    phone.dial(box)
    phone.wait_hearing("recording", timeout=10)
    heard = rec.played[phone.calls[-1].uuid][0]
    phone.hangup()
    phone.wait_idle()
    return heard


def test_greeting_upload_download_heard_by_callers_and_back_to_the_default(vm_site):
    site = vm_site
    default = site.config.voicemail.prompt_greeting
    r = site.alice.get("/api/v1/voicemail/greeting")
    assert r.status_code == 200, r.text
    assert r.json() == {"box": "1001", "custom": False, "duration_ms": None, "sample_rate": None,
                        "sha256": None, "default": default}
    r = site.alice.get("/api/v1/voicemail/greeting/audio")
    assert r.status_code == 404 and r.json()["error"] == "greeting_not_set"
    audio = _wav(3)                        # 96 kB: more than the API's 64 KiB JSON body limit
    r = site.alice.put("/api/v1/voicemail/greeting", data=audio,
                       headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["custom"] and info["duration_ms"] == 3000 and info["sample_rate"] == 16000
    assert info["sha256"] == hashlib.sha256(audio).hexdigest() and info["default"] is None
    assert site.alice.get("/api/v1/voicemail/greeting").json() == info
    r = site.alice.get("/api/v1/voicemail/greeting/audio")
    assert r.status_code == 200 and r.headers["Content-Type"] == "audio/wav" and r.content == audio
    # stored where a greeting recorded by phone goes: the leave flow plays it
    stored = _greeting_heard(site, "1002", "1001")
    assert stored.startswith(os.path.join(site.config.voicemail.storage, "1001", "greeting-"))
    assert open(stored, "rb").read() == audio
    # a second upload replaces the first (its file is gone)
    second = _wav(1.5, rate=8000)
    r = site.alice.put("/api/v1/voicemail/greeting", data=second)
    assert r.status_code == 200 and r.json()["duration_ms"] == 1500, r.text
    assert not os.path.exists(stored)
    r = site.alice.delete("/api/v1/voicemail/greeting")
    assert r.status_code == 200 and r.json()["custom"] is False and r.json()["default"] == default
    assert not os.listdir(os.path.join(site.config.voicemail.storage, "1001"))
    assert _greeting_heard(site, "1002", "1001") == default


@pytest.mark.parametrize("body,field,fragment", [
    (_wav(2, channels=2), "audio.channels", "mono"),
    (_wav(2, width=1), "audio.sample_width", "16-bit"),
    (_wav(2, width=3), "audio.sample_width", "16-bit"),
    (_wav(2, rate=44100), "audio.sample_rate", "8000 or 16000"),
    (_wav(0.5), "audio.duration", "at least 1 s"),
    (_wav(301, rate=8000), "audio.duration", "voicemail.max_greeting (300 s)"),
    (_wav(2)[:20000], "audio", "truncated"),
    (b"ID3\x03\x00 an mp3 is not a WAV", "audio", "not a PCM WAV"),
    (b"", "audio", "empty"),
], ids=["stereo", "8-bit", "24-bit", "44k1", "too-short", "too-long", "truncated", "mp3", "empty"])
def test_a_greeting_not_as_the_switch_records_is_refused_naming_the_field(vm_site, body, field,
                                                                          fragment):
    site = vm_site
    good = _wav(1.2)
    assert site.alice.put("/api/v1/voicemail/greeting", data=good).status_code == 200
    r = site.alice.put("/api/v1/voicemail/greeting", data=body,
                       headers={"Content-Type": "audio/wav"})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "greeting_refused" and r.json()["field"] == field, r.json()
    assert fragment in r.json()["message"], r.json()
    assert site.alice.get("/api/v1/voicemail/greeting/audio").content == good   # unchanged


def test_an_upload_past_what_max_greeting_allows_is_refused_before_it_is_read(vm_site):
    site = vm_site
    size = site.config.voicemail.max_greeting * 32000 + 64 * 1024 + 1
    r = site.alice.put("/api/v1/voicemail/greeting", data=b"\0" * size)
    assert r.status_code == 422 and r.json()["field"] == "audio.duration", r.text


def test_a_user_token_only_for_its_own_greeting_an_admin_for_any(vm_site):
    site = vm_site
    for method in ("get", "put", "delete"):
        r = getattr(site.bob, method)("/api/v1/voicemail/greeting", params={"user": "1001"},
                                      data=_wav(1.2) if method == "put" else None)
        assert r.status_code == 403 and r.json()["field"] == "user", (method, r.text)
    r = site.bob.get("/api/v1/voicemail/greeting/audio", params={"user": "1001"})
    assert r.status_code == 403
    r = site.admin.put("/api/v1/voicemail/greeting", data=_wav(1.2))
    assert r.status_code == 422 and r.json()["field"] == "user"
    r = site.admin.put("/api/v1/voicemail/greeting", params={"user": "1999"}, data=_wav(1.2))
    assert r.status_code == 404 and r.json()["field"] == "user"
    r = site.admin.put("/api/v1/voicemail/greeting", params={"user": "1002"}, data=_wav(1.2))
    assert r.status_code == 200 and r.json()["box"] == "1002" and r.json()["custom"], r.text
    assert site.bob.get("/api/v1/voicemail/greeting").json()["custom"] is True
    assert site.alice.get("/api/v1/voicemail/greeting").json()["custom"] is False
    assert site.admin.delete("/api/v1/voicemail/greeting",
                             params={"user": "1002"}).json()["custom"] is False
    assert site.anonymous.get("/api/v1/voicemail/greeting").status_code == 401
