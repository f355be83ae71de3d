"""Auto attendants (Exchange Unified Messaging class): a number answers with the menu its
schedule picks (business hours, after hours, a holiday) in the attendant's own time zone; keys
1-9 lead to an extension, another attendant, an announcement or a voicemail box, 0 to the
operator, # or an extension's digits dial by extension, a key dials by name; timeouts and
invalid input are retried, then the operator or a disconnect.

`AttendantFeature` is the wiring; `services` the call flow, `handlers` the events, `schedule`
the business hours, `directory` dial by name, `errors` the errors. `schedule` imports nothing
from the rest, so the config loader uses it without the ESL side."""

from __future__ import annotations

__all__ = ["AttendantFeature"]


class AttendantFeature:
    """Attach to a Controller: `Controller.features.append(AttendantFeature())`. `clock` (a
    function returning an aware datetime) is the instant schedules are decided on; tests freeze it."""

    name = "attendant"

    def __init__(self, clock=None):
        self.clock = clock
        self.service = None

    def attach(self, controller) -> None:
        """After Call Park (build() attaches it first): voicemail keys take park's path."""
        from .handlers import AttendantHandlers
        from .services import AttendantService
        park = controller.feature("park")
        voicemail = getattr(getattr(park, "service", None), "send_to_voicemail", None)
        self.service = AttendantService(controller.config, controller.esl, self.clock, voicemail)
        AttendantHandlers(self.service).attach(controller.esl)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
