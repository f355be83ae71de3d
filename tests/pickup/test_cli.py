"""`fscontrol pickup-group list|show|add|remove`: the groups as the controller sees them, changed
in the database for the next pickup, with Lync's rules (one group per user, a pickup number)."""

from park.conftest import ROOT
from park.test_cli import db_env, run_cli

from .test_pickup import GROUP

CONFIG = str(ROOT / "fscontrol.example.toml")


def _cli(database, *args):
    return run_cli("pickup-group", *args, "--config", CONFIG, env=db_env(database))


def test_list_show_add_remove(migrated):
    r = _cli(migrated, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{GROUP}  3 member(s): 1001 1002 1003  (pickers: members)"]
    r = _cli(migrated, "remove", GROUP, "1002")
    assert r.returncode == 0 and "effective for the next pickup" in r.stdout, r.stderr
    r = _cli(migrated, "show", GROUP)
    assert r.stdout.splitlines() == [f"{GROUP}: pickers members", "  1001  Alice", "  1003  Carol"]
    r = _cli(migrated, "add", "*8002", "1002")
    assert r.returncode == 0, r.stderr
    assert "*8002  1 member(s): 1002" in _cli(migrated, "list").stdout


def test_refusals_name_the_problem(migrated):
    r = _cli(migrated, "add", "*8002", "1001")
    assert r.returncode == 2
    assert r.stderr.strip() == ("fscontrol: 1001 not added to *8002: already in group *8001, and "
                                "a user is in at most one group (remove 1001 from *8001 first)")
    r = _cli(migrated, "add", "7001", "1001")
    assert r.returncode == 2 and 'fscontrol: "7001" is in no orbit range of kind "pickup"' in r.stderr
    r = _cli(migrated, "add", GROUP, "4711")
    assert r.returncode == 2 and '"4711" is not a users[].extension' in r.stderr
    r = _cli(migrated, "remove", "*8002", "1001")
    assert r.returncode == 2 and "1001 not in group *8002" in r.stderr
