"""tests/live/conf is a complete FreeSWITCH 1.10 configuration: preprocessed as the switch does it,
well-formed, loading exactly the stock modules the harness needs, with the committed rendered
dialplan up to date and every sound it plays in the repository."""

import importlib.util
import re
import wave
from pathlib import Path

import pytest

import fsxml
from fscontrol.config import load
from fscontrol.render import contract, render_files
from livephones import LivePhone

LIVE = Path(__file__).resolve().parent
CONF = LIVE / "conf"
TOML = LIVE / "fscontrol.toml"
MODULES = ["mod_console", "mod_logfile", "mod_event_socket", "mod_commands", "mod_dptools",
           "mod_dialplan_xml", "mod_loopback", "mod_local_stream", "mod_tone_stream", "mod_sndfile",
           "mod_native_file", "mod_hash", "mod_db", "mod_valet_parking", "mod_voicemail",
           "mod_conference", "mod_say_en"]
CORE_VARS = {"db_dir": "/var/lib/freeswitch/db", "sounds_dir": "/usr/share/freeswitch/sounds"}


@pytest.fixture(scope="module")
def root():
    return fsxml.parse(CONF, CORE_VARS, env={})


@pytest.fixture(scope="module")
def config():
    return load(TOML, env={})


def test_committed_rendered_dialplan_is_up_to_date(config):
    rendered = render_files(config)
    for name, text in rendered.items():
        committed = CONF / contract.DEPLOY_SUBDIR / name
        assert committed.read_text(encoding="utf-8") == text, (
            f"{committed} is stale: fscontrol render --config tests/live/fscontrol.toml "
            f"--out tests/live/conf/{contract.DEPLOY_SUBDIR}")
    present = {p.name for p in (CONF / contract.DEPLOY_SUBDIR).iterdir()}
    assert present == set(rendered)


def test_loads_exactly_the_stock_modules(root):
    loads = [m.get("module") for m in fsxml.configuration(root, "modules.conf").iter("load")]
    assert sorted(loads) == sorted(MODULES)


def test_event_socket_on_loopback_with_password_from_environment():
    def settings(env):
        cfg = fsxml.configuration(fsxml.parse(CONF, CORE_VARS, env=env), "event_socket.conf")
        return {p.get("name"): p.get("value") for p in cfg.iter("param")}
    assert settings({})["password"] == "ClueCon"
    assert settings({"FSCONTROL_LIVE_PASSWORD": ""})["password"] == "ClueCon"
    s = settings({"FSCONTROL_LIVE_PASSWORD": "s3cret"})
    assert (s["listen-ip"], s["listen-port"], s["password"]) == ("127.0.0.1", "8021", "s3cret")


def test_preprocessor_exec_set_keeps_what_freeswitch_keeps(tmp_path):
    """As switch_xml.c: the command's output, less trailing line breaks, when it printed
    anything; so `printenv` of a set-but-empty variable yields "" (why vars.xml uses echo)."""
    (tmp_path / "freeswitch.xml").write_text(
        '<X-PRE-PROCESS cmd="set" data="a=kept"/>\n'
        '<X-PRE-PROCESS cmd="exec-set" data="a=printenv X"/>\n'
        '<X-PRE-PROCESS cmd="set" data="b=kept"/>\n'
        '<X-PRE-PROCESS cmd="exec-set" data="b=printenv UNSET_VAR"/>\n')
    _, values = fsxml.preprocess(tmp_path, env={"X": ""})
    assert values["a"] == "" and values["b"] == "kept"
    _, values = fsxml.preprocess(tmp_path, env={"X": "v"})
    assert values["a"] == "v"


def test_module_configurations_present(root):
    names = {c.get("name") for c in fsxml.section(root, "configuration")}
    for needed in ("switch.conf", "modules.conf", "console.conf", "logfile.conf", "event_socket.conf",
                   "local_stream.conf", "voicemail.conf", "conference.conf", "db.conf", "hash.conf"):
        assert needed in names
    vm = fsxml.configuration(root, "voicemail.conf").find("profiles/profile[@name='default']")
    assert vm is not None
    assert fsxml.configuration(root, "conference.conf").find("profiles/profile[@name='default']") is not None


def test_contexts_and_directory_match_the_config(root, config):
    contexts = {c.get("name") for c in fsxml.section(root, "dialplan").iter("context")}
    assert contexts == {config.switch.context, "phones"}
    assert config.switch.user_dial_string == "loopback/{ext}/phones"
    domain = fsxml.section(root, "directory").find("domain")
    assert domain.get("name") == "fscontrol.test"
    users = {u.get("id") for u in domain.iter("user")}
    assert users == {u.extension for u in config.users}


def test_the_phones_context_has_every_mode_the_phone_driver_sets(root):
    """Each behaviour tests/livephones.py gives a phone (the global variable it sets) is a
    condition of the phones context, running the applications that behaviour needs; `early`
    pre-answers (183, early media) and plays a tone without ever answering."""
    set_modes = []

    class Switch:
        def _set_mode(self, user, mode):
            set_modes.append(mode)

    phone = LivePhone(Switch(), "1002")
    phone.registered = True
    for behave in (phone.auto_answer, phone.ring_forever, phone.early_media,
                   lambda: phone.answer_after(0.25), phone.unregister):
        behave()
    phones = next(c for c in fsxml.section(root, "dialplan").iter("context")
                  if c.get("name") == "phones")
    conditions = [(c.get("expression"), [a.get("application") for a in c.iter("action")])
                  for c in phones.iter("condition") if c.get("field") == "${fscontrol_phone_mode}"]

    def apps(mode):
        found = [a for expression, a in conditions if re.search(expression, mode)]
        assert len(found) == 1, (mode, found)
        return found[0]
    assert set_modes == ["answer", "ring", "early", "answer_after_250", ""]
    assert apps("answer") == ["answer", "park"]
    assert apps("ring") == ["ring_ready", "sleep"]
    assert apps("early") == ["pre_answer", "endless_playback"]
    assert apps("answer_after_250") == ["ring_ready", "sleep", "answer", "park"]
    assert apps("") == ["hangup"]
    assert apps("busy") == ["hangup"]


def test_hold_music_is_in_the_repository(root):
    dirs = list(fsxml.configuration(root, "local_stream.conf").iter("directory"))
    assert dirs, "no local_stream class"
    for d in dirs:
        path = Path(d.get("path"))
        rate = int(d.find("param[@name='rate']").get("value"))
        files = sorted(path.glob("*.wav"))
        assert files, f"{path}: no WAV for local_stream class {d.get('name')}"
        for f in files:
            _check_wav(f, rate)


def test_every_phrase_plays_a_file_in_the_repository(root):
    # FreeSWITCH 1.10 finds a language in the "languages" section and its macros under
    # <language><phrases><macros> (switch_xml_locate_language)
    lang = fsxml.section(root, "languages").find("language")
    assert lang is not None and lang.find("phrases/macros/macro") is not None
    prefix = Path(lang.get("sound-prefix"))
    names = set()
    for macro in lang.iter("macro"):
        names.add(macro.get("name"))
        for action in macro.iter("action"):
            assert action.get("function") == "play-file"
            _check_wav(prefix / action.get("data"), 8000)
    assert {"voicemail_play_greeting", "voicemail_record_message", "voicemail_enter_id",
            "voicemail_enter_pass", "voicemail_ack", "voicemail_goodbye"} <= names


def test_dialplan_media_needs_no_sound_pack(root):
    """Whatever the dialplan plays is a stream or a file in the repository."""
    for action in fsxml.section(root, "dialplan").iter("action"):
        if action.get("application") in ("playback", "endless_playback", "broadcast"):
            data = action.get("data") or ""
            if data.split("://")[0] in ("local_stream", "tone_stream", "silence_stream"):
                continue
            assert Path(data).is_file() or (CONF / "sounds" / data).is_file(), data


def test_generated_media_match_their_generator(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_media", LIVE / "make_media.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "SOUNDS", tmp_path)
    mod.main()
    for name in mod.FILES:
        assert (tmp_path / name).read_bytes() == (CONF / "sounds" / name).read_bytes(), name


def _check_wav(path: Path, rate: int):
    assert path.is_file(), f"{path} missing"
    assert path.stat().st_size < 64 * 1024, f"{path} is not small"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2), path


def test_everything_call_park_plays_is_on_the_switch(root, config):
    """What the controller plays on this switch needs no sound pack: hold music is a rendered
    local_stream class, every prompt (Call Park's and Group Call Pickup's) a tone or a file in
    the repository, and the orbit spoken to the parker (`say <say_language> number iterated
    <orbit>`) has its say module and a digit file for every digit under the language's
    sound-prefix."""
    classes = {d.get("name") for d in fsxml.configuration(root, "local_stream.conf").iter("directory")}
    for music in [config.park.music] + [r.music for r in config.ranges("park") if r.music]:
        scheme, _, name = music.partition("://")
        assert scheme == "local_stream" and name in classes, music
    for key in ("prompt_no_orbit", "prompt_empty_orbit", "prompt_error", "prompt_disconnect"):
        prompt = getattr(config.park, key)
        assert prompt.startswith("tone_stream://") or Path(prompt).is_file(), (key, prompt)
    for key in ("prompt_nothing_ringing", "prompt_refused"):     # Group Call Pickup's
        prompt = getattr(config.pickup, key)
        assert prompt.startswith("tone_stream://") or Path(prompt).is_file(), (key, prompt)
    lang = next(x for x in fsxml.section(root, "languages").iter("language")
                if x.get("name") == config.park.say_language)
    assert "mod_say_" + lang.get("say-module") in MODULES
    for digit in range(10):
        _check_wav(Path(lang.get("sound-prefix")) / "digits" / f"{digit}.wav", 8000)
