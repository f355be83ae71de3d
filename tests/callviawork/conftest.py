"""Call Via Work test rig: the example config (its [call_via_work] changed per test), its
rendered dialplan in the simulated switch, the controller `fscontrol run` builds (Call Park,
Group Call Pickup, Call Via Work) on a fresh database schema, and a recorder of what the switch
played to each channel."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.controller import build
from fscontrol.db import upgrade
from fscontrol.esl import EslClient
from parkrig import sim_switch, sites_made_by, with_call_via_work as with_cvw
from waiting import until

ROOT = Path(__file__).resolve().parents[2]


class Played:
    """What the switch started playing on each channel (PLAYBACK_START), in order."""

    def __init__(self, switch):
        self.by_channel = defaultdict(list)
        switch.add_listener(self._on)

    def _on(self, ev):
        if ev.name == "PLAYBACK_START":
            self.by_channel[ev.get("Unique-ID")].append(ev.get("Playback-File-Path"))


class CvwSite:
    def __init__(self, config, database):
        self.config = config
        self.database = database
        self.switch = sim_switch(config)
        self.played = Played(self.switch)
        esl = EslClient("127.0.0.1", self.switch.port, "ClueCon", connect_timeout=2,
                        command_timeout=5, heartbeat_interval=None, backoff=(0.02, 0.2))
        self.controller = build(config, database, esl, "ctl-cvw-test").start()
        assert esl.wait_connected(5)
        park = self.controller.feature("park").service
        until(lambda: park.reconciles > 0, 10, message="the first reconcile never ended")

    @property
    def feature(self):
        return self.controller.feature("callviawork")

    @property
    def service(self):
        return self.feature.service

    @property
    def control(self):
        return self.feature.control

    def phone(self, user):
        name = next((u.name for u in self.config.users if u.extension == user), None)
        return self.switch.register(user, name)

    def wait_state(self, placement, state, timeout=5.0):
        until(lambda: placement.state.value == state, timeout,
              message=f"placement {placement.id} never reached {state} (is {placement.state.value}"
                      f", outcome {placement.outcome})")
        return placement

    def history(self, user):
        return self.service.store.history(user=user)

    def stop(self):
        try:
            self.controller.stop()
        finally:
            self.switch.stop()


@pytest.fixture
def base_config():
    return load(ROOT / "fscontrol.example.toml", env={})


@pytest.fixture
def make_site(database, base_config):
    with database.connection() as conn:
        upgrade(conn)

    def build_site(config=None, **cvw):
        config = config or base_config
        return CvwSite(with_cvw(config, **cvw) if cvw else config, database)

    with sites_made_by(build_site) as make:
        yield make
