"""`python -m fscontrol.sim`: run the simulated FreeSWITCH in the foreground, one line per call event."""
from __future__ import annotations

import os
import sys

from ..errors import FscontrolError


class SimulateError(FscontrolError):
    """`fscontrol simulate` cannot start (e.g. its port is taken)."""

    id = "simulate-failed"

_SUMMARISED = {"CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_PROGRESS", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE",
               "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_EXECUTE",
               "PLAYBACK_START", "DTMF", "SHUTDOWN"}


def summary(ev):
    if ev.name not in _SUMMARISED:
        return None
    parts = [ev.name, ev.get("Channel-Name", "")]
    for key in ("Application", "Application-Data", "Hangup-Cause", "Other-Leg-Unique-ID", "DTMF-Digit"):
        if ev.get(key):
            parts.append("%s=%s" % (key, ev.get(key)))
    return " ".join(p for p in parts if p)


def heartbeat_seconds(text: str) -> float:
    import argparse
    import math
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds, 0 or more")
    return value


def main(argv=None):
    from gevent import monkey
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    import gevent
    from .switch import SimSwitch

    from ..cli import UsageParser, tcp_port

    ap = UsageParser(prog="fscontrol simulate", description="Run a simulated FreeSWITCH event socket.")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=tcp_port, default=8021,
                    help="event socket port (default 8021; 0 = any free port)")
    ap.add_argument("--password", default="ClueCon",
                    help="event socket password (default ClueCon, as a stock FreeSWITCH)")
    ap.add_argument("--dialplan", help="directory or file of XML dialplan (or inline XML)")
    ap.add_argument("--context", default="default", help="context phones dial into")
    ap.add_argument("--domain", default="fscontrol.test", help="domain of user/N@domain endpoints")
    ap.add_argument("--register", action="append", default=[], metavar="USER",
                    help="register a virtual phone that auto-answers (repeatable)")
    ap.add_argument("--heartbeat", type=heartbeat_seconds, default=20.0,
                    help="seconds between HEARTBEAT events (default 20, as FreeSWITCH; 0 = none)")
    ap.add_argument("--debug", action="store_true", help="debug logging (as fscontrol --debug)")
    ap.add_argument("--verbose", "-v", action="store_true", help="informational logging")
    args = ap.parse_args(argv)

    sw = SimSwitch(password=args.password, host=args.host, port=args.port, context=args.context,
                   domain=args.domain, dialplan=args.dialplan, heartbeat=args.heartbeat)

    def show(ev):
        line = summary(ev)
        if line:
            print(line, flush=True)

    sw.add_listener(show)
    for user in args.register:
        sw.register(user).auto_answer()
    try:
        sw.start()
    except OSError as e:
        why = os.strerror(e.errno) if isinstance(e.errno, int) and e.errno > 0 else (e.strerror or e)
        raise SimulateError("cannot listen on %s:%d: %s" % (args.host, args.port, why)) from None
    said = "ClueCon, the default" if args.password == "ClueCon" else "set by --password"
    print("simulated FreeSWITCH listening on %s:%d (password %s)" % (args.host, sw.port, said), flush=True)
    try:
        while not sw.is_shut_down:
            gevent.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sw.stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FscontrolError as e:
        print("fscontrol simulate: %s" % e, file=sys.stderr)
        sys.exit(e.exit_code)
