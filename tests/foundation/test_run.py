"""`fscontrol run` as an operator starts it: against nothing, a wrong password, a working switch."""

import os
import signal
import sys
from pathlib import Path

import gevent
import gevent.event
import gevent.subprocess as subprocess

from waiting import until
from fscontrol.sim import SimSwitch

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path, port):
    text = (ROOT / "fscontrol.example.toml").read_text().replace("esl_port = 8021", f"esl_port = {port}")
    path = tmp_path / "fscontrol.toml"
    path.write_text(text.replace('conf_dir = "/etc/freeswitch"', f'conf_dir = "{tmp_path}"'))
    return path


def start_run(config, database, password):
    env = {k: v for k, v in os.environ.items() if k != "FSCONTROL_ESL_PASSWORD"}
    env.update(DATABASE_URL=database.url, PGOPTIONS=f"-c search_path={database.schema}",
               FSCONTROL_ESL_PASSWORD=password, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "fscontrol", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)


class Output:
    """Collects a process's output lines in the background so tests can wait on them."""

    def __init__(self, proc):
        self.lines = []
        self.reader = gevent.spawn(self._read, proc)

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def matching(self, text):
        return [line for line in self.lines if text in line]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_nothing_listening_is_one_line_per_attempt_with_address_and_reason(tmp_path, database):
    port = free_port()
    proc = start_run(write_config(tmp_path, port), database, "ClueCon")
    out = Output(proc)
    try:
        attempts = until(lambda: len(out.matching("connect attempt")) >= 2 and out.matching("connect attempt"),
                         timeout=30)
        assert f"ESL 127.0.0.1:{port}: connect attempt 1 failed: " in attempts[0]
        assert "failed: Connection refused; retrying in " in attempts[0]   # the address once
        assert proc.poll() is None, "run must keep retrying"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_wrong_password_is_one_clear_line_and_exit_2(tmp_path, database):
    switch = SimSwitch(password="right-one").start()
    try:
        proc = start_run(write_config(tmp_path, switch.port), database, "wrong-one")
        out = Output(proc)
        assert proc.wait(timeout=20) == 2
        out.reader.join(timeout=5)
    finally:
        switch.stop()
    assert out.lines[-1] == f"fscontrol: ESL at 127.0.0.1:{switch.port} rejected the password"
    text = "\n".join(out.lines)
    assert "Traceback" not in text and "wrong-one" not in text and "right-one" not in text


def test_connects_and_stops_cleanly_on_sigterm(tmp_path, database):
    switch = SimSwitch(password="ClueCon").start()
    try:
        proc = start_run(write_config(tmp_path, switch.port), database, "ClueCon")
        out = Output(proc)
        until(lambda: out.matching("connected ("), timeout=20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        out.reader.join(timeout=5)
    finally:
        switch.stop()
    assert out.matching("fscontrol stopped")
    with database.connection() as conn:  # migrations ran at start, in our schema
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1


def test_a_wrong_password_ends_even_a_standby_at_start(tmp_path, database):
    """The standby never connects to the switch; its password is checked once at start all the
    same, so a wrong one shows now, not at a failover."""
    from fscontrol.ha import ActiveLock
    switch = SimSwitch(password="right-one").start()
    config = write_config(tmp_path, switch.port)
    holder = ActiveLock(database, f"127.0.0.1:{switch.port}", "the-active-one", 3)
    try:
        assert holder.acquire(gevent.event.Event())   # another controller is active
        proc = start_run(config, database, "wrong-one")
        out = Output(proc)
        assert proc.wait(timeout=20) == 2
        out.reader.join(timeout=5)
    finally:
        holder.release()
        switch.stop()
    assert out.lines[-1] == f"fscontrol: ESL at 127.0.0.1:{switch.port} rejected the password"
