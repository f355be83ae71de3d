"""tests/live/Dockerfile and compose.yml, checked statically (nothing here needs Docker): the image
builds FreeSWITCH v1.10.12 with exactly the modules tests/live/conf loads, at their paths in the
FreeSWITCH source tree, and runs it on the conf that compose mounts."""

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

LIVE = Path(__file__).resolve().parent
DOCKERFILE = LIVE / "Dockerfile"
COMPOSE = LIVE / "compose.yml"
MODULES_XML = LIVE / "conf" / "autoload_configs" / "modules.conf.xml"

# Where each module lives under src/mod in FreeSWITCH 1.10 (build/modules.conf.in, configure.ac)
SOURCE_DIRS = {
    "mod_console": "loggers", "mod_logfile": "loggers",
    "mod_event_socket": "event_handlers",
    "mod_loopback": "endpoints",
    "mod_commands": "applications", "mod_dptools": "applications", "mod_hash": "applications",
    "mod_db": "applications", "mod_valet_parking": "applications",
    "mod_voicemail": "applications", "mod_conference": "applications",
    "mod_dialplan_xml": "dialplans",
    "mod_local_stream": "formats", "mod_tone_stream": "formats", "mod_sndfile": "formats",
    "mod_native_file": "formats",
    "mod_say_en": "say",
}
COMMAND = ["freeswitch", "-nonat", "-nf", "-nc", "-conf", "/etc/freeswitch",
           "-log", "/var/log/freeswitch", "-db", "/var/lib/freeswitch/db",
           "-run", "/var/run/freeswitch", "-sounds", "/usr/share/freeswitch/sounds"]


def instructions():
    """The Dockerfile as (INSTRUCTION, arguments) pairs: comments dropped, continuations joined."""
    out, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, "Dockerfile ends in a continuation"
    return out


def stages():
    """Instructions grouped by FROM: [(from-arguments, [(INSTRUCTION, arguments), ...]), ...]."""
    result = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append((rest, []))
        else:
            assert result, f"{keyword} before FROM"
            result[-1][1].append((keyword, rest))
    return result


def build_args():
    return dict(rest.split("=", 1) for keyword, rest in stages()[0][1]
                if keyword == "ARG" and "=" in rest)


def build_modules_conf():
    """The module paths the build stage writes to the source tree's modules.conf."""
    runs = [rest for keyword, rest in stages()[0][1]
            if keyword == "RUN" and re.search(r">\s*modules\.conf\b", rest)]
    assert len(runs) == 1, "one RUN writes modules.conf"
    words = shlex.split(runs[0].split(">")[0])
    assert words[:2] == ["printf", "%s\\n"], words[:2]
    return words[2:]


def loaded_modules():
    root = ET.parse(MODULES_XML).getroot()
    assert root.get("name") == "modules.conf"
    return [load.get("module") for load in root.iter("load")]


def test_build_modules_are_exactly_the_modules_the_conf_loads():
    paths = build_modules_conf()
    built = [p.rsplit("/", 1)[-1] for p in paths]
    assert len(built) == len(set(built)), "a module is listed twice"
    assert sorted(built) == sorted(loaded_modules())


def test_build_module_paths_are_the_freeswitch_source_paths():
    for path in build_modules_conf():
        directory, _, module = path.partition("/")
        assert SOURCE_DIRS.get(module) == directory, path
    assert set(SOURCE_DIRS) == set(loaded_modules())


def test_no_sip_or_signalwire_module_is_built():
    for module in ("mod_sofia", "mod_verto", "mod_signalwire", "mod_rtc", "mod_skinny"):
        assert not any(p.endswith("/" + module) for p in build_modules_conf()), module


def test_pinned_sources():
    args = build_args()
    assert args["FREESWITCH_TAG"] == "v1.10.12"
    assert args["SPANDSP_COMMIT"] == "0d2e6ac65e0e8f53d652665a743015a88bf048d4"
    assert args["SOFIA_SIP_TAG"] == "v1.13.17"
    runs = " ".join(rest for keyword, rest in stages()[0][1] if keyword == "RUN")
    assert '--branch "$FREESWITCH_TAG" https://github.com/signalwire/freeswitch.git' in runs
    assert 'https://github.com/freeswitch/spandsp.git "$SPANDSP_COMMIT"' in runs
    assert '--branch "$SOFIA_SIP_TAG" https://github.com/freeswitch/sofia-sip.git' in runs
    assert "libks" not in runs and "signalwire-c" not in runs


def test_two_stages_on_debian_bookworm():
    (build_from, _), (final_from, _) = stages()
    assert build_from == "debian:bookworm AS build"
    assert final_from == "debian:bookworm-slim"


def test_the_image_runs_freeswitch_on_etc_freeswitch_under_tini():
    _, final = stages()[1]
    entrypoint = [json.loads(rest) for keyword, rest in final if keyword == "ENTRYPOINT"]
    cmd = [json.loads(rest) for keyword, rest in final if keyword == "CMD"]
    assert entrypoint == [["/usr/bin/tini", "--"]]
    assert cmd == [COMMAND]
    conf = COMMAND[COMMAND.index("-conf") + 1]
    assert conf == "/etc/freeswitch"
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert "tini" in runs
    for flag in ("-conf", "-log", "-db", "-run", "-sounds"):
        directory = COMMAND[COMMAND.index(flag) + 1]
        assert re.search(r"mkdir -p [^;&]*" + re.escape(directory) + r"\b", runs), directory


def compose_lines():
    return [line.split("#", 1)[0].strip() for line in COMPOSE.read_text(encoding="utf-8").splitlines()]


def test_compose_builds_the_image_and_mounts_the_conf_read_only():
    lines = compose_lines()
    assert "image: ${FSCONTROL_LIVE_IMAGE:-fscontrol-live-freeswitch:1.10.12}" in lines
    build = lines.index("build:")
    assert lines[build + 1:build + 3] == ["context: .", "dockerfile: Dockerfile"]
    assert "network_mode: host" in lines
    assert "FSCONTROL_LIVE_PASSWORD: ${FSCONTROL_LIVE_PASSWORD:-ClueCon}" in lines
    mounts = [line[2:] for line in lines if line.startswith("- ./")]
    assert mounts == ["./conf:/etc/freeswitch:ro"]
    assert mounts[0].split(":")[1] == COMMAND[COMMAND.index("-conf") + 1]
