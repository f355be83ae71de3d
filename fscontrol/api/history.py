"""/api/v1/history: the user's rows of call_log (every feature's audit trail) on this switch,
newest first. A row is the user's when its details name the user (`user`, the Call Via Work user; `parker`;
`picker`; `member`, whose call was picked up), or when it is a Call Via Work call to the user's
extension (`destination`)."""

from __future__ import annotations

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .calls import ERRORS
from .context import ApiContext
from .errors import Forbidden
from .schemas import HistoryList, HistoryQuery

USER_KEYS = ("user", "parker", "picker", "member")
# and a Call Via Work call placed to the user's extension (the callee's history has it too, as
# Call Via Work's own history does: fscontrol.callviawork.store)
MINE = ("(" + " OR ".join(f"details->>'{k}' = %(user)s" for k in USER_KEYS)
        + " OR (feature = 'call_via_work' AND details->>'destination' = %(user)s))")


def rows(ctx: ApiContext, user: str | None, limit: int, before: int | None) -> list[dict]:
    # this switch's rows (a database may serve several switches), and rows of no switch
    where = ["(switch = %(switch)s OR switch IS NULL)"]
    params = {"limit": limit, "switch": ctx.config.switch.identity}
    if user is not None:
        where.append(MINE)
        params["user"] = user
    if before is not None:
        where.append("id < %(before)s")
        params["before"] = before
    sql = ("SELECT id, at, feature, action, channel_uuid, other_uuid, orbit, details FROM call_log"
           " WHERE " + " AND ".join(where) + " ORDER BY id DESC LIMIT %(limit)s")
    found = ctx.tokens.run(lambda c: c.execute(sql, params).fetchall())
    return [{**r, "at": r["at"].isoformat()} for r in found]


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("history", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="history", description="the call log")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    @bp.get("/history", responses={200: HistoryList})
    def history(query: HistoryQuery):
        """The user's call log, newest first.

        Admin: everyone's, or ?user=; page with ?before=<the last id seen>."""
        who = principal()
        if query.user and not who.admin and query.user != who.user:
            raise Forbidden(f"user: this token sees only user {who.user}'s history", "user")
        return jsonify({"history": rows(ctx, query.user or who.scope, query.limit, query.before)})

    return bp
