"""The simulator as operators use it: `--dialplan` on the rendered fscontrol dialplan (extensions
outside any <context>), `local_stream` for `fscontrol deploy`, the banner and one-line errors."""
import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.config.model import MusicClass
from fscontrol.render import contract, deploy, render_to
from fscontrol.render.reload import EslReloader
from fscontrol.sim import SimSwitch
from fscontrol.errors import FscontrolError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config():
    return load(ROOT / "fscontrol.example.toml", env={})


@pytest.fixture
def rendered(tmp_path, config):
    """A directory as `fscontrol render` leaves it: dialplan.xml (no <context>) + local_stream.xml."""
    out = tmp_path / "dialplan"
    render_to(config, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(contract.FILES)
    return out


def _run_sim(*args, timeout=20):
    return subprocess.run([sys.executable, "-m", "fscontrol", "simulate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


# -- 1. --dialplan on the rendered directory ---------------------------------------------------

def test_rendered_directory_routes_into_the_switch_context(rendered, config):
    sw = SimSwitch(port=0, context=config.switch.context, dialplan=str(rendered), heartbeat=0).start()
    try:
        names = [e.name for e in sw.dialplan.contexts[config.switch.context]]
        assert names and all(n.startswith(contract.EXT_PREFIX) for n in names)
        ch = sw.register("1001").dial("*70")
        assert sw.wait_until(lambda: ch.parked or not ch.alive, timeout=5.0)
        assert ch.parked and ch.vars[contract.VAR_ACTION] == contract.ACTION_PARK
        sw.api.execute("reloadxml", "")                     # reloadxml re-reads it the same way
        assert [e.name for e in sw.dialplan.contexts[config.switch.context]] == names
    finally:
        sw.stop()


def test_loose_extensions_go_to_the_given_context_and_contexts_stay_theirs():
    sw = SimSwitch(context="lab", dialplan="""<include>
      <context name="other"><extension name="a"><condition/></extension></context>
      <extension name="b"><condition/></extension></include>""")
    assert {k: [e.name for e in v] for k, v in sw.dialplan.contexts.items()} == {"other": ["a"], "lab": ["b"]}


def test_source_without_extensions_is_an_error_naming_it(tmp_path, rendered):
    (rendered / contract.DIALPLAN_FILE).unlink()            # only local_stream.xml is left
    with pytest.raises(FscontrolError, match=str(rendered) + ".*no <extension>"):
        SimSwitch(dialplan=str(rendered))
    with pytest.raises(FscontrolError, match="inline XML.*no <extension>"):
        SimSwitch(dialplan="<include><context name='default'/></include>")
    bad = tmp_path / "bad.xml"
    bad.write_text("<include><extension>")
    with pytest.raises(FscontrolError, match=str(bad) + ": malformed XML"):
        SimSwitch(dialplan=str(bad))


def test_failed_load_leaves_the_dialplan_as_it_was(rendered):
    sw = SimSwitch(dialplan=str(rendered))
    before = dict(sw.dialplan.contexts)
    with pytest.raises(FscontrolError):
        sw.load_dialplan(str(rendered / "missing.xml"))
    assert sw.dialplan.contexts == before


def test_simulate_with_a_missing_or_empty_dialplan_is_a_one_line_error(tmp_path):
    r = _run_sim("--port", "0", "--dialplan", "/nonexistent")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "fscontrol: dialplan /nonexistent: no such file or directory\n"
    (tmp_path / "local_stream.xml").write_text("<include><directory name='x' path='/x'/></include>")
    r = _run_sim("--port", "0", "--dialplan", str(tmp_path))
    assert r.returncode == 2 and r.stderr.startswith(f"fscontrol: dialplan {tmp_path}: no <extension> found")
    assert len(r.stderr.splitlines()) == 1


# -- 2. local_stream, as `fscontrol deploy` sends it ------------------------------------------

def test_local_stream_replies_as_mod_local_stream():
    sw = SimSwitch()
    api = sw.api.execute
    assert api("local_stream", "") == "-USAGE: <show|start|reload|stop|hup> <local_stream_name>\n"
    assert api("local_stream", "reload moh") == "-ERR Cannot locate local_stream moh!\n"
    assert api("local_stream", "stop moh") == "-ERR Cannot locate local_stream moh!\n"
    assert api("local_stream", "hup moh") == ""
    assert api("local_stream", "start moh") == "+OK stream: moh"
    assert api("local_stream", "start moh") == "+OK stream: moh"
    assert api("local_stream", "hup moh") == "+OK hup stream: moh"
    assert api("local_stream", "reload moh") == "+OK"
    assert api("local_stream", "stop moh") == "+OK"
    assert api("local_stream", "reload moh") == "-ERR Cannot locate local_stream moh!\n"
    sw.local_stream_conf = {"moh"}                          # not in local_stream.conf: no reply
    assert api("local_stream", "start other") == ""
    assert api("local_stream", "start moh") == "+OK stream: moh"


def test_deploy_with_music_classes_against_the_simulator(tmp_path, config):
    assert config.music_classes
    sw = SimSwitch(password="s3cret", port=0, heartbeat=0).start()
    try:
        esl = EslReloader("127.0.0.1", sw.port, "s3cret", timeout=2.0)
        result = deploy(config, dest=tmp_path, reloader=esl)
        started = tuple(f"local_stream start {m.name}" for m in config.music_classes)
        assert result.commands == ("reloadxml",) + started and not result.reload_pending
        assert sw.local_streams == {m.name for m in config.music_classes}
        first = config.music_classes[0]
        changed = dataclasses.replace(config, music_classes=(
            MusicClass(first.name, "/srv/moh", 16000),))
        result = deploy(changed, dest=tmp_path, reloader=esl)
        assert result.commands == ("reloadxml", f"local_stream reload {first.name}")
    finally:
        sw.stop()


# -- 3. banner and startup errors --------------------------------------------------------------

def _banner(*args):
    p = subprocess.Popen([sys.executable, "-m", "fscontrol", "simulate", "--port", "0", *args],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        return p.stdout.readline()
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_banner_shows_only_the_default_password():
    assert _banner().endswith("(password ClueCon, the default)\n")
    line = _banner("--password", "t0p-s3cret")
    assert line.startswith("simulated FreeSWITCH listening on 127.0.0.1:")
    assert line.endswith("(password set by --password)\n") and "t0p-s3cret" not in line


def test_busy_port_is_a_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _run_sim("--port", str(port))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"fscontrol: cannot listen on 127.0.0.1:{port}: Address already in use\n"


@pytest.mark.parametrize("port", ["99999", "-1", "80a"])
def test_a_port_out_of_range_is_a_one_line_usage_error(port):
    r = _run_sim("--port", port)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("fscontrol simulate: error: argument --port: ") and "TCP port" in r.stderr
    assert len(r.stderr.splitlines()) == 1 and "unexpected" not in r.stderr
