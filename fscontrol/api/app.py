"""The WSGI application: flask-openapi3 routes whose pydantic schemas validate the requests and
make the OpenAPI document; bearer-token authentication; every error in one JSON shape with its
status mapped once (fscontrol.api.errors.STATUS); the request latency per route."""

from __future__ import annotations

import logging
import time

from flask import Response, g, jsonify, request
from flask_openapi3 import Info, OpenAPI
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..errors import DatabaseUnavailable as DatabaseDown, FscontrolError, RequestError
from ..esl import ChannelGone, EslError, InvalidArgument
from . import errors
from .context import ApiContext, Principal
from .schemas import ErrorOut

log = logging.getLogger("fscontrol.api")

PREFIX = "/api/v1"
OPENAPI_PATH = PREFIX + "/openapi.json"
PUBLIC = {OPENAPI_PATH, "/healthz", "/readyz"}
CONSOLE = "/console"     # the attendant console's page and files: no data, so no token
REALM = 'Bearer realm="fscontrol"'
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def error_response(e: RequestError) -> Response:
    response = jsonify(e.to_dict())
    response.status_code = errors.status_of(e)
    if e.kind == "unauthorized":
        response.headers["WWW-Authenticate"] = (
            REALM + (', error="invalid_token"' if request.headers.get("Authorization") else ""))
    return response


def _field(loc) -> str | None:
    """pydantic's error location as a field path: ("peer", "number") -> "peer.number"."""
    return ".".join(str(p) for p in loc) if loc else None


def validation_error(e: ValidationError) -> Response:
    """The framework's validation errors in the one error shape, naming the (first) field."""
    problems = e.errors(include_url=False, include_context=False, include_input=False)
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    field = _field(first.get("loc", ()))
    if field is None:
        message = ("the request body must be a JSON object" if first.get("type") in
                   ("model_type", "model_attributes_type", "dict_type") else first["msg"])
    else:
        message = f"{field}: {first['msg']}"
    err = errors.InvalidField(message, field)
    if len(problems) > 1:
        err.details["problems"] = [{"field": _field(p.get("loc", ())), "message": p["msg"]}
                                   for p in problems]
    return error_response(err)


def as_request_error(e: BaseException) -> RequestError:
    """Any exception a view lets out, as the RequestError a client gets."""
    if isinstance(e, RequestError):
        return e
    if isinstance(e, InvalidArgument):   # a service let a command-line check through
        return errors.InvalidField(str(e))
    if isinstance(e, ChannelGone):
        return errors.CallNotFound(f"the call is gone: {e}", "call_id")
    if isinstance(e, EslError):
        return errors.SwitchUnavailable(f"the switch did not answer: {e}")
    if isinstance(e, DatabaseDown):
        return errors.DatabaseUnavailable(str(e))
    status = getattr(e, "http_status", None)
    if isinstance(e, FscontrolError):   # one line meant for a user; park's carry their status
        err = RequestError(str(e))
        err.id = e.id
        err.kind = {v: k for k, v in errors.STATUS.items()}.get(status or 500, "internal")
        return err
    log.exception("api: %s %s failed", request.method, request.path, exc_info=e)
    return errors.Internal("internal error (the controller's log has the details)")


def create_app(ctx: ApiContext) -> OpenAPI:
    app = OpenAPI(
        __name__,
        info=Info(title="fscontrol", version="1",
                  description="Call Via Work, call control, Call Park, pickup groups, history and "
                              "live call events of one FreeSWITCH site."),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer",
                                     "description": "fscontrol token create"}},
        responses={401: ErrorOut, 422: ErrorOut},
        validation_error_status=422,
        validation_error_model=ErrorOut,
        validation_error_callback=validation_error,
        doc_ui=False,
    )
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["fscontrol"] = ctx

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        path = request.path
        if (path in PUBLIC or path == CONSOLE or path.startswith(CONSOLE + "/")
                or (path == "/metrics" and ctx.config.api.metrics_public)):
            return None
        principal = authenticate(ctx)
        if path == "/metrics" and not principal.admin:
            raise errors.Forbidden("/metrics needs an admin token (or api.metrics_public = true)")
        return None

    @app.after_request
    def _observe(response):
        started = g.get("started")
        if started is not None:
            # labels from a bounded set only: a client choosing paths or methods must not grow
            # the metric without end
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            method = request.method if request.method in METHODS else "other"
            metrics.api_latency.labels(method, rule, str(response.status_code)).observe(
                time.perf_counter() - started)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if e.response is not None:      # the validation callback's response, via abort()
            return e.response
        if e.code is not None and 300 <= e.code < 400:   # werkzeug's trailing-slash redirect
            return e.get_response()
        if e.code == 404:
            return error_response(errors.RouteNotFound(f"no such route: {request.path}"))
        if e.code == 405:
            response = error_response(errors.MethodNotAllowed(
                f"{request.method} is not allowed on {request.path}"))
            response.headers["Allow"] = ", ".join(sorted(e.valid_methods or ()))
            return response
        err = errors.BadRequest(e.description or e.name)
        response = error_response(err)
        response.status_code = e.code or 400
        return response

    @app.errorhandler(Exception)
    def _any(e: Exception):
        return error_response(as_request_error(e))

    @app.get(OPENAPI_PATH, doc_ui=False)
    def openapi_document():
        return jsonify(app.api_doc)

    from . import board, calls, console, events, history, ops, parked, voicemail
    for module in (calls, parked, board, history, events, voicemail):
        app.register_api(module.blueprint(ctx))
    ops.register(app, ctx)
    console.register(app)
    return app


def authenticate(ctx: ApiContext) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise errors.Unauthorized("an API token is needed: Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized("the Authorization header must be 'Bearer <token>'")
    found = ctx.tokens.verify(token.strip())
    g.principal = Principal(found.id, found.user, found.admin)
    return g.principal


def principal() -> Principal:
    return g.principal
