"""Hold music: which source a park range plays, and the validation of custom WAV files
(PCM 16-bit mono, 8/16/48 kHz, readable) before one is used. A refused file keeps the previous
music and says why."""

from __future__ import annotations

import logging
import os
import re
import wave
from dataclasses import dataclass

from .errors import BadMusicFile

log = logging.getLogger("fscontrol.park")

SILENCE = "silence_stream://-1"
RATES = (8000, 16000, 48000)
_STREAM = re.compile(r"[a-z_]+://")
_PATH_REJECT = re.compile(r"[\s,{}\[\]|^'\"()]|\$\{")  # what uuid_broadcast cannot carry


@dataclass(frozen=True)
class WavInfo:
    path: str
    rate: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def is_file(source: str) -> bool:
    return not _STREAM.match(source) or source.startswith("file://")


def validate_wav(path: str) -> WavInfo:
    """The file's facts when FreeSWITCH can loop it as hold music; BadMusicFile(reason) if not."""
    path = path.removeprefix("file://")
    bad = _PATH_REJECT.search(path)
    if bad:
        raise BadMusicFile(path, f"the path contains {bad.group()!r}, which a broadcast cannot carry")
    if not os.path.isfile(path):
        raise BadMusicFile(path, "no such file")
    if not os.access(path, os.R_OK):
        raise BadMusicFile(path, "not readable")
    try:
        with wave.open(path, "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            comp, frames = w.getcomptype(), w.getnframes()
    except (wave.Error, EOFError) as e:
        raise BadMusicFile(path, f"not a PCM WAV file ({e})") from None
    except OSError as e:
        raise BadMusicFile(path, f"cannot read it ({e.strerror or e})") from None
    if comp != "NONE":
        raise BadMusicFile(path, f"compressed ({comp}); PCM is needed")
    if width != 2:
        raise BadMusicFile(path, f"{width * 8}-bit samples; 16-bit is needed")
    if channels != 1:
        raise BadMusicFile(path, f"{channels} channels; mono is needed")
    if rate not in RATES:
        raise BadMusicFile(path, f"{rate} Hz; 8000, 16000 or 48000 is needed")
    if frames == 0:
        raise BadMusicFile(path, "no audio in it")
    return WavInfo(path, rate, frames)


class HoldMusic:
    """The hold music of each park range (`music` per range or global, `music_on_hold = false` =
    silence). WAV files are validated first; a bad one is refused and the previous source stays."""

    def __init__(self, park_config, ranges):
        self._default = type(park_config)().music
        self._by_range: dict[str, str] = {}
        current_global = self._default
        try:
            current_global = self._checked(park_config.music)
        except BadMusicFile as e:
            log.error("park: %s; keeping %s", e, current_global)
        self._global = current_global
        for r in ranges:
            on = park_config.music_on_hold if r.music_on_hold is None else r.music_on_hold
            if not on:
                self._by_range[r.name] = SILENCE
                continue
            self._by_range[r.name] = self._global
            if r.music:
                try:
                    self._by_range[r.name] = self._checked(r.music)
                except BadMusicFile as e:
                    log.error("park: range %s: %s; keeping %s", r.name, e, self._global)

    @staticmethod
    def _checked(source: str) -> str:
        if is_file(source):
            validate_wav(source)
        return source

    def source(self, range_name: str) -> str:
        return self._by_range.get(range_name, self._global)

    def set(self, range_name: str, source: str) -> str:
        """Use `source` for the range from now on; BadMusicFile (and no change) when refused."""
        self._by_range[range_name] = self._checked(source)
        log.info("park: range %s hold music is now %s", range_name, source)
        return source

    @staticmethod
    def broadcast_path(source: str) -> str:
        """What `uuid_broadcast` plays: streams as they are (trace s02), files looped forever."""
        if is_file(source):
            return f"endless_playback::{source.removeprefix('file://')}"
        return source
