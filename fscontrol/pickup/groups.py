"""Who is in which pickup group: the TOML [[pickup_groups]] as the initial state, overridden per
user by the run-time changes in the database (a user changed at run time follows the database,
every other user the TOML). One user is in at most one group, as in Lync."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InTwoGroups, NotInPickupRange, UnknownUser


@dataclass(frozen=True)
class Group:
    number: str
    members: frozenset[str]
    pickers: str = "members"            # members | anyone | list
    allowed: frozenset[str] = frozenset()

    def may_pick(self, extension: str | None) -> bool:
        if self.pickers == "anyone":
            return True
        if self.pickers == "list":
            return extension in self.allowed
        return extension in self.members


class Groups:
    """The effective groups of a site: `Groups(config).current(store.assignments())`."""

    def __init__(self, config):
        self.config = config
        self.toml = {g.number: g for g in config.pickup_groups}
        self.ranges = config.ranges("pickup")
        self.users = {u.extension for u in config.users}

    def is_group_number(self, number: str) -> bool:
        return any(r.numbers.contains(number) for r in self.ranges)

    def current(self, overrides: dict[str, str | None]) -> dict[str, Group]:
        members: dict[str, set[str]] = {n: set(g.members) for n, g in self.toml.items()}
        for ext, number in overrides.items():
            for group in members.values():
                group.discard(ext)
            if number is not None:
                members.setdefault(number, set()).add(ext)
        out = {}
        for number, exts in members.items():
            g = self.toml.get(number)
            out[number] = Group(number, frozenset(exts), g.pickers if g else "members",
                                frozenset(g.allowed) if g else frozenset())
        return out

    @staticmethod
    def group_of(groups: dict[str, Group], extension: str) -> Group | None:
        return next((g for g in groups.values() if extension in g.members), None)

    def check_add(self, groups: dict[str, Group], number: str, extension: str) -> None:
        """Refuse what Lync refuses: a number outside every pickup range, an unknown user, a
        user already in another group (named)."""
        if not self.is_group_number(number):
            raise NotInPickupRange(f'"{number}" is in no orbit range of kind "pickup"')
        if extension not in self.users:
            raise UnknownUser(f'"{extension}" is not a users[].extension')
        other = self.group_of(groups, extension)
        if other is not None and other.number != number:
            raise InTwoGroups(f"{extension} not added to {number}: already in group "
                              f"{other.number}, and a user is in at most one group (remove "
                              f"{extension} from {other.number} first)")
