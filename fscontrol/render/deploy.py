"""`fscontrol deploy`: install the rendered files into `<conf dir>/fscontrol/` safely.

Order of work: render and validate in memory (nothing on disk changes when that fails); take
the deploy lock; copy the live files to `.previous/` (the version `--rollback` restores, byte
for byte); replace each live file atomically (temp file in the same directory, fsync, rename);
then `reloadxml` over ESL, plus `local_stream start|reload|stop` for hold-music classes that
were added, changed or removed. If the switch cannot be reached the files stay deployed, a
`.reload-pending` marker records the commands, and the result says so (`reload_pending`); the
next deploy, or `reload_if_pending` at `fscontrol run` start, sends them. If the switch answers
`-ERR` to reloadxml (it keeps its old XML in memory), the previous files are put back and the
deploy fails, so disk and memory agree."""

from __future__ import annotations

import difflib
import fcntl
import json
import os
import shutil
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config.model import Config
from ..errors import DeployError
from . import contract
from .atomic import fsync_dir, write_atomic
from .reload import EslReloader, ReloadUnavailable
from .render import render_files

PREVIOUS = ".previous"
MANIFEST = "MANIFEST.json"
PENDING = ".reload-pending"
LOCK = ".lock"

Reloader = Callable[[str], str]


@dataclass(frozen=True)
class DeployResult:
    """What deploy did. `summary` is for people; `reload_pending` means exit 1."""

    summary: str
    reload_pending: bool = False
    changed: tuple[str, ...] = ()
    diff: str = ""
    commands: tuple[str, ...] = field(default=())


def deploy(config: Config, dest=None, dry_run: bool = False, rollback: bool = False,
           reloader: Reloader | None = None) -> DeployResult:
    """Renders, validates and installs the files under `dest` (default `switch.conf_dir`), then
    reloads. `dry_run`: only the diff. `rollback`: put back the previous version and reload.
    Raises ConfigError / RenderError / DeployError; the live files are untouched then."""
    dest = Path(dest if dest is not None else config.switch.conf_dir)
    live = dest / contract.DEPLOY_SUBDIR
    if not dest.is_dir():  # before the dry run too: it must fail where the deploy would
        raise DeployError(f"{dest}: no such directory (set switch.conf_dir or pass --dest)")
    if rollback:
        target = _read_previous(live)
    else:
        target = {n: t.encode("utf-8") for n, t in render_files(config).items()}
    current = _read_live(live)
    changed = tuple(n for n in contract.FILES if current.get(n) != target.get(n))
    diff = _diff(live, current, target)
    if dry_run:
        what = "rollback" if rollback else "deploy"
        summary = diff if changed else f"{live}: up to date, nothing to {what}"
        return DeployResult(summary=summary, changed=changed, diff=diff)
    reloader = reloader or EslReloader.for_switch(config.switch)
    try:
        live.mkdir(exist_ok=True)
    except OSError as e:
        raise DeployError(f"cannot create {live}: {e.strerror}") from None
    with _lock(live):
        pending = _read_pending(live)
        if changed:
            _save_previous(live, current)
            try:
                _install(live, target)
            except OSError as e:
                _install(live, current)
                raise DeployError(f"cannot write into {live}: {e.strerror}; nothing changed") from None
        commands = _commands(current, target) if changed else []
        commands = _merge(pending, commands)
        verb = "rolled back" if rollback else "deployed"
        done = f"{verb} {', '.join(changed)} into {live}" if changed else f"{live}: up to date"
        if not commands:
            return DeployResult(summary=done, changed=changed, diff=diff)
        try:
            _run(commands, reloader)
        except ReloadUnavailable as e:
            _write_pending(live, commands, str(e))
            return DeployResult(
                summary=f"{done}; reload pending ({e}): the next deploy or `fscontrol run` "
                        f"start sends {', '.join(commands)}",
                reload_pending=True, changed=changed, diff=diff, commands=tuple(commands))
        except _Refused as e:
            if changed:
                _install(live, current)
            raise DeployError(f"the switch refused {e.command!r}: {e.reply}; "
                              f"{'the previous files were restored' if changed else 'nothing changed'}") from None
        _clear_pending(live)
        return DeployResult(summary=f"{done}; sent {', '.join(commands)}", changed=changed,
                            diff=diff, commands=tuple(commands))


def reload_if_pending(config: Config, esl=None, dest=None) -> bool:
    """Sends the commands a deploy left pending (switch unreachable then). `esl`: a reloader
    callable, an object with `api(cmd, timeout=)`, or None for a fresh ESL connection.
    True if something was reloaded, False if nothing was pending; raises DeployError if the
    switch is still unreachable or refuses (the marker stays)."""
    live = Path(dest if dest is not None else config.switch.conf_dir) / contract.DEPLOY_SUBDIR
    pending = _read_pending(live)
    if not pending:
        return False
    reloader = _as_reloader(esl, config)
    with _lock(live):
        pending = _read_pending(live)
        if not pending:
            return False
        try:
            _run(pending, reloader)
        except ReloadUnavailable as e:
            raise DeployError(f"reload still pending: {e}") from None
        except _Refused as e:
            raise DeployError(f"the switch refused {e.command!r}: {e.reply}") from None
        _clear_pending(live)
    return True


def _as_reloader(esl, config: Config) -> Reloader:
    if esl is None:
        return EslReloader.for_switch(config.switch)
    if hasattr(esl, "api"):
        def call(cmd: str) -> str:
            try:
                return esl.api(cmd, timeout=10)
            except Exception as e:  # the client's own errors: connection lost, timeout
                raise ReloadUnavailable(str(e) or type(e).__name__) from e
        return call
    return esl


# --- files

def _read_live(live: Path) -> dict[str, bytes | None]:
    out = {}
    for name in contract.FILES:
        try:
            out[name] = (live / name).read_bytes()
        except FileNotFoundError:
            out[name] = None
        except OSError as e:
            raise DeployError(f"cannot read {live / name}: {e.strerror}") from None
    return out


def _read_previous(live: Path) -> dict[str, bytes | None]:
    prev = live / PREVIOUS
    try:
        manifest = json.loads((prev / MANIFEST).read_text())
    except (OSError, ValueError):
        raise DeployError(f"{prev}: no previous version to roll back to") from None
    return {n: (prev / n).read_bytes() if manifest.get(n) else None for n in contract.FILES}


def _save_previous(live: Path, current: dict[str, bytes | None]) -> None:
    """Replaces `.previous/` with `current`: built aside, then swapped in with two renames."""
    prev, new, old = live / PREVIOUS, live / (PREVIOUS + ".new"), live / (PREVIOUS + ".old")
    for d in (new, old):
        shutil.rmtree(d, ignore_errors=True)
    new.mkdir()
    for name, data in current.items():
        if data is not None:
            write_atomic(new / name, data)
    write_atomic(new / MANIFEST, json.dumps({n: d is not None for n, d in current.items()},
                                            sort_keys=True).encode())
    if prev.exists():
        os.rename(prev, old)
    os.rename(new, prev)
    fsync_dir(live)
    shutil.rmtree(old, ignore_errors=True)


def _install(live: Path, files: dict[str, bytes | None]) -> None:
    for name in contract.FILES:
        path = live / name
        data = files.get(name)
        if data is None:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        else:
            write_atomic(path, data)
    fsync_dir(live)


def _diff(live: Path, current: dict[str, bytes | None], target: dict[str, bytes | None]) -> str:
    out = []
    for name in contract.FILES:
        a = (current.get(name) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = (target.get(name) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        out.extend(difflib.unified_diff(a, b, f"{live / name} (live)", f"{live / name} (new)"))
    return "".join(out)


@contextmanager
def _lock(live: Path):
    fd = os.open(live / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeployError(f"{live}: another deploy is running") from None
        yield
    finally:
        os.close(fd)


# --- reload

class _Refused(Exception):
    def __init__(self, command: str, reply: str):
        super().__init__(command)
        self.command, self.reply = command, reply.strip()


def _music_classes(data: bytes | None) -> dict[str, bytes]:
    if not data:
        return {}
    root = ET.fromstring(data)
    return {d.get("name"): ET.tostring(d) for d in root.findall("directory")}


def _commands(current: dict, target: dict) -> list[str]:
    commands = ["reloadxml"]
    old = _music_classes(current.get(contract.LOCAL_STREAM_FILE))
    new = _music_classes(target.get(contract.LOCAL_STREAM_FILE))
    for name in sorted(new):
        if name not in old:
            commands.append(f"local_stream start {name}")
        elif old[name] != new[name]:
            commands.append(f"local_stream reload {name}")
    commands += [f"local_stream stop {name}" for name in sorted(old) if name not in new]
    return commands


def _merge(pending: list[str], commands: list[str]) -> list[str]:
    merged = list(commands)
    for cmd in pending:
        if cmd not in merged:
            merged.append(cmd)
    if "reloadxml" in merged:  # always first: the streams read the reloaded config
        merged.remove("reloadxml")
        merged.insert(0, "reloadxml")
    return merged


def _run(commands: list[str], reloader: Reloader) -> None:
    for cmd in commands:
        reply = reloader(cmd)
        if reply.lstrip().startswith("-ERR") and not cmd.startswith("local_stream stop"):
            raise _Refused(cmd, reply)


def _read_pending(live: Path) -> list[str]:
    try:
        return list(json.loads((live / PENDING).read_text())["commands"])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        return ["reloadxml"]  # unreadable marker: reloading is always safe


def _write_pending(live: Path, commands: list[str], reason: str) -> None:
    write_atomic(live / PENDING, json.dumps({"commands": commands, "reason": reason}).encode())


def _clear_pending(live: Path) -> None:
    try:
        (live / PENDING).unlink()
    except FileNotFoundError:
        pass
