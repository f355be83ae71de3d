"""Call Park test rig: the example config with test timings, its rendered dialplan in the simulated
switch, a controller running the ParkFeature against a fresh database schema, and recorders for
what the switch was told (prompts played, presence sent)."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.calls import CallsFeature
from fscontrol.config.model import OrbitRange
from fscontrol.controller import Controller
from fscontrol.db import Database, upgrade
from fscontrol.esl import EslClient
from fscontrol.park import ParkFeature
from fscontrol.pickup import PickupFeature
from fscontrol.sim.blf import blf_view
from parkrig import on_port, sim_switch, sites_made_by, with_test_timing  # noqa: F401  (shared)
from waiting import until  # noqa: F401  (the park tests import it from here)

ROOT = Path(__file__).resolve().parents[2]


def park_range(name, start, end, **kw):
    return OrbitRange(name=name, kind="park", start=start, end=end, **kw)


class Recorder:
    """What the switch published: prompts/music started per channel, presence per orbit."""

    def __init__(self, switch):
        self.played = defaultdict(list)   # channel uuid -> [path, ...]
        self.presence = defaultdict(list)  # orbit -> ["busy"|"idle", ...]
        self.phone_view = {}  # orbit -> what a subscribed SIP phone shows now (sim.blf)
        self.pickup = defaultdict(list)   # group number -> ["ringing"|"idle", ...]
        self.events = []
        switch.add_listener(self._on)

    def blf(self, orbit):
        """What a BLF key on the orbit showed, in order: a re-sent state (the reconcile after a
        (re)connect re-publishes every parked orbit) changes nothing on the key."""
        shown = []
        for state in self.presence[orbit]:
            if not shown or shown[-1] != state:
                shown.append(state)
        return shown

    def pickup_blf(self, number):
        """What a BLF key on a pickup group showed, in order (repeats collapsed)."""
        shown = []
        for state in self.pickup[number]:
            if not shown or shown[-1] != state:
                shown.append(state)
        return shown

    def _on(self, ev):
        name = ev.name
        if name == "PLAYBACK_START":
            self.played[ev.get("Unique-ID")].append(ev.get("Playback-File-Path"))
        elif name == "PRESENCE_IN" and ev.get("proto") == "park":
            self.presence[ev.get("login")].append(
                "busy" if ev.get("answer-state") == "confirmed" else "idle")
            self.phone_view[ev.get("login")] = blf_view(ev)
        elif name == "PRESENCE_IN" and ev.get("proto") == "pickup":
            self.pickup[ev.get("login")].append(
                "ringing" if ev.get("answer-state") == "early" else "idle")
        elif name == "MESSAGE":
            self.events.append(("MESSAGE", ev.get("to"), ev.body))


class Site:
    def __init__(self, config, database, switch=None, controller_id="ctl-test"):
        self.config = config
        self.database = database
        self.controller_id = controller_id
        self.switch = switch or sim_switch(config)
        self.rec = Recorder(self.switch)
        self.controller = None
        self.start()

    def start(self):
        esl = EslClient("127.0.0.1", self.switch.port, "ClueCon", connect_timeout=2,
                        command_timeout=5, heartbeat_interval=None, backoff=(0.02, 0.2))
        self.controller = Controller(self.config, self.database, esl)
        self.calls_feature = CallsFeature()           # as fscontrol.controller.build wires it
        self.controller.features.append(self.calls_feature)
        self.feature = ParkFeature(controller_id=self.controller_id)
        self.controller.features.append(self.feature)
        self.pickup_feature = PickupFeature()        # as fscontrol.controller.build wires it
        self.controller.features.append(self.pickup_feature)
        self.controller.start()
        assert esl.wait_connected(5)
        # the first reconcile is over: a test's own reconnect is then the next one
        until(lambda: self.service.reconciles > 0, 10, message="the first reconcile never ended")
        return self

    @property
    def service(self):
        return self.feature.service

    @property
    def calls(self):
        return self.calls_feature.tracker

    @property
    def esl(self):
        return self.controller.esl

    @property
    def pickup(self):
        return self.pickup_feature.service

    def crash(self):
        """The controller dies (kill -9 in-process): its greenlets and socket vanish, nothing is
        cleaned up or written. The switch and the database keep going."""
        self.feature.stop()
        self.pickup_feature.stop()
        conn = self.esl._conn
        self.esl._stop_event.set()
        if self.esl._supervisor is not None:
            self.esl._supervisor.kill(block=False)
        if conn is not None:
            conn.close("killed")
        self.esl.dispatcher.stop()

    def stop(self):
        self.controller.stop()

    # -- helpers -------------------------------------------------------------------------
    def parked(self):
        return self.service.store.all()

    def orbit_of(self, phone, timeout=5.0):
        """The orbit the phone's current call got (waits for it)."""
        uuid = phone.channel.uuid
        def find():
            call = self.service.store.by_channel(uuid)
            return call.orbit if call else None
        return until(find, timeout, message=f"{phone.user}'s call never got an orbit")

    def log_actions(self, orbit=None):
        return [r["action"] for r in self.service.store.call_log(orbit)]


@pytest.fixture
def migrated(database):
    with database.connection() as conn:
        upgrade(conn)
    return database


@pytest.fixture
def base_config():
    return load(ROOT / "fscontrol.example.toml", env={})


@pytest.fixture
def make_site(migrated, base_config):
    def build_site(config=None, own_switch=False, **park):
        """`own_switch`: the config names the site's own switch (esl_port = its port), so two
        such sites are two switches sharing one database."""
        config = with_test_timing(config or base_config, **park) if park else (config or base_config)
        switch = sim_switch(config) if own_switch else None
        return Site(on_port(config, switch.port) if switch else config, migrated, switch)

    with sites_made_by(build_site) as make:
        yield make


@contextmanager
def database_down(site):
    """The park store's database stops answering (new and pooled connections alike)."""
    pool = site.service.store.pool
    good = pool.database
    pool.drop_idle()
    pool.database = Database("postgresql://127.0.0.1:9/nowhere", connect_timeout=1)
    try:
        yield
    finally:
        pool.database = good
