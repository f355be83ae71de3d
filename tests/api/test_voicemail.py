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
