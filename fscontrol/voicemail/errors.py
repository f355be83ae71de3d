"""Voicemail's errors: request errors (CLI and API) with a stable id, the field at fault and a
kind the API maps to a status; none carries a PIN."""

from __future__ import annotations

from ..errors import RequestError


class VoicemailError(RequestError):
    id = "voicemail_error"


class VoicemailStoreUnavailable(VoicemailError):
    id = "database_unavailable"
    kind = "unavailable"


class UnknownBox(VoicemailError):
    id = "mailbox_not_found"
    kind = "not_found"


class UnknownMessage(VoicemailError):
    id = "message_not_found"
    kind = "not_found"


class PinRefused(VoicemailError):
    """A new PIN the policy refuses (too short, sequential, repeated, the extension, reused)."""

    id = "pin_refused"


class AudioGone(VoicemailError):
    """The message's local copy was deleted after it was mailed (box without keep_local_copy)."""

    id = "audio_not_available"
    kind = "not_found"


class GreetingRefused(VoicemailError):
    """An uploaded greeting that is not a WAV the switch plays as recorded (PCM 16-bit mono,
    8 or 16 kHz) or is longer than voicemail.max_greeting; `field` names what is wrong."""

    id = "greeting_refused"


class GreetingNotSet(VoicemailError):
    """The box plays the default greeting (voicemail.prompt_greeting): no audio to download."""

    id = "greeting_not_set"
    kind = "not_found"
