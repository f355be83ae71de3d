"""Operations endpoints: /healthz (the process answers), /readyz (this controller is active, its
event socket connected and its database reachable), /metrics (Prometheus exposition of
fscontrol.metrics.REGISTRY; an admin token unless `api.metrics_public`)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3 import Tag
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import metrics
from .context import ApiContext
from .schemas import ErrorOut, Health, Ready

TAG = Tag(name="operations", description="health, readiness and metrics")


def register(app, ctx: ApiContext) -> None:
    @app.get("/healthz", tags=[TAG], responses={200: Health})
    def healthz():
        """The process is up (also while standby)."""
        return jsonify({"status": "ok"})

    @app.get("/readyz", tags=[TAG], responses={200: Ready, 503: Ready})
    def readyz():
        """Ready to serve calls: active (not standby), ESL connected, database reachable."""
        controller = ctx.controller
        esl = bool(controller is not None and controller.esl.connected)
        database = ctx.tokens.ping()
        ready = esl and database
        response = jsonify({"ready": ready, "active": controller is not None, "esl": esl,
                            "database": database})
        response.status_code = 200 if ready else 503
        return response

    @app.get("/metrics", tags=[TAG], security=[{"bearer": []}],
             responses={200: {"description": "Prometheus text exposition"}, 401: ErrorOut,
                        403: ErrorOut})
    def prometheus():
        """Prometheus metrics (admin token, unless api.metrics_public = true)."""
        return Response(generate_latest(metrics.REGISTRY), mimetype=None,
                        headers={"Content-Type": CONTENT_TYPE_LATEST})
