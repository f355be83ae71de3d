"""The `fscontrol` command as an operator runs it: exit codes, one-line errors, help everywhere."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fscontrol.example.toml"
SUBCOMMANDS = ["run", "check", "render", "deploy", "db", "db upgrade", "parked", "park",
               "pickup-group", "pickup-group list", "pickup-group show", "pickup-group add",
               "pickup-group remove", "call", "simulate", "attendant-schedule"]


def fscontrol(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FSCONTROL_ESL_PASSWORD")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "fscontrol", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=60)


def test_check_example_exits_0():
    result = fscontrol("check", str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_check_of_an_empty_config_warns_that_it_has_no_users_and_no_orbits():
    result = fscontrol("check", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == [
        "/dev/null: warning: no [[users]]: no call is routed to a phone and nobody can be rung back",
        '/dev/null: warning: no [[orbits]] of kind "park": no call can be parked']
    assert "warning" not in fscontrol("check", str(EXAMPLE)).stdout


def test_check_lists_every_problem_with_key_path_and_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text()
                   .replace('start = "7000"', 'start = "*7000"').replace('end = "7099"', 'end = "7100"')
                   .replace("timeout = 90", "timeout = 5"))
    result = fscontrol("check", str(bad))
    assert result.returncode == 2
    assert f'{bad}: orbits[0].end: "7100" has 4 digits but start "*7000" has 5' in result.stdout
    assert f"{bad}: park.timeout: 5 is outside 10-600 seconds" in result.stdout
    assert "Traceback" not in result.stderr


def test_check_takes_the_config_like_every_other_command(tmp_path):
    by_option = fscontrol("check", "--config", str(EXAMPLE))
    by_env = fscontrol("check", env={"FSCONTROL_CONFIG": str(EXAMPLE)})
    assert by_option.returncode == 0 and "ok" in by_option.stdout, by_option.stderr
    assert by_env.returncode == 0 and "ok" in by_env.stdout, by_env.stderr


def test_the_config_may_come_before_the_command(tmp_path):
    before = fscontrol("--config", str(EXAMPLE), "check")
    assert before.returncode == 0 and "ok" in before.stdout, before.stderr
    missing = tmp_path / "missing.toml"
    own_wins = fscontrol("-c", str(EXAMPLE), "check", "--config", str(missing))
    assert own_wins.returncode == 2 and str(missing) in own_wins.stdout + own_wins.stderr
    none_read = fscontrol("--config", str(EXAMPLE), "simulate", "--help")
    assert none_read.returncode == 2
    assert none_read.stderr.strip().splitlines()[-1].startswith(
        "fscontrol: error: fscontrol simulate reads no configuration")


def test_render_into_a_file_instead_of_a_directory_is_one_line_exit_2(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    result = fscontrol("render", "--config", str(EXAMPLE), "--out", str(target))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"fscontrol: --out: cannot write {target}: ")
    assert "unexpected" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_simulate_accepts_debug_like_every_command():
    result = fscontrol("simulate", "--debug", "--help")
    assert result.returncode == 0 and "--port" in result.stdout, result.stderr


def test_check_reports_what_cannot_be_rendered_safely(tmp_path):
    """A value the loader accepts but the renderer refuses is found by `check`, before a deploy."""
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('user_dial_string = "user/{ext}@{domain}"',
                                               'user_dial_string = "user/{ext}@${system(id)}"'))
    result = fscontrol("check", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{bad}: switch.user_dial_string: " in result.stdout
    assert "API calls are refused" in result.stdout
    assert "Traceback" not in result.stderr


def test_check_refuses_config_values_the_switch_would_expand_in_a_command(tmp_path):
    """Prompts go out in sendmsg's execute-app-arg, the hold music in uuid_broadcast: FreeSWITCH
    expands ${...} there, so ${system(...)} would run a command on the switch."""
    bad = tmp_path / "bad.toml"
    text = EXAMPLE.read_text()
    text = text.replace('music = "local_stream://moh"', 'music = "${system(touch /tmp/pwned)}"', 1)
    text = text.replace('prompt_error = "tone_stream://%(100,100,350,440);loops=5"',
                        'prompt_error = "${api(show calls)}"')
    bad.write_text(text)
    result = fscontrol("check", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{bad}: park.music: " in result.stdout and f"{bad}: park.prompt_error: " in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("dial", ["user/{ext}@${domain}", "user/${ext}@{domain}"])
def test_a_refused_user_dial_string_is_quoted_as_written_not_as_rendered(tmp_path, dial):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('user_dial_string = "user/{ext}@{domain}"',
                                               f'user_dial_string = "{dial}"'))
    result = fscontrol("check", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f'{bad}: switch.user_dial_string: "{dial}"'), line
    assert "$1" not in line and "$$$" not in line and "dialplan.xml" not in line


@pytest.mark.parametrize("content, expected", [
    (None, "not found"),
    ("[park\n", "is not valid TOML"),
])
def test_bad_config_file_is_one_line_exit_2(tmp_path, content, expected):
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_text(content)
    result = fscontrol("db", "upgrade", "--config", str(path))
    assert result.returncode == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_malformed_database_url_is_a_config_error_without_the_password():
    result = fscontrol("db", "upgrade", "--config", str(EXAMPLE),
                       env={"DATABASE_URL": "postgresql://bob:Hunter2%zz@127.0.0.1:5432/test"})
    assert result.returncode == 2
    assert "database.url: is not a valid PostgreSQL URL" in result.stderr
    assert "Hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["check"], ["db", "upgrade", "--config"], ["parked", "--config"]])
def test_unencoded_at_in_the_database_password_is_refused_naming_database_url(command):
    """postgresql://u:S3cr3tPW@x@host/db parses as host "x@host": refused at load, and no message
    shows the part of the password after the first @."""
    result = fscontrol(*command, str(EXAMPLE),
                       env={"DATABASE_URL": "postgresql://u:S3cr3tPW@x@127.0.0.1:5999/db"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "database.url: is not a valid PostgreSQL URL" in result.stdout + result.stderr
    assert "S3cr3tPW" not in result.stdout + result.stderr
    assert "x@127.0.0.1" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line_exit_2_without_secret():
    result = fscontrol("db", "upgrade", "--config", str(EXAMPLE),
                       env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db"})
    assert result.returncode == 2
    assert result.stderr.startswith("fscontrol: database 127.0.0.1:1/db unreachable")
    assert "hunter2" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_applies_then_reports_up_to_date(database):
    env = {"DATABASE_URL": database.url}
    # the database fixture's schema is not the default one, so point search_path at it
    env["PGOPTIONS"] = f"-c search_path={database.schema}"
    first = fscontrol("db", "upgrade", "--config", str(EXAMPLE), env=env)
    second = fscontrol("db", "upgrade", "--config", str(EXAMPLE), env=env)
    assert first.returncode == 0 and "applied: 0001_call_log" in first.stdout, first.stderr
    assert second.returncode == 0 and "up to date" in second.stdout


@pytest.mark.parametrize("wait", ["nan", "-5", "0", "inf", "soon"])
def test_park_refuses_a_wait_that_is_not_a_positive_number_of_seconds(wait):
    result = fscontrol("park", "--wait", wait, "0f9d7eee-d38c-4e6d-8c4b-70a0a82768b7")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"fscontrol park: error: argument --wait: {wait!r} is not a number of "
                             f"seconds greater than 0 (see fscontrol park --help)\n")


def test_usage_errors_are_one_line():
    result = fscontrol("chek")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("fscontrol: error: argument COMMAND: invalid choice: 'chek'")


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command):
    result = fscontrol(*command.split(), "--help")
    assert result.returncode == 0
    assert "usage: fscontrol" in result.stdout and len(result.stdout.splitlines()) > 3
