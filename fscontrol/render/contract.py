"""The contract between the rendered dialplan and the controller: the channel variables the
dialplan sets, their values, the custom event it fires and the files it produces. Templates get
these names from here (as `c.<NAME>`), and so does the controller, so neither spells them twice.

What the controller sees, per `fscontrol_action` (always on a CHANNEL_PARK of the channel, read
as `variable_<name>` in its events, except `park_dtmf`):

- `park`: the channel dialled (or was transferred to) the park code. Answered and parked. Park
  it: allocate an orbit, hold music, announce the orbit to the parker.
- `retrieve`: the channel dialled an orbit number; `fscontrol_orbit` holds it (with its * or #
  prefix). Answered and parked. Bridge it to the call parked there, or say the orbit is empty.
- `pickup`: the channel dialled a group pickup number; `fscontrol_pickup_number` holds it.
  Answered and parked. Intercept a call ringing for a member of that group (or say none rings).
- `directed_pickup`: the channel dialled the directed pickup code + an extension;
  `fscontrol_target` holds the extension. Answered and parked. Intercept the call ringing there.
- `park_dtmf`: someone pressed `park.dtmf_code` in a bridged call that our dialplan bridged to a
  user. Not parked: the pressing leg fires CUSTOM `fscontrol::park_dtmf` (its `Unique-ID` is the
  parker; the party to park is its bridge peer, `variable_bridge_uuid` / `Other-Leg-Unique-ID`)
  and stays bridged until the controller acts. The controller decides whether the presser may park.
- `attendant`: the channel dialled an auto attendant's number; `fscontrol_attendant` holds it.
  Answered and parked. Run the attendant's menu (the schedule decides which one) over ESL.
- `voicemail_leave`: a call to a user failed (no answer, busy, unregistered); `fscontrol_box`
  holds the user's extension. Answered and parked. Leave a message: greeting, beep, record.
  The park fallback `voicemail:<box>` sends a call here too (inline: the same variables).
- `voicemail_check`: the channel dialled the voicemail code (`features.voicemail`): answered
  and parked; log the caller into their own box (PIN) and play their messages.
- `voicemail_pilot`: the channel dialled `voicemail.pilot`: as `voicemail_check`, but the caller
  first says which box.
- `voicemail`: only with `voicemail.enabled = false`: FreeSWITCH's mod_voicemail handles the
  voicemail code and unanswered calls (informational only).

Calls to users: the dialplan exports `fscontrol_dialed_extension` (so both the caller's leg and
the ringing leg carry it — what the pickup features search for), binds the park DTMF and bridges
to the user's dial string, with voicemail on no answer.
"""

from __future__ import annotations

VAR_ACTION = "fscontrol_action"
VAR_ORBIT = "fscontrol_orbit"
VAR_PICKUP_NUMBER = "fscontrol_pickup_number"
VAR_TARGET = "fscontrol_target"
VAR_DIALED_EXTENSION = "fscontrol_dialed_extension"
VAR_BOX = "fscontrol_box"
VAR_ATTENDANT = "fscontrol_attendant"

ACTION_PARK = "park"
ACTION_PARK_DTMF = "park_dtmf"
ACTION_RETRIEVE = "retrieve"
ACTION_PICKUP = "pickup"
ACTION_DIRECTED_PICKUP = "directed_pickup"
ACTION_VOICEMAIL = "voicemail"
ACTION_VOICEMAIL_LEAVE = "voicemail_leave"
ACTION_VOICEMAIL_CHECK = "voicemail_check"
ACTION_VOICEMAIL_PILOT = "voicemail_pilot"
ACTION_ATTENDANT = "attendant"

# The extension the park DTMF binding runs (by execute_extension) and the event it fires.
PARK_DTMF_EXTENSION = "fscontrol_park_dtmf"
EVENT_SUBCLASS_PARK_DTMF = "fscontrol::park_dtmf"

# Extension names in the rendered dialplan (each prefixed, so logs show they are ours).
EXT_PREFIX = "fscontrol-"

# Files: `render_to(config, out)` writes these into `out`; `deploy` installs them into
# `<conf dir>/fscontrol/`.
DIALPLAN_FILE = "dialplan.xml"
LOCAL_STREAM_FILE = "local_stream.xml"
FILES = (DIALPLAN_FILE, LOCAL_STREAM_FILE)
DEPLOY_SUBDIR = "fscontrol"
