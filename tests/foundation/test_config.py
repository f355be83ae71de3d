"""Site configuration: the shipped example is valid, and each listed mistake gives its listed error."""

import copy
import tomllib
from pathlib import Path

import pytest

from fscontrol.config import Secret, load, parse
from fscontrol.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "fscontrol.example.toml"


def example():
    return tomllib.loads(EXAMPLE.read_text())


def problems(data, env=None):
    with pytest.raises(ConfigError) as err:
        parse(data, env or {})
    return err.value.lines()


def with_orbits(*ranges, **extra):
    data = example()
    data["orbits"] = [dict(name=f"r{i}", kind="park", **r) for i, r in enumerate(ranges)]
    data.pop("pickup_groups")
    data.update(extra)
    return data


def test_example_is_valid_and_typed():
    config = load(EXAMPLE, env={})
    assert config.park.timeout == 90 and config.park.max_attempts == 1
    assert config.park.music_on_hold is True and config.park.fallback == ""
    assert [r.kind for r in config.orbits] == ["park", "pickup"]
    assert config.orbits[0].numbers.size == 100
    assert config.pickup_groups[0].members == ("1001", "1002", "1003")
    with pytest.raises(AttributeError):
        config.park.timeout = 5  # immutable


def test_defaults_apply_when_keys_are_left_out():
    config = parse({}, env={})
    assert (config.park.timeout, config.park.max_attempts, config.park.ringback_timeout) == (90, 1, 30)
    assert config.park.music_on_hold is True and config.park.allocation == "random"
    assert config.switch.user_dial_string == "user/{ext}@{domain}"


@pytest.mark.parametrize("ranges, expected", [
    ([dict(start="*7000", end="7100")], 'orbits[0].end: "7100" has 4 digits but start "*7000" has 5'),
    ([dict(start="*7000", end="#7100")], 'orbits[0].end: "#7100" starts with "#" but start "*7000" starts with "*"'),
    ([dict(start="7099", end="7000")], 'orbits[0].end: "7000" is below start "7099"'),
    ([dict(start="0700", end="0799")], 'orbits[0].start: "0700" is not an orbit number'),
    ([dict(start="*100", end="*199")], 'orbits[0].start: "*100": after "*" the number must be greater than 100'),
    ([dict(start="*123456789", end="*123456789")], 'orbits[0].start: "*123456789" is not an orbit number'),
    ([dict(start="1234567890", end="1234567899")], 'orbits[0].start: "1234567890" is not an orbit number'),
    ([dict(start="10000", end="20000")], 'orbits[0].end: 10,001 orbits from "10000" to "20000"; at most 10,000 per range'),
    ([dict(start="7000", end="7099"), dict(start="7050", end="7150")],
     'orbits[1]: "7050".."7150" overlaps orbits[0] ("7000".."7099")'),
    ([dict(start="1000", end="1099")], 'orbits[0]: orbit "1001" collides with users[0].extension'),
    ([dict(start="*70", end="*79")], 'orbits[0].start: "*70": after "*" the number must be greater than 100'),
    ([dict(start="*700", end="*799")], None),
])
def test_orbit_range_rules(ranges, expected):
    data = with_orbits(*ranges)
    if expected is None:
        parse(data, {})
        return
    assert any(line.startswith(expected) for line in problems(data)), problems(data)


def test_orbit_colliding_with_feature_code():
    data = with_orbits(dict(start="*701", end="*799"))
    data["park"]["code"] = "*750"
    assert 'orbits[0]: orbit "*750" collides with feature code park.code' in problems(data)


def test_total_orbits_capped_at_50000():
    ranges = [dict(start=f"{i}0000", end=f"{i}9999") for i in range(1, 7)]
    assert "orbits: 60,000 orbits in all; at most 50,000" in problems(with_orbits(*ranges))


@pytest.mark.parametrize("key, value, expected", [
    ("timeout", 9, "park.timeout: 9 is outside 10-600 seconds"),
    ("timeout", 601, "park.timeout: 601 is outside 10-600 seconds"),
    ("max_attempts", 0, "park.max_attempts: 0 is outside 1-10"),
    ("max_attempts", 11, "park.max_attempts: 11 is outside 1-10"),
    ("allocation", "first", 'park.allocation: string \'first\' is not one of "random" or "lowest"'),
    ("music_on_hold", "yes", "park.music_on_hold: expected true or false, got string 'yes'"),
    ("timeout", True, "park.timeout: expected an integer, got boolean true"),
    ("max_attempts", False, "park.max_attempts: expected an integer, got boolean false"),
    ("allocation", True, 'park.allocation: boolean true is not one of "random" or "lowest"'),
    ("ringback_timeout", 4, "park.ringback_timeout: 4 is outside 5-300 seconds"),
    ("dtmf_code", "#1", 'park.dtmf_code: "#1" must be * followed by one digit'),
    ("prompt_empty_orbit", " ", "park.prompt_empty_orbit: must not be empty (a sound file or tone_stream://...)"),
    ("say_language", "english", 'park.say_language: "english" is not a language code like "en"'),
    ("presence_proto", "park proto", 'park.presence_proto: "park proto" must be a word like "park" or "sip"'),
    ("presence_domain", "pbx/example", 'park.presence_domain: "pbx/example" is not a domain name'),
    ("send_message", 1, "park.send_message: expected true or false, got integer 1"),
])
def test_park_settings(key, value, expected):
    data = example()
    data["park"][key] = value
    assert expected in problems(data)


def test_per_range_override_is_checked_and_only_for_park_ranges():
    data = example()
    data["orbits"][0]["timeout"] = 5
    data["orbits"][1]["max_attempts"] = 2
    lines = problems(data)
    assert "orbits[0].timeout: 5 is outside 10-600 seconds" in lines
    assert 'orbits[1].max_attempts: only a range of kind "park" has this' in lines


def test_unknown_keys_and_wrong_kind_are_errors():
    data = example()
    data["park"]["timout"] = 30
    data["orbits"][0]["kind"] = "valet"
    data["colour"] = "blue"
    lines = problems(data)
    assert any(line.startswith("park.timout: unknown key") for line in lines)
    assert any(line.startswith("colour: unknown key") for line in lines)
    assert "orbits[0].kind: string 'valet' is not one of \"park\" or \"pickup\"" in lines


def test_pickup_group_must_use_a_pickup_range_and_known_members():
    data = example()
    data["pickup_groups"][0]["number"] = "7005"
    data["pickup_groups"][0]["members"] = ["1001", "4242"]
    lines = problems(data)
    assert 'pickup_groups[0].number: "7005" is in no orbit range of kind "pickup"' in lines
    assert 'pickup_groups[0].members[1]: "4242" is not a users[].extension' in lines


def test_every_problem_is_reported_not_just_the_first():
    data = with_orbits(dict(start="*7000", end="7100"), dict(start="0", end="1"))
    data["park"]["timeout"] = 1
    assert len(problems(data)) >= 3


def test_secrets_come_from_the_environment_and_never_show():
    config = parse(example(), env={"FSCONTROL_ESL_PASSWORD": "from-env", "DATABASE_URL": "postgresql://u:pw@h/d"})
    assert config.switch.esl_password.reveal() == "from-env"
    assert config.database.url.reveal() == "postgresql://u:pw@h/d"
    shown = repr(config) + str(config)
    assert "from-env" not in shown and "pw@" not in shown
    assert Secret("x") == Secret("x") and not Secret("")


def test_a_secret_of_the_wrong_type_is_not_echoed():
    data = example()
    data["switch"]["esl_password"] = 918273645
    lines = problems(data)
    assert "switch.esl_password: expected a string, got int" in lines
    assert not any("918273645" in line for line in lines)


def test_line_breaks_in_strings_are_refused():
    data = example()
    data["users"][0]["name"] = "Alice\napi originate"
    assert "users[0].name: contains a line break or NUL" in problems(data)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file .*missing.toml not found"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[park\ntimeout = 3")
    with pytest.raises(ConfigError, match=r"bad.toml is not valid TOML"):
        load(bad)
    unreadable = tmp_path / "dir.toml"
    unreadable.mkdir()
    with pytest.raises(ConfigError, match=r"cannot read config file"):
        load(unreadable)


def test_music_classes_are_checked():
    data = example()
    data["music_classes"] = [dict(name="moh", directory="/srv/moh", rate=8000),
                             dict(name="moh", directory="/srv/moh2", rate=11025),
                             dict(name="bad name", directory="")]
    lines = problems(data)
    assert 'music_classes[1].name: "moh" is also music_classes[0]' in lines
    assert any(line.startswith("music_classes[1].rate: 11025 is not one of 8000") for line in lines)
    assert any(line.startswith('music_classes[2].name: "bad name" must be letters') for line in lines)
    assert "music_classes[2].directory: must not be empty" in lines


def test_relative_directories_are_relative_to_the_config_file(tmp_path, monkeypatch):
    site = tmp_path / "etc"
    site.mkdir()
    text = EXAMPLE.read_text().replace('conf_dir = "/etc/freeswitch"', 'conf_dir = "fs"')
    (site / "site.toml").write_text(text)
    monkeypatch.chdir(tmp_path)          # run from elsewhere: must not matter
    config = load(Path("etc/site.toml"), env={})
    assert Path(config.database.embedded_dir) == site / ".fscontrol" / "pgdata"
    assert Path(config.switch.conf_dir) == site / "fs"
    assert load(EXAMPLE, env={}).switch.conf_dir == "/etc/freeswitch"   # absolute: unchanged


def test_empty_directories_and_malformed_database_url_are_refused():
    data = example()
    data["switch"]["conf_dir"] = ""
    data["database"] = {"url": "postgresql://bob:Hunter2%zz@db/x", "embedded_dir": ""}
    lines = problems(data)
    assert any(line.startswith("switch.conf_dir: must not be empty") for line in lines)
    assert any(line.startswith("database.embedded_dir: must not be empty") for line in lines)
    assert any(line.startswith("database.url: is not a valid PostgreSQL URL") for line in lines)
    assert not any("Hunter2" in line for line in lines)


def test_unencoded_at_in_the_database_password_is_refused_without_quoting_it():
    for env, data in (({"DATABASE_URL": "postgresql://u:S3cr3tPW@x@127.0.0.1:5999/db"}, example()),
                      ({}, {**example(), "database": {"url": "postgresql://u:S3cr3tPW@x@db:5432/x"}})):
        lines = problems(data, env)
        assert any(line.startswith("database.url: is not a valid PostgreSQL URL") for line in lines)
        assert not any("S3cr3tPW" in line or "x@" in line for line in lines), lines


@pytest.mark.parametrize("fallback, expected", [
    ("", None),
    ("1000", None),
    ("voicemail:1001", None),
    ("user/1005@{domain}", None),
    ("sofia/gateway/pstn/+15551234567", None),
    ("voicemail:bob", 'the mailbox after "voicemail:" must be 2 to 9 digits'),
    ("nonsense stuff", 'is not "voicemail:<box>", a number'),
    ("user/1002@$${domain}", 'write {domain} for the switch\'s domain'),
    ("user/1002@a,user/1003@a", "cannot be sent as a fallback dial string: inline application argument: contains ','"),
    ("*70", "is park.code: the call would never leave Call Park"),
    ("7042", "is an orbit of orbits[0]: the call would be bridged"),
    ("user/10 02@a", "a dial string has no spaces"),
    ("user/{ext}@{domain}", 'cannot be dialled: {ext} has no value here'),
])
def test_park_fallback_forms(fallback, expected):
    for where in ("park", "orbits"):
        data = example()
        if where == "park":
            data["park"]["fallback"] = fallback
        else:
            data["orbits"][0]["fallback"] = fallback
        if expected is None:
            parse(data, {})
            continue
        key = "park.fallback" if where == "park" else "orbits[0].fallback"
        assert any(line.startswith(f"{key}: ") and expected in line for line in problems(data)), problems(data)


def test_switch_name_is_the_switch_identity_defaulting_to_the_esl_address():
    data = example()
    assert parse(data, env={}).switch.identity == "127.0.0.1:8021"
    data["switch"]["name"] = "pbx-a.example:1"
    assert parse(data, env={}).switch.identity == "pbx-a.example:1"
    for bad in ("pbx a", "-pbx", "pbx/a", "x" * 65):
        data["switch"]["name"] = bad
        assert any(line.startswith(f'switch.name: "{bad}" must be 1 to 64 letters')
                   for line in problems(data)), bad


def test_ha_step_down_after_is_checked():
    data = example()
    assert parse(data, env={}).ha.step_down_after == 3
    for bad in (0, 61):
        data["ha"]["step_down_after"] = bad
        assert f"ha.step_down_after: {bad} is outside 1-60 seconds" in problems(data)
    data["ha"]["step_down_after"] = 2.5
    assert "ha.step_down_after: expected an integer, got number 2.5" in problems(data)


# --- the dial string the ring-back sends (issue 11, item 7) ------------------------------------

@pytest.mark.parametrize("dial, expected", [
    ("user/{ext}@${domain_name}", "no calling channel to expand it from"),
    ("user/{ext}@{domain},user/1005@{domain}", 'has a ",", which rings several phones at once'),
    ("user/{ext}@{domain}|voicemail/1005", 'has a "|", which tries phones in turn'),
    ("user/{ext}@{host}", "cannot be dialled: contains '{'"),
    ("{sip_h_X-Foo=1}{leg_timeout=2}user/{ext}@{domain}", "cannot be dialled: contains '{'"),
])
def test_user_dial_string_the_ringback_cannot_expand_is_refused(dial, expected):
    data = example()
    data["switch"]["user_dial_string"] = dial
    lines = problems(data)
    assert f'switch.user_dial_string: "{dial}"' in "\n".join(lines), lines
    assert any(expected in line for line in lines), lines


@pytest.mark.parametrize("dial", [
    "{sip_h_X-Foo=1}user/{ext}@{domain}",
    "{sip_h_X-Who='A & B',leg_timeout=20}[presence_id={ext}@{domain}]user/{ext}@{domain}",
    "sofia/$${internal_profile}/{ext}%{domain}",
    "loopback/{ext}/phones",
])
def test_user_dial_strings_the_ringback_can_send_are_accepted(dial):
    data = example()
    data["switch"]["user_dial_string"] = dial
    assert parse(data, {}).switch.user_dial_string == dial


# --- the prefix of an operator's dial string (issue 11, item 6) ---------------------------------

@pytest.mark.parametrize("dial", [
    "{execute_on_answer=system touch /tmp/x}user/{ext}@{domain}",
    "{api_on_answer=system:touch_/tmp/x}user/{ext}@{domain}",
    "[api_hangup_hook=system:x]user/{ext}@{domain}",
    "{sip_h_X-Foo=1,exec_after_bridge_app=system}user/{ext}@{domain}",
    "{leg_timeout=20}[execute_on_media=x]user/{ext}@{domain}",
    "{origination_uuid=fixed}user/{ext}@{domain}",
    "{^^:execute_on_answer=x}user/{ext}@{domain}",
])
def test_user_dial_string_prefix_may_set_only_call_setup_variables(dial):
    data = example()
    data["switch"]["user_dial_string"] = dial
    lines = problems(data)
    assert any(line.startswith("switch.user_dial_string: ") and "may not be set in a dial string" in line
               for line in lines), lines


@pytest.mark.parametrize("fallback", [
    "{api_on_answer=system:touch_/tmp/x}user/1005@{domain}",
    "[execute_on_answer=system:x]sofia/gateway/pstn/+15551234567",
])
def test_fallback_dial_string_prefix_may_set_only_call_setup_variables(fallback):
    for key in ("park.fallback", "orbits[0].fallback"):
        data = example()
        if key == "park.fallback":
            data["park"]["fallback"] = fallback
        else:
            data["orbits"][0]["fallback"] = fallback
        lines = problems(data)
        assert any(line.startswith(f"{key}: ") and "may not be set in a dial string" in line
                   for line in lines), lines


# --- values that reach an ESL command (issue 11, item 5) -----------------------------------------

def _set(data, path, value):
    table, key = path
    if isinstance(table, tuple):
        data[table[0]][table[1]][key] = value
    else:
        data[table][key] = value


@pytest.mark.parametrize("path, name, value", [
    (("park", "prompt_no_orbit"), "park.prompt_no_orbit", "${system(touch /tmp/pwned)}"),
    (("park", "prompt_empty_orbit"), "park.prompt_empty_orbit", "/sounds/${api(show calls)}.wav"),
    (("park", "prompt_error"), "park.prompt_error", "$${sounds_dir}/${system(id)}"),
    (("park", "prompt_disconnect"), "park.prompt_disconnect", "${hostname}.wav"),
    (("park", "music"), "park.music", "${system(touch /tmp/pwned)}"),
    ((("orbits", 0), "music"), "orbits[0].music", "local_stream://${api(x)}"),
    ((("users", 1), "name"), "users[1].name", "Bob ${system(id)}"),
])
def test_values_sent_in_esl_commands_refuse_expansions_at_load(path, name, value):
    """FreeSWITCH expands ${...} in sendmsg's execute-app-arg and uuid_broadcast's path:
    ${system(...)} would run a command. Refused when the config is loaded, naming the key."""
    data = example()
    _set(data, path, value)
    lines = problems(data)
    assert any(line.startswith(f"{name}: ") and 'contains "${"' in line for line in lines), lines


def test_hold_music_the_broadcast_cannot_carry_is_refused():
    data = example()
    data["park"]["music"] = "/music/my song.wav"
    lines = problems(data)
    assert any(line.startswith("park.music: ") and "uuid_broadcast" in line for line in lines), lines


def test_pickup_groups_keep_a_user_in_one_group_and_check_their_policy():
    data = example()
    data["pickup_groups"].append({"number": "*8002", "members": ["1002"], "allowed": ["1003"]})
    lines = problems(data)
    assert 'pickup_groups[1].members[0]: "1002" is also in pickup_groups[0] ("*8001"): a user is ' \
           'in at most one group' in lines
    assert 'pickup_groups[1].allowed: is used only with pickers = "list"' in lines
    data["pickup_groups"][1] = {"number": "*8002", "pickers": "list", "allowed": ["4711"]}
    assert 'pickup_groups[1].allowed[0]: "4711" is not a users[].extension' in problems(data)


def test_pickup_message_names_only_the_caller_and_the_picker():
    data = example()
    data["pickup"] = {"message": "{caller} taken by {who}"}
    assert any(line.startswith("pickup.message:") and "{who}" in line for line in problems(data))
    data["pickup"] = {"message": "{caller}|{picker}"}
    assert any(line.startswith("pickup.message:") and '"|"' in line for line in problems(data))
    data["pickup"] = {"prompt_refused": "${system(id)}"}
    assert any(line.startswith("pickup.prompt_refused:") for line in problems(data))


def test_pickup_message_placeholders_are_plain_and_a_list_group_names_its_pickers():
    data = example()
    data["pickup"] = {"message": "{caller:d} by {picker}"}
    assert any(line.startswith("pickup.message:") and "format spec" in line for line in problems(data))
    data["pickup"] = {"presence_proto": "pick up"}
    assert any(line.startswith("pickup.presence_proto:") for line in problems(data))
    data = example()
    data["pickup_groups"][0]["pickers"] = "list"
    assert 'pickup_groups[0].allowed: pickers = "list" needs the extensions allowed to pick up' \
        in problems(data)
