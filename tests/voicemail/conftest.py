"""Voicemail test rig: the example config with voicemail storage in a temporary directory and
SMTP pointed at a real SMTP server the test starts (tests/voicemail/smtpd.py, its own process),
the rendered dialplan in the simulated switch, and the controller `fscontrol run` builds (Call
Park, Group Call Pickup, Voicemail) on a fresh database schema."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.controller import build
from fscontrol.db import upgrade
from fscontrol.esl import EslClient
from fscontrol.voicemail import Mailboxes
from parkrig import sites_made_by
from smtprig import SmtpServer
from waiting import until
from park.conftest import Recorder, sim_switch  # tests/park's rig

ROOT = Path(__file__).resolve().parents[2]
EMAILS = {"1001": "alice@example.com", "1002": "bob@example.com", "1003": "carol@example.com"}


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path / "mail")
    yield server
    server.stop()


@pytest.fixture
def migrated(database):
    with database.connection() as conn:
        upgrade(conn)
    return database


def vm_config(tmp_path, smtp_port, **voicemail):
    base = load(ROOT / "fscontrol.example.toml", env={})
    users = tuple(dataclasses.replace(u, email=EMAILS.get(u.extension, "")) for u in base.users)
    settings = dict(storage=str(tmp_path / "voicemail"), pilot="*99", min_message=1,
                    silence_seconds=2, max_message=30)
    settings.update(voicemail)
    v = dataclasses.replace(base.voicemail, **settings)
    smtp = dataclasses.replace(base.smtp, host="127.0.0.1", port=smtp_port, retry_first=1,
                               retry_max=2)
    return dataclasses.replace(base, users=users, voicemail=v, smtp=smtp)


class VmSite:
    def __init__(self, config, database):
        self.config = config
        self.database = database
        self.switch = sim_switch(config)
        self.rec = Recorder(self.switch)
        self.mwi = []                      # MESSAGE_WAITING events: (account, waiting, voice)
        self.switch.add_listener(self._on)
        self.controller = None
        self.start()

    def _on(self, ev):
        if ev.name == "MESSAGE_WAITING":
            self.mwi.append((ev.get("MWI-Message-Account"), ev.get("MWI-Messages-Waiting"),
                             ev.get("MWI-Voice-Message")))

    def start(self):
        esl = EslClient("127.0.0.1", self.switch.port, "ClueCon", connect_timeout=2,
                        command_timeout=5, heartbeat_interval=None, backoff=(0.02, 0.2))
        self.controller = build(self.config, self.database, esl, "ctl-vm")
        self.controller.start()
        assert esl.wait_connected(5)
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def service(self):
        return self.controller.feature("voicemail").service

    @property
    def esl(self):
        return self.controller.esl

    def admin(self) -> Mailboxes:
        """What `fscontrol voicemail ...` uses: its own store, no switch."""
        return Mailboxes(self.config, self.database)

    def lamp(self, box):
        """The last MWI sent for a box: (waiting, "new/saved (0/0)")."""
        mine = [m for m in self.mwi if m[0].split("@")[0] == box]
        return mine[-1][1:] if mine else None

    def messages(self, box, **kw):
        return self.admin().messages(box, **kw)

    def wait_messages(self, box, count, timeout=10.0, **kw):
        return until(lambda: (lambda ms: ms if len(ms) >= count else None)(self.messages(box, **kw)),
                     timeout, message=f"box {box} never had {count} message(s)")


@pytest.fixture
def make_vm(migrated, tmp_path, smtp):
    with sites_made_by(lambda **voicemail: VmSite(vm_config(tmp_path, smtp.port, **voicemail),
                                                  migrated)) as make:
        yield make


def speak(phone, seconds):
    """The caller talks for `seconds` (sim Phone: its channel carries voice meanwhile)."""
    phone.channel.speaking = True
    phone.sw.spawn_later(seconds, setattr, phone.channel, "speaking", False)


def wav_sha(path):
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = ["until", "speak", "wav_sha", "os"]
