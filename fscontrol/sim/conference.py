"""mod_conference as far as the recordings show it (s11): a room per name, created by its first
member and destroyed with its last, `conference::maintenance` events, the room's PRESENCE_IN
(proto `conf`), the floor, and the member lines of `conference list`.

Member ids and the presence event_count are switch-wide counters (mod_conference's id_pool and
EC), so their values depend on what ran on the switch before; they start at 1 and 0 here."""
from __future__ import annotations

import itertools
import uuid as uuidlib

DOMAIN = "cluecon.com"          # mod_conference's domain when the profile sets none (s11)
SUBCLASS = "conference::maintenance"
FLAGS = "running|answered|enforce_min|dynamic|exit_sound|enter_sound|json_status"


class Member:
    def __init__(self, ch, member_id):
        self.ch, self.id = ch, member_id


class Room:
    def __init__(self, rooms, name, profile):
        self.rooms, self.sw = rooms, rooms.sw
        self.name, self.profile = name, profile
        self.uuid = str(uuidlib.uuid4())
        self.members = []
        self.floor = None

    def headers(self):
        return [("Conference-Name", self.name), ("Conference-Domain", DOMAIN),
                ("Conference-Size", str(len(self.members))), ("Conference-Ghosts", "0"),
                ("Conference-Profile-Name", self.profile), ("Conference-Unique-ID", self.uuid)]

    @staticmethod
    def member_headers(m):
        return [("Video", "false"), ("Hear", "true"), ("See", "true"), ("Speak", "true"),
                ("Talking", "false"), ("Mute-Detect", "false"), ("Hold", "false"),
                ("Member-ID", str(m.id)), ("Member-Type", "member"), ("Member-Ghost", "false"),
                ("Energy-Level", "0"), ("Current-Energy", "0")]

    def fire_room(self, action, extra=()):
        self.sw.fire_global("CUSTOM", subclass=SUBCLASS, post=self.headers() + [("Action", action)] + list(extra))

    def fire_member(self, m, pre, post):
        m.ch.fire("CUSTOM", subclass=SUBCLASS, pre=self.headers() + pre,
                  post=self.member_headers(m) + post, basic=True)

    def presence(self, active):
        n = len(self.members)
        post = [("proto", "conf"), ("login", self.name), ("from", "%s@%s" % (self.name, DOMAIN)),
                ("event_type", "presence"), ("alt_event_type", "dialog"),
                ("event_count", str(next(self.rooms.event_count))), ("unique-id", self.name)]
        if active:
            post += [("force-status", "Active (%d caller%s)" % (n, "" if n == 1 else "s")),
                     ("channel-state", "CS_ROUTING"), ("answer-state", "early"),
                     ("presence-call-direction", "outbound")]
        else:
            post += [("force-status", "Inactive"), ("channel-state", "CS_HANGUP"),
                     ("answer-state", "terminated"), ("call-direction", "inbound")]
        self.sw.fire_global("PRESENCE_IN", post=post)

    def join(self, ch):
        m = Member(ch, next(self.rooms.member_ids))
        self.members.append(m)
        self.fire_member(m, [("Floor", "false")], [("Action", "add-member")])
        self.presence(active=True)
        self.sw.notify()
        return m

    def take_floor(self, m):
        """The conference thread gives a free floor to a member on its next frame (20 ms)."""
        if self.floor is None and m in self.members:
            self.floor = m
            self.fire_member(m, [("Action", "floor-change"), ("Old-ID", "none"), ("Floor", "true")],
                             [("New-ID", str(m.id))])

    def leave(self, m):
        if m not in self.members:
            return
        self.members.remove(m)
        if self.floor is m:
            self.floor = self.members[0] if self.members else None
            self.fire_room("floor-change", [("Old-ID", "none"),
                                            ("New-ID", str(self.floor.id) if self.floor else "none")])
        self.presence(active=bool(self.members))
        self.fire_member(m, [("Floor", "false")], [("Action", "del-member")])
        if not self.members:
            self.presence(active=False)
            self.fire_room("conference-destroy")
            self.rooms.rooms.pop(self.name, None)
        self.sw.notify()

    def list_lines(self):
        out = ["+OK Conference %s (%d member%s rate: 8000 flags: %s)\n"
               % (self.name, len(self.members), "" if len(self.members) == 1 else "s", FLAGS)]
        for m in self.members:
            flags = "hear|speak" + ("|floor" if m is self.floor else "")
            out.append("%d;%s;%s;%s;%s;%s;0;0;0\n" % (m.id, m.ch.name, m.ch.uuid, m.ch.cid_name, m.ch.cid_num, flags))
        return "".join(out)


class Conferences:
    def __init__(self, switch):
        self.sw = switch
        self.rooms = {}
        self.member_ids = itertools.count(1)
        self.event_count = itertools.count(0)

    def room(self, name, profile="default"):
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(self, name, profile)
            room.fire_room("conference-create")
        return room

    def members(self, name):
        room = self.rooms.get(name)
        return [m.ch for m in room.members] if room else []

    def api_list(self):
        return "".join(r.list_lines() for r in self.rooms.values()) or "+OK No active conferences.\n"
