"""tests/live/Dockerfile, compose.yml and run.sh's image handling, checked without Docker: the image
installs FreeSWITCH from SignalWire's Debian release repository (no source build), exactly one
module package for each module tests/live/conf loads, takes the SignalWire token only as a build
secret that no layer, ENV or ARG keeps, and runs FreeSWITCH on the conf that compose mounts;
run.sh stops with one clear line when the image must be built and SIGNALWIRE_TOKEN is not set."""

import json
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

LIVE = Path(__file__).resolve().parent
ROOT = LIVE.parents[1]
DOCKERFILE = LIVE / "Dockerfile"
COMPOSE = LIVE / "compose.yml"
RUN_SH = LIVE / "run.sh"
MODULES_XML = LIVE / "conf" / "autoload_configs" / "modules.conf.xml"

REPO = "https://freeswitch.signalwire.com/repo/deb/debian-release/"
KEYRING = "/usr/share/keyrings/signalwire-freeswitch-repo.gpg"
SECRET_ID = "signalwire_token"
AUTH_DIR = "/etc/apt/auth.conf.d"
COMMAND = ["freeswitch", "-nonat", "-nf", "-nc", "-conf", "/etc/freeswitch",
           "-log", "/var/log/freeswitch", "-db", "/var/lib/freeswitch/db",
           "-run", "/var/run/freeswitch", "-sounds", "/usr/share/freeswitch/sounds"]
# Module packages the repository has, as named by the freeswitch source's debian/bootstrap.sh
# (map_pkgs_mods: "freeswitch-${module//_/-}"; these are the Depends of its freeswitch-meta-vanilla
# and -default). A module outside this list needs its package checked before it is added here.
PACKAGED_MODULES = {
    "freeswitch-mod-console", "freeswitch-mod-logfile", "freeswitch-mod-event-socket",
    "freeswitch-mod-loopback", "freeswitch-mod-commands", "freeswitch-mod-dptools",
    "freeswitch-mod-hash", "freeswitch-mod-db", "freeswitch-mod-valet-parking",
    "freeswitch-mod-voicemail", "freeswitch-mod-conference", "freeswitch-mod-dialplan-xml",
    "freeswitch-mod-local-stream", "freeswitch-mod-tone-stream", "freeswitch-mod-sndfile",
    "freeswitch-mod-native-file", "freeswitch-mod-say-en", "freeswitch-mod-sofia",
    "freeswitch-mod-fifo", "freeswitch-mod-spandsp", "freeswitch-mod-lua", "freeswitch-mod-expr",
}


# --- the Dockerfile, parsed ---------------------------------------------------------------------

def instructions():
    """The Dockerfile as (INSTRUCTION, arguments) pairs: comments dropped, continuations joined."""
    out, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
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


def runs():
    """Each RUN as (mounts, shell text); mounts are the --mount options as dicts."""
    result = []
    for keyword, rest in instructions():
        if keyword != "RUN":
            continue
        mounts = []
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            rest = rest.lstrip()
            name, _, value = flag[2:].partition("=")
            assert name == "mount", flag
            mounts.append(dict(option.partition("=")[::2] for option in value.split(",")))
        result.append((mounts, rest))
    return result


def secret_run():
    """The one RUN that mounts the token."""
    found = [(mounts, text) for mounts, text in runs()
             if any(m.get("type") == "secret" for m in mounts)]
    assert len(found) == 1, "exactly one RUN mounts a secret"
    return found[0]


def commands(text):
    """A RUN's shell text split into simple commands (at ; && || and newlines), blanks squeezed."""
    return [" ".join(c.split()) for c in re.split(r";;|;|&&|\|\||\n", text) if c.strip()]


def installed_packages(text):
    packages = []
    for command in commands(text):
        words = shlex.split(command)
        if words[:2] == ["apt-get", "install"]:
            packages += [w for w in words[2:] if not w.startswith("-")]
    return packages


def loaded_modules():
    root = ET.parse(MODULES_XML).getroot()
    assert root.get("name") == "modules.conf"
    return [load.get("module") for load in root.iter("load")]


def module_package(module):
    return "freeswitch-" + module.replace("_", "-")


# --- the image's contents -----------------------------------------------------------------------

def test_one_stage_on_debian_12_with_the_dockerfile_frontend_that_knows_secret_mounts():
    assert DOCKERFILE.read_text(encoding="utf-8").splitlines()[0] == "# syntax=docker/dockerfile:1"
    froms = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert froms == ["debian:bookworm-slim"]


def test_installs_exactly_the_module_packages_of_the_modules_the_conf_loads():
    _, text = secret_run()
    packages = installed_packages(text)
    freeswitch = [p for p in packages if "freeswitch" in p]
    assert len(freeswitch) == len(set(freeswitch)), "a package is listed twice"
    modules = loaded_modules()
    assert len(modules) == 17 and len(set(modules)) == 17
    assert sorted(freeswitch) == sorted(["freeswitch"] + [module_package(m) for m in modules])
    for module in modules:
        assert module_package(module) in PACKAGED_MODULES, module
    # nothing else from that repository, and no recommended extras
    everything = " ".join(text for _, text in runs())
    for package in ("freeswitch-meta-", "freeswitch-conf-", "freeswitch-sounds", "freeswitch-music",
                    "freeswitch-lang", "freeswitch-mod-sofia", "freeswitch-mod-verto",
                    "freeswitch-mod-signalwire", "freeswitch-systemd", "freeswitch-all"):
        assert package not in everything, package
    installs = [c for c in commands(everything) if c.startswith("apt-get install")]
    assert len(installs) == 2
    for command in installs:
        assert "--no-install-recommends" in command.split(), command


def test_the_packages_come_from_signalwires_debian_release_repository_for_bookworm():
    _, text = secret_run()
    source = f"deb [signed-by={KEYRING}] {REPO} bookworm main"
    assert f'echo "{source}"' in text
    assert "> /etc/apt/sources.list.d/freeswitch.list" in text
    assert re.search(r"-o " + re.escape(KEYRING) + r"\s+" + re.escape(REPO)
                     + r"signalwire-freeswitch-repo\.gpg", text)
    assert text.index(source) < text.index("freeswitch-mod-console")
    assert "deb-src" not in text


def test_the_version_asked_for_is_pinned_and_checked():
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for keyword, rest in instructions()
            if keyword == "ARG"}
    assert args == {"FREESWITCH_VERSION": "1.10.12", "DEBIAN_FRONTEND": "noninteractive"}
    _, text = secret_run()
    assert ("printf 'Package: freeswitch* libfreeswitch*\\nPin: version %s*\\nPin-Priority: 1001\\n'"
            ' "$FREESWITCH_VERSION"') in text
    assert "> /etc/apt/preferences.d/freeswitch" in text
    check = runs()[1][1]
    assert "installed=\"$(dpkg-query -W -f '${Version}' freeswitch)\"" in check
    versions = commands(check)
    assert versions[versions.index('case "$installed" in "$FREESWITCH_VERSION"*)') + 2] == "exit 1"


def test_the_build_checks_every_module_the_conf_loads_against_the_installed_files():
    (mounts, text), = [r for r in runs() if "/tmp/modules.conf.xml" in r[1]]
    assert {"type": "bind", "source": "conf/autoload_configs/modules.conf.xml",
            "target": "/tmp/modules.conf.xml"} in mounts
    assert (LIVE / mounts[0]["source"]).resolve() == MODULES_XML
    assert 'so="/usr/lib/freeswitch/mod/$m.so"' in text
    assert 'if [ ! -f "$so" ]' in text and "ldd \"$so\" | grep 'not found'" in text


def test_no_source_build_of_freeswitch_or_its_libraries():
    everything = " ".join(rest for _, rest in instructions())
    for word in ("git", "make", "configure", "bootstrap.sh", "autogen.sh", "cmake", "gcc",
                 "build-essential", "dpkg-buildpackage", "build-dep", "spandsp", "sofia-sip",
                 "libks", "github.com"):
        assert not re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", everything), word
    assert [k for k, _ in instructions() if k in ("COPY", "ADD")] == []


def test_no_source_recipe_for_freeswitch_anywhere_in_the_repository():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    pattern = re.compile(r"git\s+(clone|fetch)\b[^\n]*(freeswitch|spandsp|sofia-sip|libks|signalwire-c)"
                         r"|github\.com/(signalwire|freeswitch)/[\w.-]+\.git\b", re.IGNORECASE)
    for name in filter(None, files):
        path = ROOT / name
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        assert not pattern.search(text), name


def test_the_image_runs_freeswitch_on_etc_freeswitch_under_tini():
    entrypoint = [json.loads(rest) for keyword, rest in instructions() if keyword == "ENTRYPOINT"]
    cmd = [json.loads(rest) for keyword, rest in instructions() if keyword == "CMD"]
    assert entrypoint == [["/usr/bin/tini", "--"]]
    assert cmd == [COMMAND]
    assert "tini" in installed_packages(secret_run()[1])
    check = runs()[1][1]
    for flag in ("-conf", "-log", "-db", "-run", "-sounds"):
        directory = COMMAND[COMMAND.index(flag) + 1]
        assert re.search(r"mkdir -p [^;&]*" + re.escape(directory) + r"(?![\w/])", check), directory
    assert "command -v sh" in check and "command -v printenv" in check


# --- the token ----------------------------------------------------------------------------------

def test_the_token_is_a_required_build_secret_of_one_run():
    mounts, _ = secret_run()
    secrets = [m for m in mounts if m.get("type") == "secret"]
    assert secrets == [{"type": "secret", "id": SECRET_ID, "required": "true"}]
    for _, text in runs():
        if text != secret_run()[1]:
            assert "/run/secrets" not in text and "auth.conf" not in text


def test_the_token_is_in_no_env_arg_label_or_copied_file():
    for keyword, rest in instructions():
        if keyword in ("ENV", "ARG", "LABEL", "COPY", "ADD", "ONBUILD", "USER", "WORKDIR"):
            assert not re.search(r"token|signalwire|secret|auth", rest, re.IGNORECASE), (keyword, rest)
    assert "ENV" not in [k for k, _ in instructions()]
    # and no file of the repository holds one
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for name in filter(None, files):
        path = ROOT / name
        if path.is_file():
            assert not re.search(rb"pat_[A-Za-z0-9]{12,}", path.read_bytes()), name


def test_the_token_goes_only_into_an_apt_auth_file_on_a_tmpfs_removed_before_the_run_ends():
    mounts, text = secret_run()
    assert {"type": "tmpfs", "target": AUTH_DIR} in mounts
    auth = f"{AUTH_DIR}/signalwire.conf"
    uses = [c for c in commands(text) if re.search(r"\$\{?token\b|(?<![\w$])token=", c)]
    assert uses == [
        f'token="$(tr -d \'[:space:]\' < /run/secrets/{SECRET_ID})"',
        'case "$token" in "") echo "the signalwire_token build secret is empty: set SIGNALWIRE_TOKEN'
        ' (README, Live tests)" >&2',
        f"printf 'machine freeswitch.signalwire.com login signalwire password %s\\n' \"$token\" > {auth}",
        'token=""',
    ]
    parts = commands(text)
    assert parts.index("umask 077") < parts.index(uses[2]) < parts.index("umask 022")
    assert "/run/secrets" not in text.replace(f"/run/secrets/{SECRET_ID}", "", 1)
    # the file is read by curl and apt only, then deleted last thing
    last_install = max(i for i, c in enumerate(parts) if c.startswith("apt-get install"))
    assert parts.index(f"rm -f {auth}") > last_install
    assert f"--netrc-file {auth}" in text


def test_the_token_is_never_on_a_command_line_or_traced():
    text = " ".join(rest for _, rest in instructions())
    for forbidden in ("--http-password", "--http-user", "--user", " -u ", "wget", "apt-key",
                      "/etc/apt/auth.conf ", "fsget"):
        assert forbidden not in text, forbidden
    assert not re.search(r"\bset\s+-\w*x", text) and not re.search(r"\bsh\s+-\w*x", text)
    for command in commands(text):
        if "$token" in command and not command.startswith(("token=", "case ")):
            assert command.startswith("printf "), command  # a shell builtin: not in the process list


# --- compose.yml --------------------------------------------------------------------------------

def compose():
    """compose.yml as nested dicts and lists (block mappings, lists of scalars; no other YAML)."""
    lines = []
    for raw in COMPOSE.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))

    def scalar(text):
        assert not text.startswith(("{", "[", "&", "*", "|", ">")), text
        return text[1:-1] if text[:1] in "'\"" and text[-1:] == text[:1] else text

    def block(i, indent):
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(scalar(lines[i][1][2:].strip()))
                i += 1
            return items, i
        mapping = {}
        while i < len(lines) and lines[i][0] == indent:
            key, colon, value = lines[i][1].partition(":")
            assert colon and key not in mapping and not key.startswith("-"), lines[i]
            i += 1
            if value.strip():
                mapping[key] = scalar(value.strip())
            else:
                assert i < len(lines) and lines[i][0] > indent, key
                mapping[key], i = block(i, lines[i][0])
        return mapping, i

    document, end = block(0, 0)
    assert end == len(lines), lines[end]
    return document


def default_image():
    match = re.fullmatch(r"\$\{FSCONTROL_LIVE_IMAGE:-([^}]+)\}",
                         compose()["services"]["freeswitch"]["image"])
    assert match, "FSCONTROL_LIVE_IMAGE overrides the image"
    return match.group(1)


def test_compose_builds_the_image_with_the_token_as_a_build_secret_from_the_environment():
    document = compose()
    assert set(document) == {"name", "services", "secrets"}
    service = document["services"]["freeswitch"]
    assert service["build"] == {"context": ".", "dockerfile": "Dockerfile", "secrets": [SECRET_ID]}
    assert document["secrets"] == {SECRET_ID: {"environment": "SIGNALWIRE_TOKEN"}}
    # never handed to the running container, never a build argument
    assert "secrets" not in service and "args" not in service["build"]
    assert "SIGNALWIRE" not in json.dumps(service)
    assert (LIVE / service["build"]["context"] / service["build"]["dockerfile"]) == DOCKERFILE


def test_compose_runs_the_image_on_the_conf_mounted_read_only():
    service = compose()["services"]["freeswitch"]
    assert default_image() == "fscontrol-live-freeswitch:1.10.12-deb"
    assert service["network_mode"] == "host"
    assert service["environment"] == {"FSCONTROL_LIVE_PASSWORD": "${FSCONTROL_LIVE_PASSWORD:-ClueCon}"}
    # the conf read-only; voicemail.storage (tests/live/fscontrol.toml) shared at the same path
    assert service["volumes"] == ["./conf:/etc/freeswitch:ro",
                                  "/tmp/fscontrol-voicemail:/tmp/fscontrol-voicemail"]
    assert service["volumes"][0].split(":")[1] == COMMAND[COMMAND.index("-conf") + 1]


def test_run_sh_and_compose_agree_on_the_default_image():
    assert re.search(r"^DEFAULT_IMAGE=" + re.escape(default_image()) + "$",
                     RUN_SH.read_text(encoding="utf-8"), re.MULTILINE)


# --- run.sh, with a stand-in `docker` -----------------------------------------------------------

FAKE_DOCKER = """#!/usr/bin/env bash
# records each call; has the images in FAKE_IMAGES and those pulled (from FAKE_PULLABLE)
echo "docker $* token=${SIGNALWIRE_TOKEN:+set}" >> "$FAKE_LOG"
images=" $FAKE_IMAGES $(cat "$FAKE_LOG.pulled" 2>/dev/null) "
case "$1 $2" in
  "info "*) exit 0 ;;
  "image inspect") case "$images" in *" $3 "*) exit 0 ;; *) exit 1 ;; esac ;;
  "pull "*) case " $FAKE_PULLABLE " in *" ${@: -1} "*) echo "${@: -1}" >> "$FAKE_LOG.pulled"; exit 0 ;; esac
            echo "pull access denied" >&2; exit 1 ;;
  "compose -f") [ "$4" = up ] && exit 3; exit 0 ;;
esac
exit 0
"""


def run_sh(tmp_path, **env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER, encoding="utf-8")
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    log.write_text("", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("FSCONTROL_LIVE_ESL", "FSCONTROL_LIVE_IMAGE", "SIGNALWIRE_TOKEN")}
    environment.update({"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(log),
                        "FAKE_IMAGES": "", "FAKE_PULLABLE": "", **env})
    done = subprocess.run(["bash", str(RUN_SH)], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)
    return done, log.read_text(encoding="utf-8").splitlines()


def test_run_sh_asks_for_the_token_in_one_line_only_when_the_image_must_be_built(tmp_path):
    done, calls = run_sh(tmp_path / "no-token")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "SIGNALWIRE_TOKEN" in lines[0] and "Personal Access Token" in lines[0]
    assert "signalwire.com" in lines[0] and "fscontrol-live-freeswitch:1.10.12-deb" in lines[0]
    assert not any(" up" in call for call in calls), calls

    # with a token, compose builds with it (the stand-in's `up` then fails: exit 3)
    done, calls = run_sh(tmp_path / "token", SIGNALWIRE_TOKEN="pat_for_this_test_only")
    assert done.returncode == 3, done.stderr
    assert "docker compose -f tests/live/compose.yml up -d token=set" in calls
    assert "pat_for_this_test_only" not in done.stdout + done.stderr

    # with the image already built, no token is needed
    done, calls = run_sh(tmp_path / "built", FAKE_IMAGES="fscontrol-live-freeswitch:1.10.12-deb")
    assert done.returncode == 3, done.stderr
    assert "docker compose -f tests/live/compose.yml up -d token=" in calls


def test_run_sh_pulls_an_overriding_image_and_needs_no_token_for_it(tmp_path):
    done, calls = run_sh(tmp_path, FSCONTROL_LIVE_IMAGE="example/freeswitch:1.10",
                         FAKE_PULLABLE="example/freeswitch:1.10")
    assert done.returncode == 3, done.stderr
    assert "docker pull -q example/freeswitch:1.10 token=" in calls


def test_run_sh_an_overriding_image_that_cannot_be_pulled_must_be_built_with_a_token(tmp_path):
    done, calls = run_sh(tmp_path, FSCONTROL_LIVE_IMAGE="example/freeswitch:1.10")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "example/freeswitch:1.10" in done.stderr and "SIGNALWIRE_TOKEN" in done.stderr
