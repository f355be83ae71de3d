"""The site configuration as typed, immutable objects. Field defaults here are the documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .numbers import NumberRange


class Secret:
    """A secret string (password, token) that never shows in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True)
class SwitchConfig:
    """How to reach FreeSWITCH and how its users are dialled."""

    # The switch's identity in the database: parked calls belong to it, and controllers of the
    # same switch share one active/standby lock. Empty: "esl_host:esl_port".
    name: str = ""
    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    esl_password: Secret = field(default_factory=lambda: Secret("ClueCon"))
    conf_dir: str = "/etc/freeswitch"
    context: str = "default"
    domain: str = "$${domain}"
    user_dial_string: str = "user/{ext}@{domain}"

    @property
    def identity(self) -> str:
        """`name`, else `esl_host:esl_port`: the key of this switch's rows and standby lock."""
        return self.name or f"{self.esl_host}:{self.esl_port}"


@dataclass(frozen=True)
class DatabaseConfig:
    """Where state lives: a PostgreSQL URL, or (empty) an embedded server under `embedded_dir`."""

    url: Secret = field(default_factory=lambda: Secret(""))
    embedded_dir: str = ".fscontrol/pgdata"


@dataclass(frozen=True)
class HaConfig:
    """Active/standby between the controllers of one switch (see fscontrol.ha)."""

    # The active controller stops acting when it cannot confirm its lock for this long; a
    # controller that wins the lock waits this long (plus a second) before it acts.
    step_down_after: int = 3


@dataclass(frozen=True)
class ParkConfig:
    """Call Park defaults (Lync's Set-CsCpsConfiguration); a park range may override the timing ones."""

    code: str = "*70"
    dtmf_code: str = "*1"
    allocation: Literal["random", "lowest"] = "random"
    timeout: int = 90
    ringback_timeout: int = 30
    max_attempts: int = 1
    fallback: str = ""
    music_on_hold: bool = True
    music: str = "local_stream://moh"
    # Prompts (a sound file or a tone_stream://...): the defaults are tones, which every
    # FreeSWITCH can play without sound packs.
    prompt_no_orbit: str = "tone_stream://%(250,250,480,620);loops=3"
    prompt_empty_orbit: str = "tone_stream://%(300,150,440);loops=2"
    prompt_error: str = "tone_stream://%(100,100,350,440);loops=5"
    prompt_disconnect: str = "tone_stream://%(400,200,425);loops=2"
    say_language: str = "en"  # the orbit is announced with `say <lang> number iterated <orbit>`
    send_message: bool = True  # SIP MESSAGE "<caller> parked at <orbit>" to the parker
    presence_proto: str = "park"  # PRESENCE_IN proto, as mod_valet_parking ("park+<orbit>" BLF)
    presence_domain: str = ""  # empty: switch.domain (a $${domain} is asked from the switch)


@dataclass(frozen=True)
class PickupConfig:
    """Group Call Pickup and directed pickup (fscontrol.pickup)."""

    # Prompts (a sound file or a tone_stream://...), tones by default like park's.
    prompt_nothing_ringing: str = "tone_stream://%(200,100,350,440);loops=3"
    prompt_refused: str = "tone_stream://%(600,200,300);loops=2"
    notify: bool = True  # SIP MESSAGE to the member whose call was picked up
    message: str = "{caller}'s call picked up by {picker}"
    presence_proto: str = "pickup"  # BLF keys "pickup+<group number>"


@dataclass(frozen=True)
class FeatureCodes:
    """Dialable feature codes besides the park code; no orbit may equal one."""

    voicemail: str = "*98"
    directed_pickup: str = "**"


@dataclass(frozen=True)
class User:
    """A user: an extension with a phone reached through `switch.user_dial_string`."""

    extension: str
    name: str = ""
    # Call Via Work: the device rung first (an extension or a dial string); empty: this user's
    # own phone. Set by the admin (SfB's AdminCallbackNumber).
    callback: str = ""
    # Voicemail: where this user's messages and missed-call notices are mailed (empty: none);
    # the mailbox itself is created for every user (PIN by `fscontrol voicemail set-pin`).
    email: str = ""


@dataclass(frozen=True)
class CallViaWorkConfig:
    """Call Via Work (click-to-call): the user's device rings first, showing the global caller
    ID; once answered the destination is called with the user's own caller ID and bridged."""

    enabled: bool = True
    # what the user's phone shows while it rings (SfB's global Call Via Work number)
    caller_id_name: str = "Call Via Work"
    caller_id_number: str = ""
    # false: always the admin's users[].callback (or the user's phone); true: a request may name
    # another device of the user's choosing (SfB's -UseAdminCallbackNumber $false)
    user_callback: bool = False
    # destinations a user may call: regular expressions, each matched against the whole number
    destinations: tuple[str, ...] = (r"[0-9]{2,15}", r"\+[0-9]{6,15}")
    rate_limit: int = 10               # calls one user may place a minute
    user_timeout: int = 30             # seconds the user's device rings
    destination_timeout: int = 60      # seconds the destination rings
    # how the destination (and a callback number that is no user's extension) is dialled:
    # {number} the number, {context} switch.context, {domain} the users' domain; the default
    # routes it through the dialplan as if the user had dialled it
    destination_dial_string: str = "loopback/{number}/{context}"
    # what the other party hears while the user holds (uuid_hold plays the channel's
    # hold_music to the partner, switch_ivr.c switch_ivr_hold); empty: silence
    hold_music: str = "local_stream://moh"
    conference_profile: str = "default"   # mod_conference profile for conference dial-out
    prompt_busy: str = "tone_stream://%(500,500,480,620);loops=4"
    prompt_no_answer: str = "tone_stream://%(300,300,440);loops=3"
    prompt_failed: str = "tone_stream://%(100,100,350,440);loops=5"


@dataclass(frozen=True)
class ApiConfig:
    """The HTTP API (fscontrol.api): off unless `listen` is set."""

    listen: str = ""                   # "127.0.0.1:8080"; empty: no HTTP API
    # a listen address other than loopback must be allowed explicitly (the API places calls)
    public: bool = False
    # /metrics without a token (for a Prometheus scraper); false: an admin token is needed
    metrics_public: bool = False
    event_buffer: int = 1000           # events kept for Last-Event-ID resumption
    client_queue: int = 256            # events queued for one slow SSE client before it is dropped
    heartbeat: int = 15                # seconds between SSE keep-alive comments
    max_streams: int = 200             # SSE streams open at once, all clients; one more is refused


@dataclass(frozen=True)
class VoicemailConfig:
    """Voicemail (fscontrol.voicemail), Exchange UM class: messages recorded by the switch into
    `storage`, metadata in PostgreSQL, mailed over [smtp], MWI, dial-in access by PIN."""

    enabled: bool = True               # false: the dialplan uses FreeSWITCH's mod_voicemail
    # where the switch writes recordings and greetings and the controller reads them: one
    # directory both see (the same host, or a shared volume)
    storage: str = ".fscontrol/voicemail"
    pilot: str = ""                    # dial-in number for any box ("*99"); empty: none
    ring_timeout: int = 25             # seconds a user's phone rings before voicemail answers
    max_message: int = 1200            # seconds (Exchange: 20 min)
    max_greeting: int = 300            # seconds (Exchange: 5 min)
    min_message: int = 2               # seconds; shorter: a missed-call notification
    silence_threshold: int = 200       # energy below which a frame is silence (record's thresh)
    silence_seconds: int = 5           # this long silent ends the recording
    keep_local_copy: bool = True       # new boxes keep the WAV after it was mailed
    # PIN policy (Exchange UM mailbox policy)
    pin_min_length: int = 6            # MinPINLength, 4-24
    pin_history: int = 5               # PINHistoryCount: the last N PINs may not be reused
    pin_reset_after: int = 5           # LogonFailuresBeforePINReset: then a new PIN is needed
    pin_lock_after: int = 15           # MaxLogonAttempts: then locked until `voicemail unlock`
    # Prompts: a sound file or tone_stream://...; the defaults are tones (no sound packs needed)
    prompt_greeting: str = "tone_stream://%(400,200,440);loops=2"   # a box without a greeting
    prompt_beep: str = "tone_stream://%(500,0,1000)"
    prompt_box: str = "tone_stream://%(150,100,500)"                 # pilot: enter the box
    prompt_pin: str = "tone_stream://%(150,100,600)"                 # enter your PIN
    prompt_new_pin: str = "tone_stream://%(150,100,650);loops=2"     # enter a new PIN
    prompt_pin_changed: str = "tone_stream://%(200,50,900)"
    prompt_bad_pin: str = "tone_stream://%(200,100,300,350);loops=2"
    prompt_locked: str = "tone_stream://%(600,200,300);loops=3"
    prompt_message: str = "tone_stream://%(100,100,800);loops=2"     # before each message
    prompt_menu: str = "tone_stream://%(100,50,700)"                 # after a message: keys
    prompt_no_more: str = "tone_stream://%(300,100,500,400)"         # no (more) messages
    prompt_goodbye: str = "tone_stream://%(400,200,425);loops=2"
    envelope: bool = True              # say the caller's number before each message
    say_language: str = "en"           # ... with `say <lang> number iterated` (digit files)
    email_subject: str = "Voicemail from {caller} ({duration}s)"


@dataclass(frozen=True)
class SmtpConfig:
    """The mail server voicemail is delivered through (empty host: no email)."""

    host: str = ""
    port: int = 25
    security: Literal["none", "starttls", "tls"] = "none"
    user: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))   # FSCONTROL_SMTP_PASSWORD
    # PEM file of the CA(s) the server's certificate is verified against (a private CA);
    # empty: the system's trusted CAs. TLS is verified either way (certificate and host name).
    ca_file: str = ""
    sender: str = "voicemail@localhost"
    timeout: int = 30                  # seconds per SMTP conversation
    retry_first: int = 30              # seconds before the first retry of a 4xx / refused
    retry_max: int = 3600              # backoff cap
    give_up_after: int = 86400         # seconds of temporary failures before "failed"


@dataclass(frozen=True)
class OrbitRange:
    """A numbered range of orbits (`kind = "park"`) or of group pickup numbers (`kind = "pickup"`)."""

    name: str
    kind: Literal["park", "pickup"]
    start: str
    end: str
    music: str | None = None
    music_on_hold: bool | None = None
    timeout: int | None = None
    max_attempts: int | None = None
    fallback: str | None = None

    @property
    def numbers(self) -> NumberRange:
        from .numbers import make_range
        return make_range(self.start, self.end)


@dataclass(frozen=True)
class PickupGroup:
    """Members who may answer each other's ringing calls by dialling `number` (from a pickup range)."""

    number: str
    members: tuple[str, ...] = ()
    # who may pick up this group's calls (and, by directed pickup, a member's): its members,
    # anyone, or only the extensions in `allowed`
    pickers: Literal["members", "anyone", "list"] = "members"
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class MusicClass:
    """A hold-music class for mod_local_stream (`local_stream://<name>`), rendered by `fscontrol render`.

    `directory` may use FreeSWITCH preprocessor variables such as `$${sounds_dir}`."""

    name: str
    directory: str
    rate: int = 8000
    shuffle: bool = True


@dataclass(frozen=True)
class AttendantPrompts:
    """What every auto attendant plays besides its greetings ([attendant]): a sound file or a
    tone_stream://... each; `$${name}` in a path is a global variable of the switch, asked by the
    controller. The defaults are tones: nothing needs a FreeSWITCH sound pack."""

    prompt_invalid: str = "tone_stream://%(200,100,480,620);loops=2"   # no such key, no such extension
    prompt_extension: str = "tone_stream://%(150,50,660);loops=2"      # after #: "enter the extension"
    prompt_name: str = "tone_stream://%(150,50,880);loops=2"           # dial by name: "spell the name"
    prompt_choice: str = "tone_stream://%(100,50,1000)"                # before each "press N for EXT"
    prompt_transfer: str = "tone_stream://%(200,0,523)"                # before the call is put through
    prompt_goodbye: str = "tone_stream://%(400,200,425);loops=2"       # before a disconnect
    say_language: str = "en"  # extensions and choice numbers are said with `say <lang> number iterated`


@dataclass(frozen=True)
class AttendantMenu:
    """A menu: its greeting (played while keys are read), keys 1-9, dial by extension and by name."""

    greeting: str = "tone_stream://%(300,100,523);%(300,100,659);%(300,300,784)"
    # "1".."9" -> "extension:<ext>" | "attendant:<number>" | "announcement:<file>" |
    # "voicemail:<box>" | "operator"; a TOML table: keys = { "1" = "extension:1001" }
    keys: tuple[tuple[str, str], ...] = ()
    # "direct": an extension's digits at the menu (or # then the extension); "pound": only after
    # #; "off": no dial by extension
    dial_by_extension: Literal["direct", "pound", "off"] = "direct"
    dial_by_name: str = ""    # the key ("1".."9" or "*") that starts dial by name; empty: none


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours per weekday in the attendant's time zone: `mon = ["08:00-12:00", "13:00-17:30"]`."""

    mon: tuple[str, ...] = ()
    tue: tuple[str, ...] = ()
    wed: tuple[str, ...] = ()
    thu: tuple[str, ...] = ()
    fri: tuple[str, ...] = ()
    sat: tuple[str, ...] = ()
    sun: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttendantHoliday:
    """A closed day or range of days ("2026-12-24" or "2026-12-24..2026-12-26", inclusive, in the
    attendant's zone); its own menu, else the attendant's after-hours menu."""

    date: str
    name: str = ""
    menu: AttendantMenu | None = None


@dataclass(frozen=True)
class Attendant:
    """An auto attendant (Exchange UM class) answering calls to `number`."""

    number: str
    time_zone: str                     # IANA, e.g. "Europe/Berlin"; the schedule is decided there
    name: str = ""
    operator: str = ""                 # the extension for 0 and for input failures
    hours: BusinessHours = field(default_factory=BusinessHours)
    holidays: tuple[AttendantHoliday, ...] = ()
    business_hours: AttendantMenu = field(default_factory=AttendantMenu)
    after_hours: AttendantMenu = field(default_factory=AttendantMenu)
    timeout: int = 5                   # seconds to wait for the first key after a prompt
    digit_timeout_ms: int = 2000       # between the keys of an extension or a name
    retries: int = 3                   # failed inputs (timeout, invalid) before on_failure
    on_failure: Literal["operator", "disconnect"] = "operator"


@dataclass(frozen=True)
class Config:
    """The whole site configuration (one TOML file)."""

    switch: SwitchConfig = field(default_factory=SwitchConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    ha: HaConfig = field(default_factory=HaConfig)
    park: ParkConfig = field(default_factory=ParkConfig)
    pickup: PickupConfig = field(default_factory=PickupConfig)
    call_via_work: CallViaWorkConfig = field(default_factory=CallViaWorkConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    voicemail: VoicemailConfig = field(default_factory=VoicemailConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    features: FeatureCodes = field(default_factory=FeatureCodes)
    users: tuple[User, ...] = ()
    orbits: tuple[OrbitRange, ...] = ()
    pickup_groups: tuple[PickupGroup, ...] = ()
    music_classes: tuple[MusicClass, ...] = ()
    attendant: AttendantPrompts = field(default_factory=AttendantPrompts)
    attendants: tuple[Attendant, ...] = ()

    def feature_codes(self) -> dict[str, str]:
        """Key path -> code, for every dialable feature code."""
        return {"park.code": self.park.code,
                "features.voicemail": self.features.voicemail,
                "features.directed_pickup": self.features.directed_pickup,
                **({"voicemail.pilot": self.voicemail.pilot} if self.voicemail.pilot else {})}

    def ranges(self, kind: str) -> tuple[OrbitRange, ...]:
        return tuple(r for r in self.orbits if r.kind == kind)
