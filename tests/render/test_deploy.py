"""Deploy into a temporary conf dir: atomic replace, previous version, rollback, reloadxml over
ESL to the simulated switch, pending reload when the switch is down, dry run, refusals."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fscontrol.config import load
from fscontrol.config.model import MusicClass
from fscontrol.errors import DeployError, RenderError
from fscontrol.render import contract, deploy, reload_if_pending, render_files
from fscontrol.render.reload import EslReloader
from fscontrol.sim import SimSwitch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config():
    return load(ROOT / "fscontrol.example.toml", env={})


@pytest.fixture
def conf(tmp_path):
    d = tmp_path / "freeswitch"
    d.mkdir()
    return d


@pytest.fixture
def switch():
    sw = SimSwitch(password="s3cret", port=0).start()
    received = []
    real = sw.api.table["reloadxml"]
    sw.api.table["reloadxml"] = lambda arg: (received.append("reloadxml"), real(arg))[1]
    real_ls = sw.api.table["local_stream"]
    sw.api.table["local_stream"] = lambda arg: (received.append(f"local_stream {arg}"), real_ls(arg))[1]
    sw.received = received
    yield sw
    sw.stop()


def esl(sw):
    return EslReloader("127.0.0.1", sw.port, "s3cret", timeout=2.0)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_deploy_installs_files_and_reloads_the_simulated_switch(config, conf, switch):
    result = deploy(config, dest=conf, reloader=esl(switch))
    live = conf / "fscontrol"
    files = render_files(config)
    for name in contract.FILES:
        assert (live / name).read_text() == files[name]
    assert switch.received == ["reloadxml", "local_stream start fscontrol_park"]
    assert not result.reload_pending and result.changed == contract.FILES
    assert "sent reloadxml" in result.summary
    assert json.loads((live / ".previous" / "MANIFEST.json").read_text()) == \
        {n: False for n in contract.FILES}


def test_unchanged_deploy_does_not_reload(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    switch.received.clear()
    result = deploy(config, dest=conf, reloader=esl(switch))
    assert result.changed == () and switch.received == [] and "up to date" in result.summary


def test_changed_music_class_reloads_its_stream(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    switch.received.clear()
    changed = dataclasses.replace(config, music_classes=(MusicClass("fscontrol_park", "/srv/moh", 16000),))
    deploy(changed, dest=conf, reloader=esl(switch))
    assert switch.received == ["reloadxml", "local_stream reload fscontrol_park"]


def _with_extra_orbits(config):
    from fscontrol.config.model import OrbitRange
    return dataclasses.replace(config, orbits=config.orbits + (OrbitRange("more", "park", "7100", "7199"),))


def test_rollback_restores_byte_for_byte_and_reloads(config, conf, switch):
    live = conf / "fscontrol"
    deploy(config, dest=conf, reloader=esl(switch))
    first = {n: (live / n).read_bytes() for n in contract.FILES}
    deploy(_with_extra_orbits(config), dest=conf, reloader=esl(switch))
    second = {n: (live / n).read_bytes() for n in contract.FILES}
    assert second != first
    switch.received.clear()
    result = deploy(config, dest=conf, rollback=True, reloader=esl(switch))
    assert {n: (live / n).read_bytes() for n in contract.FILES} == first
    assert switch.received == ["reloadxml"] and "rolled back" in result.summary
    deploy(config, dest=conf, rollback=True, reloader=esl(switch))  # rollback of the rollback
    assert {n: (live / n).read_bytes() for n in contract.FILES} == second


def test_rollback_of_the_first_deploy_removes_the_files(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    deploy(config, dest=conf, rollback=True, reloader=esl(switch))
    assert not any((conf / "fscontrol" / n).exists() for n in contract.FILES)


def test_rollback_without_previous_version_fails(config, conf, switch):
    with pytest.raises(DeployError, match="no previous version"):
        deploy(config, dest=conf, rollback=True, reloader=esl(switch))


def test_dry_run_prints_the_diff_and_changes_nothing(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    before = sorted((p.relative_to(conf), p.read_bytes()) for p in conf.rglob("*") if p.is_file())
    switch.received.clear()
    result = deploy(_with_extra_orbits(config), dest=conf, dry_run=True, reloader=esl(switch))
    assert "+  <extension name=\"fscontrol-orbits-7100-7199\">" in result.summary
    assert result.changed == (contract.DIALPLAN_FILE,)
    assert sorted((p.relative_to(conf), p.read_bytes()) for p in conf.rglob("*") if p.is_file()) == before
    assert switch.received == []


def test_unreachable_switch_leaves_reload_pending_until_next_deploy(config, conf, switch):
    down = EslReloader("127.0.0.1", closed_port(), "s3cret", timeout=1.0)
    result = deploy(config, dest=conf, reloader=down)
    assert result.reload_pending
    assert "reload pending" in result.summary and "not reachable" in result.summary
    assert (conf / "fscontrol" / contract.DIALPLAN_FILE).exists()  # files are deployed
    # the next deploy (nothing changed) sends what was pending
    result = deploy(config, dest=conf, reloader=esl(switch))
    assert not result.reload_pending
    assert switch.received == ["reloadxml", "local_stream start fscontrol_park"]
    assert not (conf / "fscontrol" / ".reload-pending").exists()


def test_reload_if_pending_at_run_start(config, conf, switch):
    deploy(config, dest=conf, reloader=EslReloader("127.0.0.1", closed_port(), "x", timeout=1.0))
    assert reload_if_pending(config, esl(switch), dest=conf) is True
    assert switch.received[0] == "reloadxml"
    assert reload_if_pending(config, esl(switch), dest=conf) is False


def test_wrong_password_is_a_pending_reload_not_a_hang(config, conf, switch):
    result = deploy(config, dest=conf, reloader=EslReloader("127.0.0.1", switch.port, "wrong", timeout=2.0))
    assert result.reload_pending and "authentication failed" in result.summary


def test_silent_switch_times_out(config, conf):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts, never says auth/request
    try:
        result = deploy(config, dest=conf, reloader=EslReloader("127.0.0.1", server.getsockname()[1], "x", timeout=0.5))
    finally:
        server.close()
    assert result.reload_pending and "timed out" in result.summary


def test_switch_refusing_reloadxml_restores_the_previous_files(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    live = conf / "fscontrol"
    before = {n: (live / n).read_bytes() for n in contract.FILES}
    with pytest.raises(DeployError, match="refused 'reloadxml'.*previous files were restored"):
        deploy(_with_extra_orbits(config), dest=conf, reloader=lambda cmd: "-ERR [parse error]\n")
    assert {n: (live / n).read_bytes() for n in contract.FILES} == before


def test_invalid_render_leaves_live_files_untouched(config, conf, switch):
    deploy(config, dest=conf, reloader=esl(switch))
    before = sorted((p.relative_to(conf), p.read_bytes()) for p in conf.rglob("*") if p.is_file())
    bad = dataclasses.replace(config, switch=dataclasses.replace(config.switch, context="two words"))
    with pytest.raises(RenderError):
        deploy(bad, dest=conf, reloader=esl(switch))
    assert sorted((p.relative_to(conf), p.read_bytes()) for p in conf.rglob("*") if p.is_file()) == before


def test_missing_dest_is_an_error(config, tmp_path):
    with pytest.raises(DeployError, match="no such directory"):
        deploy(config, dest=tmp_path / "nope", reloader=lambda c: "+OK")


def test_dry_run_into_a_missing_dest_fails_as_deploy_does(config, tmp_path):
    """A dry run that says "this is what deploy would do" for a directory deploy refuses would
    approve a deploy that cannot happen."""
    with pytest.raises(DeployError, match="no such directory"):
        deploy(config, dest=tmp_path / "nope", dry_run=True, reloader=lambda c: "+OK")
    result = subprocess.run([sys.executable, "-m", "fscontrol", "deploy", "--config",
                             str(ROOT / "fscontrol.example.toml"), "--dest", str(tmp_path / "nope"),
                             "--dry-run"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and "no such directory" in result.stderr
    assert not (tmp_path / "nope").exists()


def test_concurrent_deploy_is_refused(config, conf):
    import fcntl
    (conf / "fscontrol").mkdir()
    fd = os.open(conf / "fscontrol" / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(DeployError, match="another deploy is running"):
            deploy(config, dest=conf, reloader=lambda c: "+OK")
    finally:
        os.close(fd)


READER = textwrap.dedent("""
    import sys, pathlib
    path, stop, ready = map(pathlib.Path, sys.argv[1:4])
    allowed = {p.read_bytes() for p in map(pathlib.Path, sys.argv[4:])}
    reads = bad = 0
    ready.touch()
    while not stop.exists():
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            bad += 1
            continue
        reads += 1
        if data not in allowed:
            bad += 1
    print(reads, bad)
""")


def test_a_reader_never_sees_a_half_written_file(config, conf, tmp_path):
    a, b = config, _with_extra_orbits(config)
    versions = []
    for i, c in enumerate((a, b)):
        p = tmp_path / f"v{i}"
        p.write_text(render_files(c)[contract.DIALPLAN_FILE])
        versions.append(str(p))
    deploy(a, dest=conf, reloader=lambda c: "+OK")
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", READER, str(conf / "fscontrol" / contract.DIALPLAN_FILE),
                             str(stop), str(ready), *versions], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(2000):  # wait for the reader to start, without sleeping blindly
            if ready.exists() or proc.poll() is not None:
                break
            os.sched_yield()
        while not ready.exists():
            assert proc.poll() is None, "reader died"
            os.sched_yield()
        for i in range(60):
            deploy(b if i % 2 == 0 else a, dest=conf, reloader=lambda c: "+OK")
    finally:
        stop.touch()
    out, _ = proc.communicate(timeout=30)
    reads, bad = map(int, out.split())
    assert reads > 0 and bad == 0, (reads, bad)
