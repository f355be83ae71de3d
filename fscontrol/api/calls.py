"""/api/v1/calls and /api/v1/conferences: Call Via Work placements and mid-call control, a thin
layer over `controller.feature("callviawork")` (.service, .control) and the call tracker
(`controller.feature("calls").tracker`). Authorisation is here: a user token acts only on calls
whose leg is its user's (`tracker.user_of`)."""

from __future__ import annotations

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .context import ApiContext
from .errors import CallIdTaken, CallNotFound, Forbidden
from .schemas import (CallList, CallOut, CallPath, CallsQuery, DialIn, Done, ErrorOut, Orbit,
                      PlaceCall, PlacementOut, RoomPath, Transfer)

ENDED = {"ended", "failed", "cancelled"}
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut}


def _placement_dict(placement) -> dict | None:
    return placement.to_dict() if placement is not None else None


def _from_placement(p: dict) -> dict:
    """A call as clients see it, from a placement the tracker no longer (or not yet) knows."""
    return {"id": p["id"], "user": p["user"],
            "state": "ended" if p["state"] in ENDED else
                     "talking" if p["state"] == "connected" else "ringing",
            "direction": "outbound", "peer": {"number": p["destination"], "name": None},
            "peer_id": p.get("destination_leg"), "started_at": p.get("created_at"),
            "answered_at": None, "ended_at": None, "reason": p.get("outcome"), "orbit": None,
            "via": "call_via_work", "placement": p}


def placement(ctx: ApiContext, call_id: str):
    """Call Via Work's placement of that id, or None (also when the build has no Call Via Work)."""
    service = getattr(ctx.active().feature("callviawork"), "service", None)
    return service.get(call_id) if service is not None else None


def authorize_call(ctx: ApiContext, call_id: str) -> str | None:
    """The user of call `call_id` (a leg the call tracker follows, or a Call Via Work placement),
    checked against the request's token: CallNotFound (404) when there is no such call,
    Forbidden (403) when it is not the token's user's."""
    tracker = ctx.feature("calls").tracker
    owner = tracker.user_of(call_id)
    if owner is None:
        found = placement(ctx, call_id)
        if found is None and tracker.get(call_id) is None:
            raise CallNotFound(f"no call {call_id}", "call_id")
        owner = found.user if found is not None else None
    if not principal().may_see(owner):
        raise Forbidden(f"call {call_id} is not a call of user {principal().user}", "call_id")
    return owner


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("calls", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="calls", description="click-to-call and call control")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    def tracker():
        return ctx.feature("calls").tracker

    def cvw():
        return ctx.feature("callviawork")

    @bp.post("/calls", responses={202: PlacementOut})
    def place_call(body: PlaceCall):
        """Place a Call Via Work call.

        The user's phone rings first (showing the Call Via Work caller ID); once answered, the
        destination is called with the user's own caller ID and the two are bridged."""
        who = principal()
        user = ctx.known_user(who.acting_for(body.user))
        if body.id is not None and (tracker().get(body.id) or placement(ctx, body.id)):
            raise CallIdTaken(f"id: {body.id} is already a call's id", "id")
        placed = cvw().service.place(user, body.destination, callback=body.callback,
                                     call_id=body.id)
        response = jsonify(placed.to_dict())
        response.status_code = 202
        response.headers["Location"] = f"{PREFIX}/calls/{placed.id}"
        return response

    @bp.get("/calls", responses={200: CallList})
    def list_calls(query: CallsQuery):
        """The current calls of the token's user (admin: everyone's, or ?user=)."""
        who = principal()
        if query.user and not who.admin and query.user != who.user:
            raise Forbidden(f"user: this token sees only user {who.user}'s calls", "user")
        scope = query.user if query.user else who.scope
        return jsonify({"calls": tracker().snapshot(scope)})

    @bp.get("/calls/<string:call_id>", responses={200: CallOut})
    def get_call(path: CallPath):
        """One call (with its Call Via Work placement, when it was placed so)."""
        authorize_call(ctx, path.call_id)
        call = tracker().get(path.call_id)
        placed = _placement_dict(placement(ctx, path.call_id))
        if call is None:
            return jsonify(_from_placement(placed))
        return jsonify({**call, "placement": placed})

    @bp.delete("/calls/<string:call_id>", responses={200: Done})
    def end_call(path: CallPath):
        """Cancel a placement that is still ringing, or hang up the call."""
        authorize_call(ctx, path.call_id)
        placed = placement(ctx, path.call_id)
        if placed is not None and placed.to_dict()["state"] in ("ringing_user",
                                                                "calling_destination"):
            cvw().service.cancel(path.call_id)
            return jsonify({"id": path.call_id, "done": "cancelled"})
        if tracker().get(path.call_id) is None:
            raise CallNotFound(f"call {path.call_id} has ended", "call_id")
        cvw().control.hangup(path.call_id)
        return jsonify({"id": path.call_id, "done": "hung_up"})

    @bp.post("/calls/<string:call_id>/hold", responses={200: Done})
    def hold_call(path: CallPath):
        """Put the call on hold (the other party hears hold music)."""
        authorize_call(ctx, path.call_id)
        cvw().control.hold(path.call_id)
        return jsonify({"id": path.call_id, "done": "held"})

    @bp.post("/calls/<string:call_id>/resume", responses={200: Done})
    def resume_call(path: CallPath):
        """Take the call off hold."""
        authorize_call(ctx, path.call_id)
        cvw().control.resume(path.call_id)
        return jsonify({"id": path.call_id, "done": "resumed"})

    @bp.post("/calls/<string:call_id>/transfer", responses={200: Done})
    def transfer_call(path: CallPath, body: Transfer):
        """Blind-transfer the other party to `target`; the user's leg ends."""
        authorize_call(ctx, path.call_id)
        cvw().control.transfer(path.call_id, body.target)
        return jsonify({"id": path.call_id, "done": "transferred"})

    @bp.post("/calls/<string:call_id>/park", responses={200: Orbit})
    def park_call(path: CallPath):
        """Park the other party in a free orbit (Call Park); answers the orbit."""
        authorize_call(ctx, path.call_id)
        return jsonify({"orbit": cvw().control.park(path.call_id)})

    @bp.post("/conferences/<string:room>/dial", responses={202: PlacementOut})
    def dial_into_conference(path: RoomPath, body: DialIn):
        """Ring the user's phone and join it to conference `room` when answered."""
        user = ctx.known_user(principal().acting_for(body.user))
        placed = cvw().control.dial_into_conference(path.room, user)
        response = jsonify(placed.to_dict())
        response.status_code = 202
        return response

    return bp
