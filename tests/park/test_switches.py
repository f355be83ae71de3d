"""Two switches, one database: parked calls belong to their switch (switch.name, by default
esl_host:esl_port). A controller of switch B never frees, lists, retrieves or allocates against
switch A's calls, and orbits are per switch (as Lync's are per pool). Rows parked before
migration 0003 are taken over by the first controller that reconciles them."""

import dataclasses
from datetime import datetime, timedelta, timezone

from fscontrol.db.migrate import migrations
from fscontrol.park.states import ParkRequest, StateMachine
from fscontrol.park.store import ParkStore

from .conftest import ROOT, until
from .test_cli import db_env, run_cli


def test_a_controller_of_another_switch_leaves_this_switch_s_parked_calls_alone(make_site, tmp_path):
    a = make_site(own_switch=True, allocation="lowest")
    alice = a.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = a.orbit_of(alice)
    alice.wait_hearing("music")

    b = make_site(own_switch=True, allocation="lowest")   # its reconcile runs on connect
    until(lambda: not b.service.busy, message="switch B's reconcile never finished")
    assert [c.channel_uuid for c in a.parked()] == [alice.channel.uuid]
    assert a.log_actions(orbit) == ["park"]
    assert alice.hearing() == "music"

    # orbits are per switch: B's first call gets the same (lowest) orbit, and retrieving it on B
    # reaches B's caller, never A's
    bob, carol = b.switch.register("1002", "Bob"), b.switch.register("1003", "Carol")
    bob.dial("*70")
    assert b.orbit_of(bob) == orbit
    carol.dial(orbit)
    carol.wait_connected("1002")
    assert alice.hearing() == "music" and a.log_actions(orbit) == ["park"]
    assert b.log_actions(orbit) == ["park", "retrieve"]

    # `fscontrol parked` lists the configured switch's calls only
    toml = tmp_path / "a.toml"
    toml.write_text((ROOT / "fscontrol.example.toml").read_text().replace(
        "esl_port = 8021", f"esl_port = {a.switch.port}"))
    bob2 = b.switch.register("1004", "Dave")
    bob2.dial("*70")
    b.orbit_of(bob2)
    listed = run_cli("parked", "--config", str(toml), env=db_env(a.database))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith(orbit) and "Alice <1001>" in listed.stdout
    assert "Dave" not in listed.stdout and listed.stdout.splitlines()[-1] == "1 parked call(s)"


def test_a_named_switch_keeps_its_calls_when_its_address_changes(make_site, base_config):
    named = dataclasses.replace(base_config, switch=dataclasses.replace(base_config.switch,
                                                                        name="pbx-a"))
    site = make_site(named, own_switch=True)
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    assert ParkStore(site.database, "pbx-a").by_orbit(orbit).channel_uuid == alice.channel.uuid
    site.stop()
    # the same switch reached by another address: same name, same calls
    moved = dataclasses.replace(site.config, switch=dataclasses.replace(site.config.switch,
                                                                        esl_host="localhost"))
    site.config = moved
    site.start()
    until(lambda: not site.service.busy)
    assert [c.orbit for c in site.parked()] == [orbit] and site.log_actions(orbit) == ["park"]


def _pre_0003_schema(database):
    """The schema as it was before switch identities (migrations 0001-0002 only)."""
    with database.connection() as conn:
        conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text "
                     "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for version, name, sql in migrations():
            if version < 3:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, name))


def _park_old_row(database, orbit, uuid):
    """A call parked by a controller of the previous version (no switch; the host as its id)."""
    with database.connection() as conn:
        conn.execute("INSERT INTO parked_calls (orbit, range_name, channel_uuid, caller_number, "
                     "state, deadline, controller_id) VALUES (%s, 'main', %s, '1001', 'parked', %s, "
                     "'old-host')", (orbit, uuid, datetime.now(timezone.utc) + timedelta(seconds=90)))


def test_rows_parked_before_switch_identities_are_taken_over_by_the_first_reconcile(database,
                                                                                    make_site):
    site = make_site(own_switch=True, allocation="lowest")   # Alice at 7000, 7050 stays free
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    site.crash()
    with database.connection() as conn:      # as migration 0003 leaves a row parked before it
        conn.execute("UPDATE parked_calls SET switch = '', controller_id = 'old-host'")
    _park_old_row(database, "7050", "ended-meanwhile")

    site.start()
    until(lambda: not site.service.busy)
    (mine,) = site.parked()
    assert (mine.orbit, mine.channel_uuid, mine.switch) == (orbit, alice.channel.uuid,
                                                            site.config.switch.identity)
    assert mine.controller_id == "ctl-test"     # it runs the timers now
    assert ParkStore(database).all() == [mine]  # the ended call was taken over and freed
    assert site.log_actions("7050") == ["abandon"]
    assert alice.hearing() == "music"


def test_an_orbit_held_by_a_row_not_yet_taken_over_is_taken_on_every_switch(database, base_config):
    _pre_0003_schema(database)
    _park_old_row(database, "7050", "old-call")
    with database.connection() as conn:
        from fscontrol.db import upgrade
        upgrade(conn)
    rng = dataclasses.replace(base_config.orbits[0], start="7050", end="7051")
    machine = StateMachine(ParkStore(database, "pbx-b"), "ctl-b")
    later = datetime.now(timezone.utc) + timedelta(seconds=90)
    call = machine.park(ParkRequest("new-call"), [rng], "lowest", lambda r: later)
    assert call.orbit == "7051"
    (old,) = [c for c in ParkStore(database).all() if c.channel_uuid == "old-call"]
    assert (old.orbit, old.switch) == ("7050", "")
