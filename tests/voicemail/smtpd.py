"""A real SMTP server for the voicemail tests (aiosmtpd), run as its own process: aiosmtpd is
asyncio and the tests are gevent-patched, so it must not share their event loop or threads.

    python smtpd.py PORT OUTDIR [--temp-fail N] [--tls starttls|tls --cert C --key K]
                                [--auth USER:PASSWORD]

Accepts mail on 127.0.0.1:PORT and writes each message whole to OUTDIR/<n>.eml (n from 1);
with --temp-fail N the first N DATA commands are answered "451 4.3.0 Try again later" (a
temporary failure) and nothing is written. --tls starttls offers STARTTLS with the certificate
(and refuses mail before it), --tls tls speaks TLS from the first byte (implicit TLS, like
port 465); --auth accepts AUTH with that user and password only (aiosmtpd offers AUTH only
inside TLS). Prints "ready" once it listens."""

import argparse
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


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


class Authenticator:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = getattr(auth_data, "login", None) == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)   # handled=False: aiosmtpd replies 535


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--temp-fail", type=int, default=0)
    ap.add_argument("--tls", choices=("starttls", "tls"))
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    args = ap.parse_args()
    kw = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "tls":
            kw["ssl_context"] = context
        else:
            kw.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kw.update(authenticator=Authenticator(user, password), auth_required=True)
        if args.tls == "tls":
            # aiosmtpd 1.4 does not count implicit TLS as TLS for AUTH; the link is TLS anyway
            kw["auth_require_tls"] = False
    controller = Controller(Handler(args.out, args.temp_fail), hostname="127.0.0.1", port=args.port,
                            **kw)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
