"""A real SMTP server for the voicemail tests (aiosmtpd), run as its own process: aiosmtpd is
asyncio and the tests are gevent-patched, so it must not share their event loop or threads.

    python smtpd.py PORT OUTDIR [--temp-fail N]

Accepts mail on 127.0.0.1:PORT and writes each message whole to OUTDIR/<n>.eml (n from 1);
with --temp-fail N the first N DATA commands are answered "451 4.3.0 Try again later" (a
temporary failure) and nothing is written. Prints "ready" once it listens."""

import argparse
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out, temp_fail):
        self.out = out
        self.temp_fail = temp_fail
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.temp_fail > 0:
            self.temp_fail -= 1
            return "451 4.3.0 Try again later"
        self.count += 1
        path = os.path.join(self.out, f"{self.count}.eml")
        with open(path + ".part", "wb") as f:
            f.write(envelope.original_content)
        os.rename(path + ".part", path)
        return f"250 2.0.0 Ok: queued as TEST{self.count}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--temp-fail", type=int, default=0)
    args = ap.parse_args()
    controller = Controller(Handler(args.out, args.temp_fail), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
