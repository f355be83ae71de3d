"""`fscontrol call USER NUMBER`: the Call Via Work service run by the CLI on its own event-socket
connection, printing each step; exit 0 only once connected."""

import os
import subprocess
import sys

from .conftest import ROOT


def run_cli(*args, database):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FSCONTROL_ESL_PASSWORD")}
    env.update({"DATABASE_URL": database.url, "PGOPTIONS": f"-c search_path={database.schema}"})
    # subprocess is gevent's (monkey-patched): the switch keeps running meanwhile
    return subprocess.run([sys.executable, "-m", "fscontrol", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def _site_toml(site, tmp_path, **replace):
    text = (ROOT / "fscontrol.example.toml").read_text().replace(
        "esl_port = 8021", f"esl_port = {site.switch.port}")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "site.toml"
    path.write_text(text)
    return str(path)


def test_call_prints_each_step_and_exits_0_when_connected(make_site, tmp_path):
    site = make_site()
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    result = run_cli("call", "1001", "1002", "--config", _site_toml(site, tmp_path),
                     database=site.database)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ringing your phone 1001", "answered", "calling 1002",
                                          "connected"]
    bob.wait_connected(to="1001")
    assert (bob.channel.cid_name, bob.channel.cid_num) == ("Alice", "1001")


def test_call_unregistered_phone_fails_at_once_with_its_code(make_site, tmp_path):
    site = make_site()
    site.switch.add_user("1001")
    result = run_cli("call", "1001", "1002", "--config", _site_toml(site, tmp_path),
                     database=site.database)
    assert result.returncode == 2
    assert result.stderr.startswith("failed: device_unregistered: "), result.stderr
    assert result.stdout == ""


def test_call_busy_destination_prints_the_failure(make_site, tmp_path):
    site = make_site()
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.reject_busy()
    toml = _site_toml(site, tmp_path, **{
        'destination_dial_string = "loopback/{number}/{context}"':
        'destination_dial_string = "user/{number}@{domain}"'})
    result = run_cli("call", "1001", "1002", "--config", toml, database=site.database)
    assert result.returncode == 2
    assert result.stdout.splitlines() == ["ringing your phone 1001", "answered", "calling 1002",
                                          "failed: destination_busy (USER_BUSY)"]
    # the command ended only after the busy prompt and the hang-up: no phone left off-hook
    assert alice.state == "idle"
    assert site.config.call_via_work.prompt_busy in site.played.by_channel[alice.calls[-1].uuid]


def test_call_destination_not_allowed(make_site, tmp_path):
    site = make_site()
    result = run_cli("call", "1001", "*70", "--config", _site_toml(site, tmp_path),
                     database=site.database)
    assert result.returncode == 2
    assert result.stderr.startswith("failed: destination_not_allowed: destination: ")


def test_call_gives_up_after_wait_and_cancels(make_site, tmp_path):
    site = make_site()
    alice = site.phone("1001")      # rings, nobody answers
    result = run_cli("call", "1001", "1002", "--wait", "1", "--config",
                     _site_toml(site, tmp_path), database=site.database)
    assert result.returncode == 2
    assert "gave up after 1 s (ringing_user); cancelling" in result.stderr
    alice.wait_idle()
    assert alice.last_hangup_cause == "ORIGINATOR_CANCEL"


def test_call_callback_only_when_the_policy_allows_it(make_site, tmp_path):
    site = make_site()
    result = run_cli("call", "1001", "1002", "--callback", "1003", "--config",
                     _site_toml(site, tmp_path), database=site.database)
    assert result.returncode == 2
    assert result.stderr.startswith("failed: callback_not_allowed: callback: ")
    mobile = site.switch.register("+4915112345678")
    toml = _site_toml(site, tmp_path, **{
        "user_callback = false": "user_callback = true",
        'destination_dial_string = "loopback/{number}/{context}"':
            'destination_dial_string = "user/{number}@{domain}"'})
    result = run_cli("call", "1001", "1002", "--callback", "+4915112345678", "--wait", "1",
                     "--config", toml, database=site.database)
    assert result.stdout.splitlines()[0] == "ringing your phone +4915112345678", result
    assert mobile.calls and mobile.calls[0].cid_name == "Call Via Work"
    # never a colleague's phone, even so
    result = run_cli("call", "1001", "1002", "--callback", "1003", "--config", toml,
                     database=site.database)
    assert result.returncode == 2
    assert result.stderr.startswith("failed: callback_not_allowed: callback: 1003 is another")
