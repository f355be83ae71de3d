#!/usr/bin/env bash
# make test-live: the `live` tests (pytest -m live) against a real FreeSWITCH 1.10.
#   FSCONTROL_LIVE_ESL=host:port   use that switch (started with tests/live/conf); no Docker
#   (unset)                        start tests/live/compose.yml, use 127.0.0.1:8021, stop it after
#   FSCONTROL_LIVE_PASSWORD        event socket password (default ClueCon)
#   FSCONTROL_LIVE_CONF=DIR        the switch's conf dir is DIR (a copy of tests/live/conf):
#                                  render the dialplan into DIR/fscontrol/ and reloadxml first
#   FSCONTROL_LIVE_TIMEOUT=SECS    how long to wait for the event socket (default 90)
#   FSCONTROL_LIVE_IMAGE=name:tag  the image compose runs (default: tests/live/Dockerfile's)
#   SIGNALWIRE_TOKEN               SignalWire Personal Access Token, needed only to build that
#                                  image (a build secret; README: Live tests)
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
COMPOSE=(docker compose -f tests/live/compose.yml)
TIMEOUT=${FSCONTROL_LIVE_TIMEOUT:-90}
# The image compose.yml runs when FSCONTROL_LIVE_IMAGE is not set (the two must agree).
DEFAULT_IMAGE=fscontrol-live-freeswitch:1.10.12-deb
export FSCONTROL_LIVE_PASSWORD="${FSCONTROL_LIVE_PASSWORD:-ClueCon}"

started=""
cleanup() {
    if [ -n "$started" ]; then
        echo "test-live: stopping the FreeSWITCH container"
        "${COMPOSE[@]}" down --timeout 10 >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

if [ -z "${FSCONTROL_LIVE_ESL:-}" ]; then
    if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
        echo "test-live: FSCONTROL_LIVE_ESL is not set and no Docker daemon answers." >&2
        echo "  Start FreeSWITCH 1.10 yourself (README: Live tests) and run" >&2
        echo "  FSCONTROL_LIVE_ESL=127.0.0.1:8021 make test-live" >&2
        exit 2
    fi
    # Compose builds the image when it is neither here nor pullable, and the build needs the token.
    image="${FSCONTROL_LIVE_IMAGE:-$DEFAULT_IMAGE}"
    if [ -n "${FSCONTROL_LIVE_IMAGE:-}" ] && ! docker image inspect "$image" >/dev/null 2>&1; then
        docker pull -q "$image" >/dev/null 2>&1 || true
    fi
    if [ -z "${SIGNALWIRE_TOKEN:-}" ] && ! docker image inspect "$image" >/dev/null 2>&1; then
        echo "test-live: the FreeSWITCH image $image must be built, which needs SIGNALWIRE_TOKEN (not set): create a SignalWire Personal Access Token (signalwire.com, your profile > Personal Access Tokens; README: Live tests) and run SIGNALWIRE_TOKEN=pat_... make test-live" >&2
        exit 2
    fi
    echo "test-live: starting FreeSWITCH (tests/live/compose.yml)"
    started=1
    # voicemail.storage of tests/live/fscontrol.toml, mounted into the container: made here,
    # writable by the switch's user, before docker would make it root's
    mkdir -p /tmp/fscontrol-voicemail && chmod 1777 /tmp/fscontrol-voicemail
    "${COMPOSE[@]}" up -d
    export FSCONTROL_LIVE_ESL=127.0.0.1:8021
fi

if ! "$PY" tests/live/esl_ready.py "$FSCONTROL_LIVE_ESL" --timeout "$TIMEOUT"; then
    if [ -n "$started" ]; then "${COMPOSE[@]}" logs --tail 50 >&2 || true; fi
    exit 1
fi

if [ -n "${FSCONTROL_LIVE_CONF:-}" ]; then
    echo "test-live: rendering the dialplan into $FSCONTROL_LIVE_CONF/fscontrol and reloading"
    "$PY" -m fscontrol render --config tests/live/fscontrol.toml --out "$FSCONTROL_LIVE_CONF/fscontrol"
    "$PY" tests/live/esl_ready.py "$FSCONTROL_LIVE_ESL" --timeout 10 --reloadxml
fi

"$PY" -m pytest -m live -rs "$@"
