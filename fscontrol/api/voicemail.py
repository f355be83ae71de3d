"""/api/v1/voicemail: a user's voicemail messages (list, one, download the audio, mark read,
delete), a thin layer over the voicemail service (`controller.feature("voicemail").service`),
which updates the message waiting lamp and publishes voicemail_updated/deleted on the event
stream. A user token sees only its own box; another box's message is 404, as if it did not
exist (its id says nothing about another user's mail)."""

from __future__ import annotations

from flask import jsonify, send_file
from flask_openapi3 import APIBlueprint, Tag

from .app import PREFIX, principal
from .calls import ERRORS
from .context import ApiContext
from .schemas import MessageList, MessageOut, MessagePath, MessagesQuery


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

    return bp
