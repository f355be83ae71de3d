"""Structured logs: `--log-format json` on every command gives one JSON object a line (ts, level,
logger, message and the record's fields), and no secret reaches the log in either format."""

import io
import json
import logging
import signal
import sys

import gevent.subprocess as subprocess
import pytest

from fscontrol import logs
from fscontrol.cli import build_parser
from fscontrol.config.model import Secret
from fscontrol.sim import SimSwitch
from test_cli import SUBCOMMANDS
from test_run import ROOT, Output, write_config
from waiting import until


@pytest.fixture
def capture():
    """The root logger as the CLI sets it up, writing into a string; restored afterwards."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()

    def make(fmt):
        logs.setup(logging.INFO, fmt, stream)
        return stream

    yield make
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)
    logs._hidden.clear()


def test_a_json_line_has_ts_level_logger_message_and_the_extra_fields(capture):
    out = capture("json")
    logging.getLogger("fscontrol.calls").warning("call %s ended", "abc",
                                                 extra={"call_id": "abc", "user": "1001"})
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "fscontrol.calls"
    assert record["message"] == "call abc ended"
    assert (record["call_id"], record["user"]) == ("abc", "1001")
    assert record["ts"].endswith("Z") and record["ts"][:4].isdigit()


def test_a_traceback_stays_inside_its_one_json_line(capture):
    out = capture("json")
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logging.getLogger("fscontrol").exception("it failed")
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "it failed" and "RuntimeError: boom" in record["exception"]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_secret_is_logged_in_either_format(capture, fmt):
    out = capture(fmt)
    logs.hide("s3cret-esl-pw")
    log = logging.getLogger("fscontrol.esl")
    log.warning("auth with %s failed", "s3cret-esl-pw")
    log.warning("connecting", extra={"password": "plain-pw", "token": "tok-123",
                                     "esl_password": Secret("other-pw"), "url": "x s3cret-esl-pw"})
    log.warning("secret object %s", Secret("object-pw"))
    text = out.getvalue()
    for secret in ("s3cret-esl-pw", "plain-pw", "tok-123", "other-pw", "object-pw"):
        assert secret not in text, (secret, text)
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines())


def test_every_command_accepts_log_format():
    parser = build_parser()
    for command in SUBCOMMANDS:
        if command in ("simulate", "call"):
            continue
        args = command.split()
        extra = {"render": ["--out", "x"], "park": ["u"], "pickup-group show": ["*8001"],
                 "pickup-group add": ["*8001", "1001"], "pickup-group remove": ["*8001", "1001"]}
        if command in ("db", "pickup-group"):
            continue
        parsed = parser.parse_args(args + ["--log-format", "json"] + extra.get(command, []))
        assert parsed.log_format == "json", command
    assert parser.parse_args(["--log-format", "json", "check"]).log_format == "json"
    assert parser.parse_args(["check"]).log_format == "text"


def test_run_logs_json_lines_without_the_esl_password(tmp_path, database):
    switch = SimSwitch(password="pw-not-for-logs").start()
    env = {"DATABASE_URL": database.url, "PGOPTIONS": f"-c search_path={database.schema}",
           "FSCONTROL_ESL_PASSWORD": "pw-not-for-logs", "PYTHONUNBUFFERED": "1",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "fscontrol", "run", "--log-format", "json",
                             "--config", str(write_config(tmp_path, switch.port))],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)
    out = Output(proc)
    try:
        until(lambda: out.matching("connected ("), timeout=20, message="never connected")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        out.reader.join(timeout=5)
    finally:
        switch.stop()
    records = [json.loads(line) for line in out.lines]      # every line is one JSON object
    connected = next(r for r in records if "connected (" in r["message"])
    assert connected["logger"] == "fscontrol.esl" and connected["level"] == "INFO"
    assert any(r["message"] == "fscontrol stopped" for r in records)
    assert "pw-not-for-logs" not in "\n".join(out.lines)
