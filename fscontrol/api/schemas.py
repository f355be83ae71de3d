"""The HTTP API's request and response schemas (pydantic): the same classes validate requests
and make the OpenAPI document (flask-openapi3 reads them), so the two never disagree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# what the services accept, roughly: they check again (and name the field) before anything is
# sent to the switch; these bounds keep nonsense out at the edge
CALL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"        # a channel uuid (fscontrol.esl.commands)
EXTENSION = r"^[0-9]{2,9}$"                              # users[].extension
ORBIT = r"^[0-9*#]{1,16}$"
ROOM = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
NUMBER = r"^\+?[0-9*#]{1,32}$"                          # what Call Via Work dials


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------
class ErrorOut(BaseModel):
    """Every error: a stable code, a one-line message, the request field at fault (if any)."""

    error: str = Field(description="stable code, e.g. destination_not_allowed")
    message: str
    field: str | None = Field(None, description="the request field at fault")


# -- calls -------------------------------------------------------------------------------------
class Peer(BaseModel):
    number: str | None = None
    name: str | None = None


class PlacementOut(BaseModel):
    """A Call Via Work placement: the user's phone first, then the destination."""

    id: str
    user: str
    destination: str
    state: str = Field(description="ringing_user, calling_destination, connected, ended, failed, "
                                   "cancelled")
    outcome: str | None = Field(None, description="user_busy, user_no_answer, user_rejected, "
                                                  "destination_busy, destination_no_answer, "
                                                  "destination_failed, ...")
    user_leg: str | None = None
    destination_leg: str | None = None
    created_at: str | None = None


class CallOut(BaseModel):
    """One leg of a user's phone, as that user sees it."""

    id: str
    user: str | None = None
    state: Literal["ringing", "talking", "held", "ended"]
    direction: Literal["inbound", "outbound"] | None = None
    peer: Peer | None = None
    peer_id: str | None = None
    started_at: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    reason: str | None = None
    orbit: str | None = None
    via: str | None = None
    placement: PlacementOut | None = Field(None, description="when placed by Call Via Work")


class CallList(BaseModel):
    calls: list[CallOut]


class PlaceCall(Strict):
    destination: str = Field(pattern=NUMBER, description="the number to call (digits, * #, an "
                                                         "optional leading +)")
    callback: str | None = Field(None, min_length=1, max_length=64,
                                 description="the device to ring first, when the policy lets "
                                             "the user choose (call_via_work.user_callback)")
    id: str | None = Field(None, pattern=CALL_ID,
                           description="a client-chosen id (uuid) for the call")
    user: str | None = Field(None, pattern=EXTENSION,
                             description="whose phone rings first: an admin token must say, a "
                                         "user token may only name its own user")


class CallPath(BaseModel):
    call_id: str = Field(pattern=CALL_ID)


class CallsQuery(Strict):
    user: str | None = Field(None, pattern=EXTENSION, description="admin only: one user's calls")


class Transfer(Strict):
    target: str = Field(pattern=NUMBER, description="number or extension")


class Orbit(BaseModel):
    orbit: str


class Done(BaseModel):
    id: str
    done: str


# -- parked calls ------------------------------------------------------------------------------
class ParkedOut(BaseModel):
    orbit: str
    call_id: str
    caller_name: str
    caller_number: str
    parker: str | None
    state: Literal["parked", "ringing_back"]
    attempts: int
    parked_at: str
    range: str | None = None
    deadline: str | None = Field(None, description="when the ring-back (or the next step) is due")
    ringback_in: float | None = Field(None, description="seconds to the ring-back (parked only)")


class ParkedList(BaseModel):
    parked: list[ParkedOut]


class OrbitPath(BaseModel):
    orbit: str = Field(pattern=ORBIT)


class Retrieve(Strict):
    user: str | None = Field(None, pattern=EXTENSION,
                             description="whose phone rings to take the call (admin: required)")


class Retrieving(BaseModel):
    orbit: str
    user: str
    call_id: str = Field(description="the new leg ringing the user's phone")


class ParkCall(Strict):
    call_id: str = Field(pattern=CALL_ID)


# -- conferences -------------------------------------------------------------------------------
class RoomPath(BaseModel):
    room: str = Field(pattern=ROOM)


class DialIn(Strict):
    user: str | None = Field(None, pattern=EXTENSION,
                             description="whose phone rings into the room (admin: required)")


# -- history -----------------------------------------------------------------------------------
class HistoryQuery(Strict):
    user: str | None = Field(None, pattern=EXTENSION, description="admin only: one user's rows")
    limit: int = Field(50, ge=1, le=500)
    before: int | None = Field(None, ge=1, le=2**62, description="rows older than this id")


class HistoryRow(BaseModel):
    id: int
    at: str
    feature: str
    action: str
    channel_uuid: str | None
    other_uuid: str | None
    orbit: str | None
    details: dict


class HistoryList(BaseModel):
    history: list[HistoryRow]


# -- pickup ------------------------------------------------------------------------------------
class RingingOut(BaseModel):
    member: str
    call_id: str
    caller_name: str
    caller_number: str
    ringing_for: float = Field(description="seconds")


class PickupGroupOut(BaseModel):
    number: str
    members: list[str]
    pickers: str
    ringing: list[RingingOut]


class PickupGroups(BaseModel):
    groups: list[PickupGroupOut]


# -- the console's board -----------------------------------------------------------------------
class OrbitRangeOut(BaseModel):
    name: str
    start: str
    end: str
    size: int
    orbits: list[str] | None = Field(description="every orbit of the range (null: too many to "
                                                 "list; the occupied ones are in `parked`)")


class UserState(BaseModel):
    extension: str
    name: str
    state: Literal["idle", "ringing", "talking"]


class Board(BaseModel):
    ranges: list[OrbitRangeOut]
    parked: list[ParkedOut]
    groups: list[PickupGroupOut]
    users: list[UserState]


class Me(BaseModel):
    user: str | None = Field(description="the token's user (null: an admin token)")
    name: str | None = None
    admin: bool


class PickupTo(Strict):
    group: str | None = Field(None, pattern=ORBIT, description="a pickup group's number")
    member: str | None = Field(None, pattern=EXTENSION,
                               description="a user whose ringing call to take (directed pickup)")
    user: str | None = Field(None, pattern=EXTENSION,
                             description="whose phone rings to take the call (admin: required)")


class PickingUp(BaseModel):
    user: str
    group: str | None
    member: str | None
    call_id: str = Field(description="the new leg ringing the user's phone")


# -- events ------------------------------------------------------------------------------------
class EventsQuery(Strict):
    last_event_id: int | None = Field(None, ge=0, le=2**62,
                                      description="resume after this id (the Last-Event-ID "
                                                  "header wins)")
    board: bool = Field(False, description="also send `board` events (GET /api/v1/board) "
                                           "whenever the board changes, the first at once")


# -- operations --------------------------------------------------------------------------------
class Health(BaseModel):
    status: str


class Ready(BaseModel):
    ready: bool
    active: bool = Field(description="this controller holds the switch (false: standby)")
    esl: bool
    database: bool


# -- voicemail ---------------------------------------------------------------------------------
class MessageCaller(BaseModel):
    number: str
    name: str


class MessageEmail(BaseModel):
    state: Literal["none", "queued", "sent", "failed"]
    reply: str | None = Field(None, description="the mail server's last reply (250 ..., 451 ...)")
    attempts: int
    sent_at: str | None


class MessageOut(BaseModel):
    id: int
    box: str
    kind: Literal["message", "missed"] = Field(description="missed: a missed-call notice, no audio")
    caller: MessageCaller
    received_at: str
    duration_ms: int
    state: Literal["new", "saved", "deleted"]
    audio: bool = Field(description="the audio can be downloaded (GET .../audio)")
    sha256: str | None
    email: MessageEmail


class MessageList(BaseModel):
    messages: list[MessageOut]


class MessagesQuery(Strict):
    user: str | None = Field(None, pattern=EXTENSION,
                             description="whose box (admin: required; a user token: its own)")


class MessagePath(BaseModel):
    message_id: int = Field(ge=1, le=2**62)


class GreetingOut(BaseModel):
    box: str
    custom: bool = Field(description="true: the box's own greeting (recorded by phone or uploaded); "
                                     "false: the default, voicemail.prompt_greeting")
    duration_ms: int | None = Field(description="the box's own greeting's length")
    sample_rate: int | None = Field(description="8000 or 16000 (Hz)")
    sha256: str | None = Field(description="of the WAV file (GET .../greeting/audio)")
    default: str | None = Field(description="what plays instead when custom is false")
