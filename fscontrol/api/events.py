"""GET /api/v1/events: live call events as Server-Sent Events, scoped to the token's user (admin:
everyone's). A stream starts with a `snapshot` of the current calls, then carries the bus's
events with their ids; `Last-Event-ID` resumes (the missed events, or a fresh snapshot when they
left the buffer). A client that stops reading is dropped by the bus, never waited for; every
stream ends when its controller stops being the active one (the client reconnects elsewhere)."""

from __future__ import annotations

import json
import logging
import time

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag

from ..bus import Dropped
from .app import PREFIX, principal
from .board import board, changing_part
from .calls import ERRORS
from .context import ApiContext
from .errors import InvalidField, TooManyStreams
from .schemas import EventsQuery

log = logging.getLogger("fscontrol.api")

BOARD_SETTLE = 0.3    # seconds after an event the board is looked at again


def frame(kind: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def _last_event_id(query: EventsQuery) -> int | None:
    header = request.headers.get("Last-Event-ID")
    if header is None or header == "":
        return query.last_event_id
    if not header.isdigit() or len(header) > 19:
        raise InvalidField("Last-Event-ID: not an event id of this stream", "Last-Event-ID")
    return int(header)


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("events", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="events", description="live call events (SSE)")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    @bp.get("/events", responses={200: {"description": "text/event-stream: `snapshot` "
                                                       "{calls: [...]}, then call events"}})
    def events(query: EventsQuery):
        """Live call events (Server-Sent Events).

        A `snapshot` first, then `call_created`, `call_ringing`, `call_answered`,
        `call_updated`, `call_ended`, `call_parked`, `call_retrieved`, `call_picked_up`;
        resumable with `Last-Event-ID`."""
        scope = principal().scope
        last_id = _last_event_id(query)
        tracker = ctx.feature("calls").tracker
        controller = ctx.active()
        bus = controller.bus
        if bus.subscribers >= ctx.config.api.max_streams:
            raise TooManyStreams(f"{bus.subscribers} event streams are open, the most "
                                 f"api.max_streams allows; try again later")
        heartbeat = ctx.config.api.heartbeat
        who = principal()
        with_board = query.board
        newest = bus.last_id
        # with the board, every event may change it (someone else's call rings, an orbit
        # fills): the subscription sees all, and only the user's own events are sent on
        sub, missed = bus.subscribe(None if with_board else scope, last_id)
        if last_id is not None and (newest is None or last_id > newest):
            missed = None          # an id this stream never gave (another run's): start afresh
        if missed is not None and with_board:
            missed = [e for e in missed if e.visible_to(scope)]
        # taken with no switch to another greenlet since subscribe: nothing falls in between
        opening = ([frame("snapshot", {"calls": tracker.snapshot(scope)}, newest)]
                   if missed is None else [frame(e.kind, e.call, e.id) for e in missed])
        sent = {}

        def board_frame(look: str = "event") -> str:
            """The board as a frame when it changed since the last one sent, else ""."""
            try:
                now = board(ctx, who, look)
            except Exception as e:     # the calls still stream: the board waits for the next
                log.warning("api: board of %s not sent: %s", scope or "admin", e)
                return ""
            key = changing_part(now)
            if key == sent.get("board"):
                return ""
            sent["board"] = key
            return frame("board", now)

        def stream():
            try:
                yield "retry: 2000\n" + "".join(opening) + (board_frame() if with_board else "")
                quiet_until = time.monotonic() + heartbeat
                recheck = False
                while True:
                    wait = max(0.0, quiet_until - time.monotonic())
                    try:
                        event = sub.get(timeout=min(wait, BOARD_SETTLE) if recheck else wait)
                    except Dropped:
                        log.info("api: event stream of %s dropped: it fell behind",
                                 scope or "admin")
                        return
                    if ctx.controller is not controller:   # stepped down: nothing more comes
                        log.info("api: event stream of %s closed: this controller is no longer "
                                 "active", scope or "admin")
                        return
                    out = ""
                    if event is not None and event.visible_to(scope):
                        out = frame(event.kind, event.call, event.id)
                    if with_board:
                        # now, and once more a moment later: a feature may finish its change
                        # (an orbit's row freed) just after the event that announced it
                        if event is not None or recheck:
                            out += board_frame("event" if event is not None else "settle")
                        recheck = event is not None
                    if event is None and time.monotonic() >= quiet_until:
                        out += ": keep-alive\n\n"
                    if out:
                        quiet_until = time.monotonic() + heartbeat
                        yield out
            finally:
                sub.close()

        return Response(stream(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return bp
