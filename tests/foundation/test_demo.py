"""`make demo` runs its scenario end to end on embedded defaults (its own PostgreSQL, the simulator)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_scenario_on_embedded_defaults(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "fscontrol.demo"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "controller connected over ESL" in out
    assert "1 call ringing for 1002" in out
    assert "Alice is connected to 1002" in out
    assert "CHANNEL_PARK" in out and "fscontrol_action=retrieve" in out
    assert re.search(r"Alice is parked at orbit 70\d\d and hears music; Bob's leg ended", out)
    assert re.search(r"Alice is connected to 1003; orbit 70\d\d is free again", out)
    assert "call log: park, retrieve, retrieve_empty" in out
    lines = out.splitlines()
    start = lines.index("    fscontrol parked:")
    shown = lines[start + 1:start + 4]   # the `fscontrol parked` table, nothing in between
    assert shown[0].split()[:2] == ["ORBIT", "CALLER"] and shown[2] == "      1 parked call(s)", shown
    if "10. Call Via Work through the HTTP API: not in this build" not in out:
        assert re.search(r'POST /api/v1/calls \{"destination": "1002"\} -> 202 ringing_user', out)
        assert 'Alice\'s phone rings first, showing "Call Via Work"' in out
        assert "GET /api/v1/calls/{id} -> talking, placement connected" in out
        assert "event stream: call_answered" in out and "event stream: call_ended" in out
        assert "DELETE /api/v1/calls/{id} -> 200 hung_up" in out
    assert re.search(r"message \d+ for 1002 from Dave <1004>, 2\.\d s, recorded by the switch", out)
    assert "MWI sent to Bob's phones: " in out
    assert re.search(r'email arrived for bob@example.com: "Voicemail from Dave <1004> \(2s\)" '
                     r'with voicemail-1002-\d+\.wav', out)
    assert "delivery recorded: 250 " in out
    assert out.rstrip().endswith("demo done.")
    assert (tmp_path / ".fscontrol" / "pgdata" / "PG_VERSION").exists()
    # the demo's API token does not outlive it (`make run` may use the same database)
    (tmp_path / "site.toml").write_text((ROOT / "fscontrol.example.toml").read_text())
    listed = subprocess.run([sys.executable, "-m", "fscontrol", "token", "list", "--config",
                             str(tmp_path / "site.toml")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    demo_rows = [line for line in listed.stdout.splitlines() if "demo" in line]
    assert demo_rows and all("active" not in line for line in demo_rows), listed.stdout
