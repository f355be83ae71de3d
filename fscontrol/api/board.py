"""/api/v1/board and /api/v1/pickup: what an attendant console shows besides its own calls (the
park orbits as a board, the pickup groups with what rings in them, every user's state like a BLF
panel), and picking up a ringing call to the user's own phone.

What a user token sees here is what the desk phones show everyone already: the orbits are
shared, a user's state is a BLF lamp (idle, ringing, talking: never who with), and the ringing
calls of the groups the user is in or may pick up from. The board is sent on the event stream
too (`GET /api/v1/events?board=true`), whenever it changed."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import gevent.event
from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .calls import ERRORS
from .context import ApiContext, Principal
from .errors import InvalidField
from .schemas import Board, Me, PickupTo, PickingUp

BOARD_ORBITS = 200      # a range larger than this lists only its occupied orbits


def parked_rows(ctx: ApiContext) -> list[dict]:
    now = datetime.now(timezone.utc)
    out = []
    for c in ctx.service("park").store.all():
        due = c.deadline if c.deadline.tzinfo else c.deadline.replace(tzinfo=timezone.utc)
        out.append({"orbit": c.orbit, "range": c.range_name, "call_id": c.channel_uuid,
                    "caller_name": c.caller_name, "caller_number": c.caller_number,
                    "parker": c.parker, "state": c.state.value, "attempts": c.attempts,
                    "parked_at": c.parked_at.isoformat(), "deadline": due.isoformat(),
                    "ringback_in": (round(max(0.0, (due - now).total_seconds()), 1)
                                    if c.state.value == "parked" else None)})
    return out


def ranges(ctx: ApiContext) -> list[dict]:
    out = []
    for r in ctx.config.ranges("park"):
        numbers = r.numbers
        out.append({"name": r.name, "start": r.start, "end": r.end, "size": numbers.size,
                    "orbits": list(numbers) if numbers.size <= BOARD_ORBITS else None})
    return out


def user_states(ctx: ApiContext) -> list[dict]:
    """Each configured user's lamp: ringing when a call rings their phone (and none is up),
    talking while one is up (held counts), else idle."""
    state = {u.extension: "idle" for u in ctx.config.users}
    for call in ctx.feature("calls").tracker.snapshot(None):
        user = call.get("user")
        if user not in state:
            continue
        if call["state"] in ("talking", "held"):
            state[user] = "talking"
        elif call["state"] == "ringing" and state[user] == "idle":
            state[user] = "ringing"
    return [{"extension": u.extension, "name": u.name or u.extension, "state": state[u.extension]}
            for u in ctx.config.users]


def all_groups(ctx: ApiContext) -> list[tuple]:
    """(group, its ringing calls as clients see them) for every pickup group."""
    service = ctx.service("pickup")
    now = time.time()           # Ringing.since: the switch's creation time (epoch)
    out = []
    for number, group in sorted(service.groups_now().items()):
        ringing = [{"member": r.member, "call_id": r.leg, "caller_name": r.caller_name,
                    "caller_number": r.caller_number,
                    "ringing_for": round(max(0.0, now - r.since), 3)}
                   for r in service.ringing(group.members)]
        out.append((group, {"number": number, "members": sorted(group.members),
                            "pickers": group.pickers, "ringing": ringing}))
    return out


def visible_groups(groups: list[tuple], who: Principal) -> list[dict]:
    """The groups `who` is in or may pick up from (an admin: all)."""
    return [shown for group, shown in groups
            if who.admin or who.user in group.members or group.may_pick(who.user)]


def pickup_groups(ctx: ApiContext, who: Principal) -> list[dict]:
    return visible_groups(all_groups(ctx), who)


def _shared(ctx: ApiContext, look: str | None) -> dict:
    """What every viewer's board is made of, read once per event and `look` for all the open
    consoles (each event makes each board stream look twice, at once and a moment later:
    without this every stream would read the parked calls and the groups itself). `look`
    None: read now, shared with nobody."""
    controller = ctx.active()
    if look is None:
        return _read(ctx, controller)
    key = (id(controller), controller.bus.last_id, look)
    cached = ctx.board_cache
    if cached is not None and cached[0] == key:
        return cached[1].get()      # read by another stream (or being read: wait for it)
    pending = gevent.event.AsyncResult()
    ctx.board_cache = (key, pending)
    try:
        pending.set(_read(ctx, controller))
    except BaseException as e:
        pending.set_exception(e)       # the streams waiting on it skip this board
        if ctx.board_cache is not None and ctx.board_cache[1] is pending:
            ctx.board_cache = None
        raise
    return pending.get()


def _read(ctx: ApiContext, controller) -> dict:
    return {"ranges": ranges(ctx) if controller.feature("park") else [],
            "parked": parked_rows(ctx) if controller.feature("park") else [],
            "groups": all_groups(ctx) if controller.feature("pickup") else [],
            "users": user_states(ctx)}


def board(ctx: ApiContext, who: Principal, look: str | None = None) -> dict:
    """The whole board as `who` may see it (a feature this build lacks gives an empty part).
    `look` ("event": right after the newest event, "settle": a moment later) lets the event
    streams share one read; None (a GET) reads now."""
    parts = _shared(ctx, look)
    return {**parts, "groups": visible_groups(parts["groups"], who)}


def changing_part(b: dict) -> dict:
    """The board without what changes by itself as time passes (for "did it change?")."""
    return {**b, "parked": [{k: v for k, v in p.items() if k != "ringback_in"}
                            for p in b["parked"]],
            "groups": [{**g, "ringing": [{k: v for k, v in r.items() if k != "ringing_for"}
                                         for r in g["ringing"]]} for g in b["groups"]]}


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("board", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="board", description="the attendant console's board")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    @bp.get("/board", responses={200: Board})
    def get_board():
        """The park orbits, the pickup groups with their ringing calls, every user's state.

        Orbits are shared (as on the phones); a user's state is idle, ringing or talking (a BLF
        lamp, never who with); a user token sees the groups it is in or may pick up from."""
        return jsonify(board(ctx, principal()))

    @bp.get("/me", responses={200: Me})
    def me():
        """Who the token acts for: its user (with the configured name), or an admin token."""
        who = principal()
        name = next((u.name for u in ctx.config.users if u.extension == who.user), None)
        return jsonify({"user": who.user, "name": name or who.user, "admin": who.admin})

    @bp.post("/pickup", responses={202: PickingUp})
    def pickup(body: PickupTo):
        """Pick up a ringing call to the user's phone.

        The phone rings; answered, it takes the longest-ringing call of `group` (a group's
        number) or the call ringing for `member` (directed pickup), as dialling it would."""
        if (body.group is None) == (body.member is None):
            raise InvalidField("group: name a group or a member (one of the two)", "group")
        user = ctx.known_user(principal().acting_for(body.user))
        if body.member is not None:
            ctx.known_user(body.member, "member")
        leg = ctx.service("pickup").pickup_to_phone(user, group=body.group, member=body.member)
        response = jsonify({"user": user, "group": body.group, "member": body.member,
                            "call_id": leg})
        response.status_code = 202
        return response

    return bp
