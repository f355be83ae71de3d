"""`make test-live`'s runner, end to end, with the simulated switch standing in for FreeSWITCH:
tests/live/run.sh with FSCONTROL_LIVE_ESL set needs no Docker, waits for the event socket,
and runs the `live` scenarios, which then really run (not skip) and pass."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import backends

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_sh_runs_live_scenarios_against_a_given_switch(tmp_path):
    port = _free_port()
    dialplan = tmp_path / "dialplan.xml"
    dialplan.write_text(backends.sim_dialplan(), encoding="utf-8")
    sim = subprocess.Popen([sys.executable, "-m", "fscontrol.sim", "--port", str(port),
                            "--dialplan", str(dialplan), "--password", "s3cret", "--heartbeat", "0"],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, FSCONTROL_LIVE_ESL=f"127.0.0.1:{port}", FSCONTROL_LIVE_PASSWORD="s3cret",
                   FSCONTROL_LIVE_TIMEOUT="20", PY=sys.executable)
        env.pop("FSCONTROL_LIVE_CONF", None)
        run = subprocess.run(["bash", "tests/live/run.sh", "-q",
                              "tests/scenarios/test_basic_calls.py"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    finally:
        sim.terminate()
        sim.wait(10)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "is ready" in out
    assert " passed" in out and "skipped" not in out.split("passed")[-1].split("\n")[0], out[-1500:]
    assert "docker" not in out.lower().replace("no docker", "")
