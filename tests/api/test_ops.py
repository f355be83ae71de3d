"""Operations: /metrics (admin token unless metrics_public) whose counters move, /healthz,
/readyz, `[api] listen` validation, and `fscontrol run` serving the API (active and standby)
with tokens made and revoked by `fscontrol token`."""

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
import requests

from fscontrol.api.server import ApiServer
from fscontrol.config import parse
from fscontrol.errors import ConfigError
from fscontrol.sim import SimSwitch
from park.conftest import ROOT, until


def sample(text, name, **labels):
    """The value of one sample of a Prometheus exposition, 0 when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_metrics_need_an_admin_token_and_the_api_latency_counts_move(api_site):
    assert api_site.anonymous.get("/metrics").status_code == 401
    r = api_site.alice.get("/metrics")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    before = api_site.admin.get("/metrics")
    assert before.status_code == 200 and before.headers["Content-Type"].startswith("text/plain")
    count = dict(name="fscontrol_api_request_seconds_count", method="GET",
                 route="/api/v1/parked", status="200")
    was = sample(before.text, **count)
    for _ in range(3):
        api_site.alice.get("/api/v1/parked")
    api_site.alice.post("/api/v1/parked/7001/retrieve", json={})        # nothing parked there
    after = api_site.admin.get("/metrics").text
    assert sample(after, **count) == was + 3
    assert sample(after, "fscontrol_api_request_seconds_count", method="POST",
                  route="/api/v1/parked/<string:orbit>/retrieve", status="404") >= 1
    api_site.alice.request("BREW", "/api/v1/no-such-route")          # a client's own words...
    after = api_site.admin.get("/metrics").text
    assert "BREW" not in after and "no-such-route" not in after       # ...never become labels
    assert sample(after, "fscontrol_api_request_seconds_count", method="other",
                  route="unmatched", status="405") + sample(
        after, "fscontrol_api_request_seconds_count", method="other", route="unmatched",
        status="404") >= 1
    for name in ("fscontrol_calls_placed_total", "fscontrol_parks_total", "fscontrol_esl_connected",
                 "fscontrol_event_lag_seconds_bucket"):
        assert name in after


def test_metrics_public_opens_them_to_a_scraper(api_site):
    config = dataclasses.replace(api_site.api.context.config, api=dataclasses.replace(
        api_site.api.context.config.api, metrics_public=True))
    api = ApiServer(config, api_site.database, listen="127.0.0.1:0").start()
    try:
        r = requests.get(api.url + "/metrics", timeout=5)
        assert r.status_code == 200 and "fscontrol_api_request_seconds" in r.text
        assert requests.get(api.url + "/api/v1/calls", timeout=5).status_code == 401
    finally:
        api.stop(timeout=1)


def test_healthz_and_readyz(api_site):
    assert api_site.anonymous.get("/healthz").json() == {"status": "ok"}
    r = api_site.anonymous.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "active": True, "esl": True, "database": True}
    api_site.switch.stop()                        # the switch goes away
    until(lambda: api_site.anonymous.get("/readyz").status_code == 503, 10,
          message="readyz stayed ready without the switch")
    assert api_site.anonymous.get("/readyz").json()["esl"] is False
    assert api_site.anonymous.get("/healthz").status_code == 200


@pytest.mark.parametrize("listen, public, message", [
    ("8080", False, '"8080" is not host:port'),
    ("127.0.0.1:0", False, "0 is not a TCP port"),
    ("127.0.0.1:70000", False, "70000 is not a TCP port"),
    ("0.0.0.0:8080", False, "is not a loopback address"),
    ("192.0.2.10:8080", False, "set api.public = true"),
    ("[::]:8080", False, "is not a loopback address"),
    ("bad_host!:80", False, "is not an IP address or host name"),
])
def test_api_listen_is_checked(listen, public, message):
    with pytest.raises(ConfigError) as err:
        parse({"api": {"listen": listen, "public": public}}, {})
    lines = err.value.lines()
    assert len(lines) == 1 and lines[0].startswith("api.listen: ") and message in lines[0], lines


@pytest.mark.parametrize("listen, public", [("127.0.0.1:8080", False), ("[::1]:8080", False),
                                            ("localhost:9000", False), ("0.0.0.0:8080", True)])
def test_api_listen_accepted(listen, public):
    assert parse({"api": {"listen": listen, "public": public}}, {}).api.listen == listen


def test_api_off_by_default():
    assert parse({}, {}).api.listen == ""


# -- fscontrol run and fscontrol token, as an operator uses them ---------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli_env(database):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FSCONTROL_ESL_PASSWORD")}
    env.update(DATABASE_URL=database.url, PGOPTIONS=f"-c search_path={database.schema}",
               FSCONTROL_ESL_PASSWORD="ClueCon", PYTHONUNBUFFERED="1")
    return env


def site_toml(tmp_path, esl_port, api_port, name):
    text = (ROOT / "fscontrol.example.toml").read_text().replace(
        "esl_port = 8021", f"esl_port = {esl_port}")
    text = text.replace('conf_dir = "/etc/freeswitch"', f'conf_dir = "{tmp_path}"')
    path = tmp_path / f"{name}.toml"
    assert "\n[api]\n" in text
    path.write_text(text.replace("\n[api]\n", f'\n[api]\nlisten = "127.0.0.1:{api_port}"\n'))
    return str(path)


def fscontrol(*args, env):
    return subprocess.run([sys.executable, "-m", "fscontrol", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def test_run_serves_the_api_active_and_standby_with_cli_tokens(tmp_path, migrated):
    switch = SimSwitch(password="ClueCon").start()
    env = cli_env(migrated)
    ports = free_port(), free_port()
    configs = [site_toml(tmp_path, switch.port, port, f"c{i}") for i, port in enumerate(ports)]
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "fscontrol", "run", "-c", configs[0]],
                                      env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        active = f"http://127.0.0.1:{ports[0]}"

        def ready(base):
            try:
                return requests.get(base + "/readyz", timeout=2)
            except requests.ConnectionError:
                return None
        r = until(lambda: (x := ready(active)) is not None and x.status_code == 200 and x, 30,
                  message="the active controller's API never became ready")
        assert r.json() == {"ready": True, "active": True, "esl": True, "database": True}
        procs.append(subprocess.Popen([sys.executable, "-m", "fscontrol", "run", "-c", configs[1]],
                                      env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        standby = f"http://127.0.0.1:{ports[1]}"
        until(lambda: ready(standby) is not None, 30, message="the standby's API never answered")
        assert requests.get(standby + "/healthz", timeout=5).status_code == 200
        r = requests.get(standby + "/readyz", timeout=5)
        assert r.status_code == 503 and r.json()["active"] is False

        made = fscontrol("token", "create", "--user", "1001", "--expires", "1d", "-c", configs[0],
                         env=env)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        assert re.fullmatch(r"fsc_[A-Za-z0-9_-]{43}", token)
        assert "expires" in made.stderr and token not in made.stderr
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(active + "/api/v1/parked", headers=auth, timeout=5).json() == {
            "parked": []}
        r = requests.get(standby + "/api/v1/parked", headers=auth, timeout=5)
        assert r.status_code == 503 and r.json()["error"] == "standby"

        listed = fscontrol("token", "list", "-c", configs[0], env=env)
        assert listed.returncode == 0 and token not in listed.stdout
        header, row = listed.stdout.splitlines()[:2]
        assert header.split()[:4] == ["ID", "USER", "ADMIN", "CREATED"]
        token_id = row.split()[0]
        assert row.split()[1:3] == ["1001", "no"] and "active" in row

        revoked = fscontrol("token", "revoke", token_id, "-c", configs[0], env=env)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        r = requests.get(active + "/api/v1/parked", headers=auth, timeout=5)
        assert r.status_code == 401 and "revoked" in r.json()["message"]
        assert "revoked" in fscontrol("token", "list", "-c", configs[0], env=env).stdout

        bad = fscontrol("token", "create", "--user", "1999", "-c", configs[0], env=env)
        assert bad.returncode == 2 and "1999 is not a users[].extension" in bad.stderr
        bad = fscontrol("token", "create", "-c", configs[0], env=env)
        assert bad.returncode == 2 and "--admin" in bad.stderr
        bad = fscontrol("token", "create", "--admin", "--expires", "soon", "-c", configs[0], env=env)
        assert bad.returncode == 2 and "is not a duration" in bad.stderr
        bad = fscontrol("token", "create", "--admin", "--expires", "999999w", "-c", configs[0],
                        env=env)   # past the year 9999: was an unexpected OverflowError, exit 1
        assert bad.returncode == 2 and "at most" in bad.stderr, bad.stderr
        bad = fscontrol("token", "revoke", "999999", "-c", configs[0], env=env)
        assert bad.returncode == 2 and "no token with id 999999" in bad.stderr
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(timeout=15) == 0
        switch.stop()


def test_a_request_does_not_wait_for_a_delayed_ack(api_site):
    """pywsgi writes headers and body apart: without TCP_NODELAY every response on a kept-alive
    connection waited ~40 ms for the client's delayed ACK (measured: p50 44 ms, 1 ms with it)."""
    import time
    times = []
    for _ in range(30):
        started = time.perf_counter()
        assert api_site.alice.get("/api/v1/parked").status_code == 200
        times.append(time.perf_counter() - started)
    assert sorted(times)[len(times) // 2] < 0.02, sorted(times)


def test_without_the_database_requests_are_503_not_500(api_site):
    from fscontrol.db import Database
    pool = api_site.api.context.tokens.pool
    good = pool.database
    pool.drop_idle()
    pool.database = Database("postgresql://127.0.0.1:9/nowhere", connect_timeout=1)
    try:
        r = api_site.alice.get("/api/v1/parked")
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable", r.text
        assert "nowhere" in r.json()["message"] and "Traceback" not in r.text
        r = api_site.anonymous.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] is False
        assert api_site.anonymous.get("/healthz").status_code == 200
    finally:
        pool.database = good
    assert api_site.alice.get("/api/v1/parked").status_code == 200


IDLE_CLIENT = r"""
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    s = socket.socket()
    s.settimeout(2)
    try:            # one that waits: the server accepts no more and its backlog is full
        s.connect(("127.0.0.1", port))
    except OSError:
        break
    s.sendall(b"GET /api/v1/parked HTTP/1.1\r\n")   # and never the rest of the request
    held.append(s)
print("open", len(held), flush=True)
time.sleep(60)
"""


def test_idle_connections_cannot_take_the_controllers_file_descriptors(api_site):
    """A client (slowloris) holding a thousand half-sent requests open: the API serves a bounded
    number of connections at once, so the controller's own sockets (the database, the event
    socket) can still be opened under the process's file limit (systemd's default is 1024)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    client = subprocess.Popen([sys.executable, "-c", IDLE_CLIENT, str(api_site.api.port), "1000"],
                              stdout=subprocess.PIPE, text=True)
    before = open_files()
    resource.setrlimit(resource.RLIMIT_NOFILE, (before + 400, hard))
    try:
        # the client opened all it could: the server accepts no more of them
        assert client.stdout.readline().startswith("open ")
        conn = api_site.database.connect()
        conn.close()
        api_site.switch.drop_connections()
        assert api_site.controller.esl.wait_connected(5), "the event socket did not reconnect"
    finally:
        client.kill()
        client.wait()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_files():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:     # none left to list them with
        return 1 << 30


def test_a_taken_port_is_a_config_error_naming_api_listen(api_site):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(ConfigError) as e:
            ApiServer(api_site.config, api_site.database, listen=listen).start()
        assert e.value.problems[0][0] == "api.listen"
        assert f'cannot listen on "{listen}"' in e.value.problems[0][1]
    finally:
        taken.close()
