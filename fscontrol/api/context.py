"""What a request works with: the config, the token store, and the controller while this process
is the active one (None while standby). Features are found by name through the controller, so
the API needs no import of the features it serves."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FeatureUnavailable, Forbidden, InvalidField, Standby, UnknownUser
from .tokens import TokenStore

FEATURE_NAMES = {"calls": "call tracking", "callviawork": "Call Via Work", "park": "Call Park",
                 "pickup": "Group Call Pickup", "voicemail": "Voicemail"}


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a token's user, and whether it is an admin token."""

    token_id: int
    user: str | None
    admin: bool

    @property
    def scope(self) -> str | None:
        """The user whose calls and events it sees; None: everyone (an admin)."""
        return None if self.admin else self.user

    def acting_for(self, requested: str | None, field: str = "user") -> str:
        """The user a request acts for: a user token only for its own user (403 otherwise), an
        admin token for the user it names (required)."""
        if self.admin:
            if not requested:
                raise InvalidField(f"{field}: an admin token must name the user to act for",
                                   field)
            return requested
        if requested and requested != self.user:
            raise Forbidden(f"{field}: this token acts only for user {self.user}", field)
        return self.user

    def may_see(self, owner: str | None) -> bool:
        return self.admin or (owner is not None and owner == self.user)


class ApiContext:
    def __init__(self, config, database):
        self.config = config
        self.database = database
        self.tokens = TokenStore(database)
        self.controller = None          # set by `fscontrol run` while this process is active
        self.users = {u.extension for u in config.users}
        self.board_cache = None         # fscontrol.api.board: one read shared by the streams

    def active(self):
        if self.controller is None:
            raise Standby("this controller is standby: another controller holds the switch")
        return self.controller

    def feature(self, name: str):
        found = self.active().feature(name)
        if found is None:
            raise FeatureUnavailable(f"{FEATURE_NAMES.get(name, name)} is not running in this "
                                     f"controller")
        return found

    def service(self, name: str):
        service = getattr(self.feature(name), "service", None)
        if service is None:
            raise FeatureUnavailable(f"{FEATURE_NAMES.get(name, name)} is not started yet")
        return service

    def known_user(self, user: str, field: str = "user") -> str:
        if user not in self.users:
            raise UnknownUser(f"{field}: {user} is not a users[].extension", field)
        return user
