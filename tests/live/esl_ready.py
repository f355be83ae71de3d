"""Helper of tests/live/run.sh: wait (bounded) until the switch's event socket answers `status`
with "is ready", optionally send `reloadxml`. Exit 0 when done, 1 on timeout or refusal.

    python tests/live/esl_ready.py HOST:PORT [--timeout 60] [--reloadxml]
Password: FSCONTROL_LIVE_PASSWORD (default ClueCon)."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from fscontrol.esl import AuthenticationError, EslClient, EslError  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("address")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--reloadxml", action="store_true")
    args = p.parse_args(argv)
    host, _, port = args.address.rpartition(":")
    password = os.environ.get("FSCONTROL_LIVE_PASSWORD") or "ClueCon"
    deadline = time.monotonic() + args.timeout
    last = "no answer"
    while time.monotonic() < deadline:
        client = EslClient(host, int(port), password, heartbeat_interval=None, connect_timeout=2,
                           command_timeout=5, backoff=(0.2, 1.0))
        try:
            client.connect(timeout=min(5.0, max(0.5, deadline - time.monotonic())))
            status = client.api("status")
            if "is ready" in status:
                if args.reloadxml:
                    reply = client.api("reloadxml")
                    if not reply.startswith("+OK"):
                        print(f"esl_ready: reloadxml refused: {reply.strip()}", file=sys.stderr)
                        return 1
                print(f"esl_ready: FreeSWITCH at {args.address} is ready")
                return 0
            last = status.strip().splitlines()[-1] if status.strip() else "empty status"
        except AuthenticationError as e:
            print(f"esl_ready: {e} (FSCONTROL_LIVE_PASSWORD)", file=sys.stderr)
            return 1
        except EslError as e:
            last = str(e)
        finally:
            client.stop()
        gevent.sleep(0.5)
    print(f"esl_ready: no ready FreeSWITCH at {args.address} within {args.timeout:.0f}s ({last})",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
