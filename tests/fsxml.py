"""FreeSWITCH's XML preprocessor (switch_xml.c `preprocess`), for tests: turns a conf directory
into the one document the switch parses, so tests can check it and load its dialplan into the
simulated switch exactly as FreeSWITCH would see it.

Reproduced: line by line; `$${var}` expanded from preprocessor variables (unknown ones become
empty); lines containing `<include>`, `</include>` or `<?` dropped whole; `X-PRE-PROCESS`
`set`, `exec-set` (the command run by /bin/sh with the given environment) and `include` (a
glob relative to the including file's directory, in sorted order). Not reproduced: `exec`,
`<!--#` comments. Stricter than FreeSWITCH on purpose (an error here, silently skipped there):
an include of a missing file, a line naming X-PRE-PROCESS that is not one; `set` values lose
trailing spaces too."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

_PRE = re.compile(r'<X-PRE-PROCESS\s+cmd="([^"]*)"\s+data="([^"]*)"\s*/>', re.I)
_VAR = re.compile(r"\$\$\{([^}]*)\}")


class PreprocessError(Exception):
    pass


def preprocess(conf_dir, variables=None, env=None, top="freeswitch.xml"):
    """-> (text, variables): the preprocessed document and the preprocessor variables after it.
    `variables`: the core's own globals (conf_dir, sounds_dir, ...) as the switch sets them."""
    conf_dir = Path(conf_dir)
    env = os.environ if env is None else env
    values = {"conf_dir": str(conf_dir)}
    values.update(variables or {})
    out = []
    _file(conf_dir / top, values, env, out, 0)
    return "".join(out), values


def _file(path: Path, values, env, out, depth):
    if depth > 100:
        raise PreprocessError(f"{path}: include depth over 100")
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError as e:
        raise PreprocessError(f"{path}: {e.strerror}") from None
    for line in lines:
        line = _VAR.sub(lambda m: values.get(m.group(1), ""), line)
        if "<include>" in line or "</include>" in line or "<?" in line:
            continue
        m = _PRE.search(line)
        if m is None:
            if re.search("x-pre-process", line, re.I):
                raise PreprocessError(f"{path}: X-PRE-PROCESS this preprocessor does not understand: {line.strip()}")
            out.append(line)
            continue
        cmd, data = m.group(1).lower(), m.group(2)
        if cmd == "set":
            name, _, value = data.partition("=")
            values[name.strip()] = value.strip()
        elif cmd == "exec-set":
            # switch_xml.c preprocess_exec_set: the command runs through /bin/sh (system());
            # output that is not empty is kept, less its trailing line breaks. So a variable
            # that is set but empty makes `printenv X` print "\n": the value becomes "".
            name, _, command = data.partition("=")
            output = subprocess.run(["/bin/sh", "-c", command], env=dict(env), capture_output=True,
                                    text=True, timeout=10).stdout
            if output:
                values[name.strip()] = output.rstrip("\r\n")
        elif cmd == "include":
            pattern = data if os.path.isabs(data) else str(path.parent / data)
            matches = sorted(glob.glob(pattern))
            if not matches and not glob.has_magic(pattern):
                raise PreprocessError(f"{path}: include of missing file {data}")
            for inc in matches:
                _file(Path(inc), values, env, out, depth + 1)
        else:
            raise PreprocessError(f"{path}: X-PRE-PROCESS cmd={cmd!r} not supported here")


def parse(conf_dir, variables=None, env=None) -> ET.Element:
    """The preprocessed document parsed (raises ET.ParseError when it is not well-formed)."""
    text, _ = preprocess(conf_dir, variables, env)
    return ET.fromstring(text)


def section(root: ET.Element, name: str) -> ET.Element:
    for sec in root.findall("section"):
        if sec.get("name") == name:
            return sec
    raise KeyError(name)


def configuration(root: ET.Element, name: str) -> ET.Element:
    for cfg in section(root, "configuration").findall("configuration"):
        if cfg.get("name") == name:
            return cfg
    raise KeyError(name)


def dialplan_xml(conf_dir, variables=None) -> str:
    """The dialplan section as XML text (all its contexts), for `SimSwitch.load_dialplan`."""
    return ET.tostring(section(parse(conf_dir, variables), "dialplan"), encoding="unicode")
