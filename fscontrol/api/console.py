"""GET /console: the attendant console's page and its files (fscontrol/console/static, package
data). They hold no data, so they need no token: the page asks for one and sends it to /api/v1
itself. A strict Content-Security-Policy: the page's own scripts and styles only, requests to
this origin only."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, send_from_directory

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _send(name: str):
    response = send_from_directory(STATIC, name, max_age=0)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def register(app) -> None:
    # plain Flask rules: files are no API operation (none of the OpenAPI document)
    Flask.add_url_rule(app, "/console", "console_page", lambda: _send("index.html"),
                       methods=["GET"])
    Flask.add_url_rule(app, "/console/<string:name>", "console_file", _send, methods=["GET"])
