"""`fscontrol parked` lists parked calls from the database; `fscontrol park UUID` sends a live
call to the park code so the running controller parks it."""

import os
import subprocess
import sys

from .conftest import ROOT, park_range, until, with_test_timing


def run_cli(*args, env):
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FSCONTROL_ESL_PASSWORD")}
    full.update(env)
    # subprocess is gevent's (monkey-patched): the switch and controller keep running meanwhile
    return subprocess.run([sys.executable, "-m", "fscontrol", *args], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=60)


def db_env(database):
    return {"DATABASE_URL": database.url, "PGOPTIONS": f"-c search_path={database.schema}"}


def test_parked_lists_orbit_caller_parker_attempts_next_action(make_site):
    site = make_site()
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70", variables={"referred_by_user": "1002"})
    orbit = site.orbit_of(alice)
    result = run_cli("parked", "--config", str(ROOT / "fscontrol.example.toml"), env=db_env(site.database))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ORBIT", "CALLER", "PARKER", "PARKED", "FOR", "ATTEMPTS", "NEXT", "WHEN"]
    row = lines[1]
    assert row.startswith(orbit) and "Alice <1001>" in row and "1002" in row
    assert "0/1" in row and "ring back 1002" in row and "in 1m" in row
    assert lines[-1] == "1 parked call(s)"


def test_parked_with_nothing_parked(migrated):
    result = run_cli("parked", "--config", str(ROOT / "fscontrol.example.toml"), env=db_env(migrated))
    assert result.returncode == 0 and result.stdout.strip() == "no parked calls"


def _site_toml(site, tmp_path):
    """The example config pointed at the site's simulated switch, as a file for the CLI."""
    config = (ROOT / "fscontrol.example.toml").read_text().replace(
        "esl_port = 8021", f"esl_port = {site.switch.port}")
    (tmp_path / "site.toml").write_text(config)
    return str(tmp_path / "site.toml")


def _alice_talking_to_bob(site):
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    return alice


def test_park_uuid_parks_a_live_call_through_the_running_controller(make_site, tmp_path):
    site = make_site()
    alice = _alice_talking_to_bob(site)
    uuid = alice.channel.uuid
    site_toml = _site_toml(site, tmp_path)
    env = db_env(site.database)
    result = run_cli("park", uuid, "--config", site_toml, env=env)
    assert result.returncode == 0, result.stderr
    orbit = site.service.store.by_channel(uuid).orbit   # the command waited for it
    assert result.stdout.strip() == f"{uuid}: parked at orbit {orbit}"
    alice.wait_hearing("music")
    assert site.service.store.by_orbit(orbit).parker is None
    missing = run_cli("park", "0f9d7eee-d38c-4e6d-8c4b-70a0a82768b7", "--config", site_toml, env=env)
    assert missing.returncode == 2 and "no channel" in missing.stderr


def test_park_uuid_with_a_parker_rings_that_user_back_and_refuses_a_stranger(make_site, tmp_path):
    site = make_site()
    alice = _alice_talking_to_bob(site)
    uuid = alice.channel.uuid
    site_toml = _site_toml(site, tmp_path)
    env = db_env(site.database)
    stranger = run_cli("park", uuid, "--parker", "1002|sip:x@evil", "--config", site_toml, env=env)
    assert stranger.returncode == 2
    assert stranger.stderr.strip() == ("fscontrol: --parker: '1002|sip:x@evil' is no configured "
                                       "user's extension (users[].extension)")
    assert site.service.store.by_channel(uuid) is None          # refused before anything moved
    result = run_cli("park", uuid, "--parker", "1002", "--config", site_toml, env=env)
    assert result.returncode == 0, result.stderr
    orbit = site.service.store.by_channel(uuid).orbit
    assert site.service.store.by_orbit(orbit).parker == "1002"


def test_park_uuid_without_a_running_controller_says_so_and_exits_2(make_site, tmp_path):
    site = make_site()
    alice = _alice_talking_to_bob(site)
    site.stop()                                   # no controller any more: nobody would park it
    result = run_cli("park", alice.channel.uuid, "--wait", "0.5", "--config",
                     _site_toml(site, tmp_path), env=db_env(site.database))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no controller parked it within 0.5 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_park_refuses_a_malformed_uuid_naming_it(migrated):
    result = run_cli("park", "abc def", "--config", str(ROOT / "fscontrol.example.toml"),
                     env=db_env(migrated))
    assert result.returncode == 2
    assert result.stderr.strip() == "fscontrol: uuid: 'abc def' is not a channel uuid (letters, digits, - _ . only)"


def test_parked_does_not_create_a_schema_it_reads(database):
    """A reader never migrates: an empty database is an error naming the fix, and stays empty."""
    result = run_cli("parked", "--config", str(ROOT / "fscontrol.example.toml"), env=db_env(database))
    assert result.returncode == 2
    assert "has no fscontrol schema" in result.stderr and "fscontrol db upgrade" in result.stderr
    with database.connection() as conn:
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None


def test_park_uuid_when_no_orbit_is_free_says_why(make_site, base_config, tmp_path):
    config = with_test_timing(base_config, orbits=[park_range("tiny", "7000", "7000")])
    site = make_site(config)
    zed = site.switch.register("1009", "Zed")
    zed.dial("*70")
    site.orbit_of(zed)                             # the only orbit is taken
    alice = _alice_talking_to_bob(site)
    result = run_cli("park", alice.channel.uuid, "--config", _site_toml(site, tmp_path),
                     env=db_env(site.database))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"fscontrol: {alice.channel.uuid}: not parked: no free orbit in tiny" in result.stderr
    assert "no controller" not in result.stderr


def test_park_uuid_of_a_call_already_parked_says_where_and_exits_0(make_site, tmp_path):
    site = make_site()
    alice = _alice_talking_to_bob(site)
    uuid = alice.channel.uuid
    site_toml, env = _site_toml(site, tmp_path), db_env(site.database)
    assert run_cli("park", uuid, "--config", site_toml, env=env).returncode == 0
    orbit = site.service.store.by_channel(uuid).orbit
    again = run_cli("park", uuid, "--config", site_toml, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip() == f"{uuid}: already parked at orbit {orbit}"
    assert site.service.store.by_channel(uuid).orbit == orbit    # not moved, not parked twice
    assert site.log_actions().count("park") == 1
    assert alice.hearing() == "music"


def test_one_shot_commands_log_info_lines_only_when_verbose(make_site, tmp_path):
    """`fscontrol park` prints its answer on stdout; "ESL connected" and the like are for
    --verbose (or --debug), not stderr noise on every run."""
    site = make_site()
    uuid = _alice_talking_to_bob(site).channel.uuid
    site_toml, env = _site_toml(site, tmp_path), db_env(site.database)
    quiet = run_cli("park", uuid, "--config", site_toml, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = run_cli("park", uuid, "--verbose", "--config", site_toml, env=env)
    assert loud.returncode == 0 and "INFO fscontrol.esl: " in loud.stderr and "connected" in loud.stderr
    assert run_cli("-v", "parked", "--config", site_toml, env=env).returncode == 0
