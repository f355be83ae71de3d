"""One scenario set, two switches: the `backend` fixture.

Each test that takes `backend` runs twice: `[sim]`, against the simulated FreeSWITCH loaded
with tests/live/conf's dialplan (the rendered fscontrol dialplan plus the `phones` context), and
`[live]` (marked `live`, so only under `pytest -m live`), against the real FreeSWITCH named by
FSCONTROL_LIVE_ESL=host:port (password FSCONTROL_LIVE_PASSWORD, default ClueCon), skipped with
the reason when that is not set. Both are driven the same way, over the event socket, by
tests/livephones.py; scenarios assert only what a caller experiences.

Use it from a test directory's conftest.py:  `from backends import backend  # noqa: F401`."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

import fsxml
from fscontrol.config import load
from fscontrol.config.model import Secret
from livephones import LiveSwitch

ROOT = Path(__file__).resolve().parents[1]
LIVE_DIR = ROOT / "tests" / "live"
LIVE_CONF = LIVE_DIR / "conf"
LIVE_TOML = LIVE_DIR / "fscontrol.toml"
ENV_ESL = "FSCONTROL_LIVE_ESL"
ENV_PASSWORD = "FSCONTROL_LIVE_PASSWORD"


class Backend:
    """A switch to run scenarios on: its phones, and the fscontrol config pointing at it."""

    def __init__(self, name, switch: LiveSwitch, host, port, password, sim=None):
        self.name = name
        self.switch = switch
        self.host, self.port, self.password = host, port, password
        self.sim = sim          # the SimSwitch behind a sim backend (setup only, never asserted on)
        base = load(LIVE_TOML, env={})
        self.config = dataclasses.replace(base, switch=dataclasses.replace(
            base.switch, esl_host=host, esl_port=port, esl_password=Secret(password)))

    def __repr__(self):
        return "<Backend %s %s:%s>" % (self.name, self.host, self.port)

    def phone(self, extension, name=None):
        """The registered phone of a user (ringing until told otherwise, like a sim phone)."""
        if name is None:
            name = next((u.name for u in self.config.users if u.extension == extension), None)
        return self.switch.register(extension, name)

    def phones(self, *extensions):
        return [self.phone(e) for e in extensions]

    def api(self, command):
        return self.switch.api(command)


def live_address():
    """(host, port, password) from the environment, or None when no real switch is configured."""
    spec = os.environ.get(ENV_ESL, "").strip()
    if not spec:
        return None
    host, _, port = spec.rpartition(":")
    if not host or not port.isdigit():
        raise pytest.UsageError(f"{ENV_ESL}={spec!r}: expected host:port")
    password = os.environ.get(ENV_PASSWORD) or "ClueCon"
    # tests/live/conf/vars.xml hands it to the switch through `echo` in a shell: one plain word
    if not re.fullmatch(r"[A-Za-z0-9._@%+=:-]{1,64}", password):
        raise pytest.UsageError(f"{ENV_PASSWORD}: use one word of letters, digits and . _ @ % + = : - "
                                f"(the test switch reads it through a shell)")
    return host, int(port), password


def sim_dialplan() -> str:
    """tests/live/conf's dialplan section as FreeSWITCH's preprocessor produces it."""
    return fsxml.dialplan_xml(LIVE_CONF)


def start_sim_backend():
    from fscontrol.sim import SimSwitch
    config = load(LIVE_TOML, env={})
    sim = SimSwitch(port=0, context=config.switch.context, domain="fscontrol.test",
                    dialplan=sim_dialplan(), heartbeat=0).start()
    switch = LiveSwitch("127.0.0.1", sim.port, "ClueCon", context=config.switch.context).start()
    return Backend("sim", switch, "127.0.0.1", sim.port, "ClueCon", sim=sim)


def start_live_backend():
    address = live_address()
    if address is None:
        pytest.skip(f"no real FreeSWITCH configured: set {ENV_ESL}=host:port "
                    f"(and {ENV_PASSWORD}) or run `make test-live`")
    host, port, password = address
    config = load(LIVE_TOML, env={})
    switch = LiveSwitch(host, port, password, context=config.switch.context).start()
    switch.hangup_all()
    switch.forget_phones(u.extension for u in config.users)
    return Backend("live", switch, host, port, password)


@pytest.fixture(params=[pytest.param("sim", id="sim"),
                        pytest.param("live", id="live", marks=pytest.mark.live)])
def backend(request):
    b = start_sim_backend() if request.param == "sim" else start_live_backend()
    try:
        yield b
    finally:
        try:
            if b.sim is None:
                b.switch.hangup_all()
        finally:
            b.switch.stop()
            if b.sim is not None:
                b.sim.stop()
