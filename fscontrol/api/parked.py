"""/api/v1/parked and /api/v1/pickup-groups: Call Park's parked calls (shared, as on the phones:
anyone may see and retrieve them) and the pickup groups with what rings in them."""

from __future__ import annotations

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
        from .board import parked_rows
        return jsonify({"parked": parked_rows(ctx)})

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
        from .board import pickup_groups as groups
        return jsonify({"groups": groups(ctx, principal())})

    return bp
