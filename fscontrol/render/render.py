"""Renders the FreeSWITCH files from `templates/` for a Config, validated before they are returned."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jinja2

from ..config.load import validate as validate_config
from ..config.model import Config
from ..errors import ConfigError, RenderError
from ..esl.commands import expand_dial
from . import contract, safety, validate
from .atomic import write_atomic
from .regex import range_regex, set_regex

def _templates_dir() -> Path:
    """`templates/` of the source tree (development, editable install), else the copy a wheel
    installs under `<prefix>/share/fscontrol/templates` (setup.cfg data_files)."""
    source = Path(__file__).resolve().parents[2] / "templates"
    return source if source.is_dir() else Path(sys.prefix) / "share" / "fscontrol" / "templates"


TEMPLATES_DIR = _templates_dir()
TEMPLATES = {contract.DIALPLAN_FILE: "dialplan.xml.j2",
             contract.LOCAL_STREAM_FILE: "local_stream.xml.j2"}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every template here produces XML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _view(config: Config) -> dict:
    """What the templates see: config values and the regexes built from them."""
    s = config.switch
    users = sorted(u.extension for u in config.users)
    view = {
        "c": contract,
        "context": s.context,
        "domain": s.domain,
        "park_code": _exact(config.park.code),
        "voicemail_code": _exact(config.features.voicemail),
        "dtmf_key": config.park.dtmf_code[1:],
        "directed_pickup": None,
        "users": None,
        "park_ranges": [_range_view(r) for r in config.ranges("park")],
        "pickup_ranges": [_range_view(r) for r in config.ranges("pickup")],
        "music_classes": config.music_classes,
        "voicemail": ({"pilot": _exact(config.voicemail.pilot) if config.voicemail.pilot else None,
                       "ring_timeout": config.voicemail.ring_timeout}
                      if config.voicemail.enabled else None),
        "attendants": [{"number": a.number, "expression": _exact(a.number)}
                       for a in config.attendants],
    }
    if users:
        users_re = set_regex(users)
        dial = expand_dial(s.user_dial_string, ext="$1", domain=s.domain)
        view["users"] = {"count": len(users), "expression": users_re, "dial_string": dial}
        view["directed_pickup"] = "^" + re.escape(config.features.directed_pickup) + users_re[1:]
    return view


def _exact(code: str) -> str:
    return "^" + re.escape(code) + "$"


def _range_view(r) -> dict:
    n = r.numbers
    return {"start": r.start, "end": r.end,
            "expression": range_regex(n.first, n.last, n.width, n.prefix)}


def render_files(config: Config) -> dict[str, str]:
    """File name -> text of every rendered file. Raises ConfigError for an invalid config and
    RenderError when a value cannot be rendered safely or the output fails validation."""
    unsafe = safety.problems(config)
    problems = [pr for pr in validate_config(config) if pr[0] not in {k for k, _ in unsafe}]
    if unsafe:
        raise RenderError(unsafe + problems)
    if problems:
        raise ConfigError(problems)
    env = _environment()
    view = _view(config)
    try:
        files = {name: env.get_template(tpl).render(view) for name, tpl in TEMPLATES.items()}
    except jinja2.TemplateError as e:
        raise RenderError([(getattr(e, "name", "") or "templates", f"template error: {e}")]) from None
    validate.check(files)
    return files


def render_to(config: Config, out_dir) -> list[Path]:
    """Renders, validates, then writes every file into `out_dir` (created if missing), each
    replaced atomically. Returns the paths written. Nothing is written when validation fails."""
    files = render_files(config)
    out = Path(out_dir)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = out / name
            write_atomic(path, text.encode("utf-8"))
            written.append(path)
    except OSError as e:
        where = e.filename or out
        raise RenderError([("--out", f"cannot write {where}: {e.strerror or e}")]) from None
    return written


def in_context(fragment: str, context: str) -> str:
    """The rendered dialplan fragment as the switch sees it once the operator's one-line
    `X-PRE-PROCESS include` sits inside `<context name=context>`: the fragment's lines without
    its `<include>` wrapper, in that context. For loading into the simulated switch."""
    body = "\n".join(line for line in fragment.splitlines()
                     if line.strip() not in ("<include>", "</include>"))
    return f'<include>\n<context name="{context}">\n{body}\n</context>\n</include>\n'
