"""`fscontrol attendant-schedule`: which menu an attendant plays at an instant, as an operator
checks it before a holiday or a DST change."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIVE = str(ROOT / "tests" / "live" / "fscontrol.toml")


def fscontrol(*args):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "fscontrol", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def test_it_says_each_attendants_menu_in_its_own_zone():
    r = fscontrol("attendant-schedule", "--config", LIVE, "--at", "2026-03-30T06:30Z")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("8000") and "08:30 CEST" in lines[0] and lines[0].endswith("business hours")
    assert lines[1].startswith("8001") and "02:30 EDT" in lines[1] and lines[1].endswith("after hours")


def test_a_holiday_is_named():
    r = fscontrol("attendant-schedule", "--config", LIVE, "--at", "2026-12-25T10:00+01:00", "8000")
    assert r.returncode == 0 and r.stdout.strip().endswith("holiday (Christmas)"), r.stdout


def test_an_instant_without_offset_or_an_unknown_attendant_is_one_line_exit_2():
    r = fscontrol("attendant-schedule", "--config", LIVE, "--at", "2026-12-25T10:00")
    assert r.returncode == 2 and "names no UTC offset" in r.stderr and len(r.stderr.splitlines()) == 1
    r = fscontrol("attendant-schedule", "--config", LIVE, "8009")
    assert r.returncode == 2 and "no attendant 8009" in r.stderr


def test_check_counts_attendants_and_warns_of_one_that_is_never_open(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[[users]]\nextension = "1001"\n[[attendants]]\nnumber = "8000"\n'
                    'time_zone = "Europe/Berlin"\non_failure = "disconnect"\n')
    r = fscontrol("check", str(site))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "attendants[0] (8000) has no [hours]: it always plays the after-hours menu" in r.stdout
    assert r.stdout.rstrip().endswith("1 auto attendant(s)")
