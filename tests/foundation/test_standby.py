"""Two `fscontrol run` for one switch (the simulated one, in this process) and one database:
exactly one acts, the other logs that it is standby. When the active one is killed (kill -9) or
loses its database (a TCP proxy in front of PostgreSQL, cut or turned into a black hole), the
standby takes over within seconds, reconciles, and the parked call's ring-back still happens —
once: every park event is one call_log row, and the old active one stopped acting first."""

import dataclasses
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import gevent
import gevent.socket
import gevent.subprocess as subprocess
import pytest
from gevent.server import StreamServer
from psycopg import conninfo

from fscontrol.config import load
from fscontrol.park.store import ParkStore
from fscontrol.render import contract, render_files
from fscontrol.render.render import in_context
from fscontrol.sim import SimSwitch
from waiting import until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10   # park.timeout: the least `fscontrol check` allows


def write_config(tmp_path, port):
    text = (ROOT / "fscontrol.example.toml").read_text()
    for old, new in (("esl_port = 8021", f"esl_port = {port}"),
                     ('conf_dir = "/etc/freeswitch"', f'conf_dir = "{tmp_path}"'),
                     ("timeout = 90 ", f"timeout = {TIMEOUT} ")):
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "fscontrol.toml"
    path.write_text(text)
    return path


def sim_switch(config):
    dialplan = in_context(render_files(dataclasses.replace(
        config, park=dataclasses.replace(config.park, timeout=90)))[contract.DIALPLAN_FILE],
        config.switch.context)
    return SimSwitch(port=0, context=config.switch.context, dialplan=dialplan, heartbeat=0).start()


class Controller:
    """`fscontrol run` in its own process, its output collected with the time each line came."""

    def __init__(self, config_path, url, schema):
        env = {k: v for k, v in os.environ.items() if k != "FSCONTROL_ESL_PASSWORD"}
        env.update(DATABASE_URL=url, PGOPTIONS=f"-c search_path={schema}", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "fscontrol", "run", "--config",
                                      str(config_path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        self.lines = []  # (monotonic time read, line)
        self.reader = gevent.spawn(self._read)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def matching(self, text):
        return [line for _, line in self.lines if text in line]

    def wait_for(self, text, timeout=30):
        return until(lambda: self.matching(text), timeout, message=f"{text!r} in {self.output()}")

    def seen_at(self, text):
        """When the first line with `text` was read (monotonic)."""
        return next(t for t, line in self.lines if text in line)

    def logged_at(self, text):
        """The wall-clock time the process logged its first line with `text`."""
        line = self.wait_for(text)[0]
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")

    def output(self):
        return "\n".join(line for _, line in self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.reader.join(timeout=5)


class PgProxy:
    """A TCP proxy in front of PostgreSQL that a test can cut (both sides closed at once, new
    connections closed as they come) or turn into a black hole (connections stay open, nothing
    passes either way: a network partition)."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.mode = "open"
        self.sockets = []
        self.server = StreamServer(("127.0.0.1", 0), self._handle)

    def start(self):
        self.server.start()
        self.port = self.server.server_port
        return self

    def _handle(self, client, _addr):
        if self.mode == "cut":
            client.close()
            return
        self.sockets.append(client)
        if self.mode == "blackhole":
            gevent.sleep(3600)   # accepted, never answered
            return
        upstream = gevent.socket.create_connection(self.target)
        self.sockets.append(upstream)
        pumps = [gevent.spawn(self._pump, client, upstream), gevent.spawn(self._pump, upstream, client)]
        gevent.joinall(pumps)

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if self.mode == "blackhole":
                    if not data:
                        return   # a FIN is not delivered across a partition either
                    continue
                if not data or self.mode != "open":
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            s.close()

    def cut(self):
        self.mode = "cut"
        for s in self.sockets:
            s.close()

    def blackhole(self):
        self.mode = "blackhole"

    def restore(self):
        self.mode = "open"
        for s in self.sockets:   # what was left in the black hole is reset
            s.close()

    def stop(self):
        self.server.stop(timeout=1)
        for s in self.sockets:
            s.close()


@pytest.fixture
def rig(tmp_path, database):
    from fscontrol.db import upgrade
    with database.connection() as conn:
        upgrade(conn)
    base = load(ROOT / "fscontrol.example.toml", env={})
    switch = sim_switch(base)
    config_path = write_config(tmp_path, switch.port)
    config = load(config_path, env={})
    events = []
    switch.add_listener(events.append)
    started = []

    def controller(url=None):
        c = Controller(config_path, url or database.url, database.schema)
        started.append(c)
        return c

    store = ParkStore(database, config.switch.identity)
    yield dataclasses.make_dataclass("Rig", ["switch", "config", "events", "controller", "store"])(
        switch, config, events, controller, store)
    for c in started:
        c.stop()
    store.close()
    switch.stop()


def active_and_standby(rig, url_a=None):
    a = rig.controller(url_a)
    a.wait_for("active (controller")
    a.wait_for("reconciled 0 parked call(s)")
    b = rig.controller()
    b.wait_for(f"standby: switch {rig.config.switch.identity} is controlled by controller ")
    return a, b


def park_alice(rig):
    """Alice, transferred to the park code by Bob (who answers his phone at once), is parked."""
    alice, bob = rig.switch.register("1001", "Alice"), rig.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("*70", variables={"referred_by_user": "1002"})
    call = until(lambda: next(iter(rig.store.all()), None), message="Alice never got an orbit")
    alice.wait_hearing("music")
    until(lambda: said(rig, "MESSAGE"), message="Bob was never told the orbit")  # the park is done
    return alice, bob, call


def said(rig, name, uuid=None):
    return [e for e in rig.events if e.name == name and (uuid is None or e.get("Unique-ID") == uuid)]


def assert_rung_back_once(rig, alice, bob, call):
    """The timer survived the takeover: Bob is rung "Parked <orbit> - Alice" and talks to her;
    every step happened once (one row each, one hold music, one message to the parker)."""
    alice.wait_connected("1002", TIMEOUT + 15)
    assert bob.display() == f"Parked {call.orbit} - Alice"
    until(lambda: rig.store.call_log(call.orbit)[-1:] and
          rig.store.call_log(call.orbit)[-1]["action"] == "ringback_answered")
    assert [r["action"] for r in rig.store.call_log(call.orbit)] == ["park", "timeout",
                                                                     "ringback_answered"]
    assert len(said(rig, "PLAYBACK_START", call.channel_uuid)) == 1
    assert len(said(rig, "MESSAGE")) == 1
    assert rig.store.all() == []


def test_killed_active_controller_the_standby_takes_over_and_rings_the_parker_back(rig):
    a, b = active_and_standby(rig)
    assert not b.matching("connected (")   # a standby does not even connect to the switch
    alice, bob, call = park_alice(rig)
    presence_before = len(said(rig, "PRESENCE_IN"))

    a.proc.kill()   # SIGKILL: no cleanup at all
    killed = time.monotonic()
    b.wait_for("reconciled 1 parked call(s): 1 resumed, 0 freed", timeout=20)
    failover = b.seen_at("reconciled 1 parked call(s)") - killed
    print(f"failover after kill -9: {failover:.2f} s")
    assert failover < 8
    # the new active one re-published the orbit as busy
    again = said(rig, "PRESENCE_IN")[presence_before:]
    assert any(e.get("login") == call.orbit and e.get("answer-state") == "confirmed" for e in again)
    assert_rung_back_once(rig, alice, bob, call)


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
def test_active_controller_losing_its_database_steps_down_and_the_standby_takes_over(rig, database,
                                                                                    fault):
    server = conninfo.conninfo_to_dict(database.url)
    if (server.get("host") or "").startswith("/"):
        pytest.skip("the test database is on a unix socket: no TCP to proxy")
    proxy = PgProxy(server.get("host") or "localhost", int(server.get("port") or 5432)).start()
    try:
        a, b = active_and_standby(rig, conninfo.make_conninfo(database.url, host="127.0.0.1",
                                                               port=str(proxy.port)))
        alice, bob, call = park_alice(rig)

        getattr(proxy, fault)()
        faulted = time.monotonic()
        a.wait_for("stepping down, this controller stops acting", timeout=10)
        a.wait_for("stopped acting (features and ESL connection closed)")
        b.wait_for("reconciled 1 parked call(s): 1 resumed, 0 freed", timeout=25)
        print(f"failover after the database {fault}: "
              f"{b.seen_at('reconciled 1 parked call(s)') - faulted:.2f} s")
        # never both: the old active one had stopped before the new one started acting
        assert a.logged_at("stopped acting") < b.logged_at("fscontrol running against ESL")
        assert_rung_back_once(rig, alice, bob, call)

        proxy.restore()   # its database back, the old active one stays standby
        a.wait_for(f"standby: switch {rig.config.switch.identity} is controlled by controller ",
                   timeout=20)
        assert len(a.matching("connected (")) == 1
    finally:
        proxy.stop()
