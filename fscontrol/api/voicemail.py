"""/api/v1/voicemail: a user's voicemail messages (list, one, download the audio, mark read,
delete), a thin layer over the voicemail service (`controller.feature("voicemail").service`),
which updates the message waiting lamp and publishes voicemail_updated/deleted on the event
stream. A user token sees only its own box; another box's message is 404, as if it did not
exist (its id says nothing about another user's mail). The box's greeting: its state, its audio,
an upload (a WAV as the switch records one) and back to the default; the leave-a-message flow
plays what is stored here, as it plays a greeting recorded by phone."""

from __future__ import annotations

from flask import jsonify, request, send_file
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .calls import ERRORS
from ..voicemail.errors import GreetingRefused
from .context import ApiContext
from .schemas import ErrorOut, GreetingOut, MessageList, MessageOut, MessagePath, MessagesQuery

WAV_BODY = {"requestBody": {"required": True, "description": "a WAV file: PCM 16-bit mono, 8000 or "
                            "16000 Hz, 1 s to voicemail.max_greeting",
                            "content": {"audio/wav": {"schema": {"type": "string",
                                                                 "format": "binary"}}}}}


def blueprint(ctx: ApiContext) -> APIBlueprint:
    bp = APIBlueprint("voicemail", __name__, url_prefix=PREFIX,
                      abp_tags=[Tag(name="voicemail", description="voicemail messages")],
                      abp_security=[{"bearer": []}], abp_responses=ERRORS)

    def service():
        return ctx.service("voicemail")

    def scope() -> str | None:
        """The box the token may touch (None: an admin, any box)."""
        return principal().scope

    @bp.get("/voicemail/messages", responses={200: MessageList})
    def list_messages(query: MessagesQuery):
        """The box's messages and missed calls, oldest first (new and saved)."""
        box = ctx.known_user(principal().acting_for(query.user))
        return jsonify({"messages": [m.to_dict() for m in service().messages(box)]})

    @bp.get("/voicemail/messages/<int:message_id>", responses={200: MessageOut})
    def get_message(path: MessagePath):
        """One message, with its email delivery state."""
        return jsonify(service().message(path.message_id, scope()).to_dict())

    @bp.get("/voicemail/messages/<int:message_id>/audio",
            responses={200: {"description": "the recording, audio/wav"}})
    def get_audio(path: MessagePath):
        """The recording as the switch made it (WAV). 404 audio_not_available for a missed call
        or once it was mailed from a box that does not keep a local copy."""
        audio = service().audio_path(path.message_id, scope())
        return send_file(audio, mimetype="audio/wav", as_attachment=True,
                         download_name=f"voicemail-{path.message_id}.wav")

    @bp.post("/voicemail/messages/<int:message_id>/read", responses={200: MessageOut})
    def mark_read(path: MessagePath):
        """Mark a new message read (saved): the lamp follows."""
        return jsonify(service().set_state(path.message_id, "saved", scope()).to_dict())

    @bp.delete("/voicemail/messages/<int:message_id>", responses={200: MessageOut})
    def delete_message(path: MessagePath):
        """Delete a message and its audio for good: the lamp follows."""
        return jsonify(service().delete(path.message_id, scope()).to_dict())

    def box_of(query: MessagesQuery) -> str:
        return ctx.known_user(principal().acting_for(query.user))

    @bp.get("/voicemail/greeting", responses={200: GreetingOut})
    def get_greeting(query: MessagesQuery):
        """What a caller leaving a message hears: the box's own greeting or the default."""
        return jsonify(service().greeting(box_of(query)))

    @bp.get("/voicemail/greeting/audio",
            responses={200: {"description": "the box's own greeting, audio/wav"}})
    def get_greeting_audio(query: MessagesQuery):
        """The box's own greeting (WAV); 404 greeting_not_set while it plays the default."""
        box = box_of(query)
        return send_file(service().greeting_path(box), mimetype="audio/wav", as_attachment=True,
                         download_name=f"greeting-{box}.wav")

    @bp.put("/voicemail/greeting", responses={200: GreetingOut, 413: ErrorOut},
            openapi_extensions=WAV_BODY)
    def put_greeting(query: MessagesQuery):
        """Upload the box's greeting: the WAV file as the body (Content-Type audio/wav), PCM
        16-bit mono at 8000 or 16000 Hz, 1 s to voicemail.max_greeting; anything else is 422
        greeting_refused naming the field (audio, audio.channels, audio.sample_width,
        audio.sample_rate, audio.duration). It replaces a greeting recorded by phone."""
        box = box_of(query)
        # the longest greeting allowed at 16 kHz, plus room for the WAV's header chunks
        limit = ctx.config.voicemail.max_greeting * 32000 + 64 * 1024
        if request.content_length is not None and request.content_length > limit:
            raise GreetingRefused(f"audio.duration: {request.content_length} bytes is longer than "
                                  f"voicemail.max_greeting ({ctx.config.voicemail.max_greeting} s) "
                                  f"of 16-bit 16 kHz audio", "audio.duration")
        request.max_content_length = limit   # a chunked upload without a length: 413 past it
        return jsonify(service().upload_greeting(box, request.get_data(cache=False)))

    @bp.delete("/voicemail/greeting", responses={200: GreetingOut})
    def delete_greeting(query: MessagesQuery):
        """Back to the default greeting (voicemail.prompt_greeting); the box's file is deleted."""
        return jsonify(service().clear_greeting(box_of(query)))

    return bp
