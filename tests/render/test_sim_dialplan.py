"""The rendered dialplan runs in the simulated switch: dialled numbers reach `park` with the
contract's variables set (tests wait for conditions through the simulator's API)."""

from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.render import contract, render_files
from fscontrol.render.render import in_context
from fscontrol.sim import SimSwitch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def switch():
    config = load(ROOT / "fscontrol.example.toml", env={})
    dialplan = in_context(render_files(config)[contract.DIALPLAN_FILE], config.switch.context)
    sw = SimSwitch(port=0, context=config.switch.context, dialplan=dialplan).start()
    yield sw
    sw.stop()


def _wait(sw, ch, what, pred):
    assert sw.wait_until(lambda: pred(ch), timeout=5.0), f"timed out waiting for {what}: {ch.vars}"


def test_dialled_orbit_reaches_park_with_the_orbit_set(switch):
    ch = switch.register("1001").dial("7005")
    _wait(switch, ch, "parked retrieve", lambda c: c.parked)
    assert ch.vars[contract.VAR_ACTION] == contract.ACTION_RETRIEVE
    assert ch.vars[contract.VAR_ORBIT] == "7005"


def test_park_code_and_pickup_numbers(switch):
    ch = switch.register("1001").dial("*70")
    _wait(switch, ch, "parked", lambda c: c.parked)
    assert ch.vars[contract.VAR_ACTION] == contract.ACTION_PARK
    ch = switch.register("1002").dial("*8001")
    _wait(switch, ch, "parked pickup", lambda c: c.parked)
    assert (ch.vars[contract.VAR_ACTION], ch.vars[contract.VAR_PICKUP_NUMBER]) == ("pickup", "*8001")
    ch = switch.register("1003").dial("**1002")
    _wait(switch, ch, "parked directed pickup", lambda c: c.parked)
    assert (ch.vars[contract.VAR_ACTION], ch.vars[contract.VAR_TARGET]) == ("directed_pickup", "1002")


def test_number_outside_every_range_is_not_ours(switch):
    ch = switch.register("1001").dial("7100")
    assert switch.wait_until(lambda: not ch.alive, timeout=5.0)
    assert contract.VAR_ACTION not in ch.vars


def test_call_to_a_user_binds_the_park_dtmf_before_bridging(switch):
    bob = switch.register("1002")
    bob.auto_answer()
    ch = switch.register("1001").dial("1002")
    _wait(switch, ch, "bridged to 1002", lambda c: c.bridged is not None)
    assert ch.vars[contract.VAR_DIALED_EXTENSION] == "1002"
    # exported, so FreeSWITCH copies it to the ringing leg (the simulator records the export but
    # does not copy it to the B leg yet)
    assert ch.exports[contract.VAR_DIALED_EXTENSION] == "1002"
    listen, flags, app, data = ch.meta_bindings["1"]
    assert (app, data) == ("execute_extension", f"{contract.PARK_DTMF_EXTENSION} XML default")
