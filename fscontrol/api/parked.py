"""/api/v1/parked and /api/v1/pickup-groups: Call Park's parked calls (shared, as on the phones:
anyone may see and retrieve them) and the pickup groups with what rings in them."""

from __future__ import annotations

import time

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .calls import ERRORS, authorize_call
from .context import ApiContext
from .schemas import Orbit, OrbitPath, ParkCall, ParkedList, PickupGroups, Retrieve, Retrieving


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("parked", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="parked", description="Call Park and group pickup")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    @bp.get("/parked", responses={200: ParkedList})
    def list_parked():
        """Every call parked on this switch (orbits are shared: any user may retrieve one)."""
        rows = ctx.service("park").store.all()
        return jsonify({"parked": [
            {"orbit": c.orbit, "call_id": c.channel_uuid, "caller_name": c.caller_name,
             "caller_number": c.caller_number, "parker": c.parker, "state": c.state.value,
             "attempts": c.attempts, "parked_at": c.parked_at.isoformat()} for c in rows]})

    @bp.post("/parked/<string:orbit>/retrieve", responses={202: Retrieving})
    def retrieve_parked(path: OrbitPath, body: Retrieve):
        """Retrieve a parked call to the user's phone.

        The phone rings; answered, it is connected to the call parked at `orbit` (as if the
        user had dialled the orbit)."""
        user = ctx.known_user(principal().acting_for(body.user))
        leg = ctx.service("park").retrieve_to_phone(user, path.orbit)
        response = jsonify({"orbit": path.orbit, "user": user, "call_id": leg})
        response.status_code = 202
        return response

    @bp.post("/parked", responses={200: Orbit})
    def park(body: ParkCall):
        """Park the other party of one of the user's calls; answers the orbit."""
        authorize_call(ctx, body.call_id)
        return jsonify({"orbit": ctx.feature("callviawork").control.park(body.call_id)})

    @bp.get("/pickup-groups", responses={200: PickupGroups})
    def pickup_groups():
        """Pickup groups with their ringing calls.

        The groups the user is in or may pick up from (admin: all), with the calls ringing in
        each, longest-ringing first."""
        service = ctx.service("pickup")
        who = principal()
        now = time.time()           # Ringing.since: the switch's creation time (epoch)
        out = []
        for number, group in sorted(service.groups_now().items()):
            if not who.admin and who.user not in group.members and not group.may_pick(who.user):
                continue
            ringing = [{"member": r.member, "call_id": r.leg, "caller_name": r.caller_name,
                        "caller_number": r.caller_number,
                        "ringing_for": round(max(0.0, now - r.since), 3)}
                       for r in service.ringing(group.members)]
            out.append({"number": number, "members": sorted(group.members),
                        "pickers": group.pickers, "ringing": ringing})
        return jsonify({"groups": out})

    return bp
