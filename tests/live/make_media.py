"""Writes the small WAV files the live test switch plays (no FreeSWITCH sound pack is assumed):
hold music for the `moh` local_stream class, the one prompt every voicemail phrase plays, and the
digits mod_say_en plays when the controller says a parked call's orbit (`say en number iterated
7001` plays digits/7.wav, digits/0.wav, ... under the language's sound-prefix; a missing file
ends the say at once, with no PLAYBACK_START a test could observe).
8 kHz, 16-bit mono, well under a second each. Output is committed; re-run after changing this:

    python tests/live/make_media.py
"""

import math
import struct
import wave
from pathlib import Path

RATE = 8000
SOUNDS = Path(__file__).resolve().parent / "conf" / "sounds"


def tones(*parts):
    """parts: (frequency Hz or 0 for silence, milliseconds) -> 16-bit samples."""
    samples = []
    for freq, ms in parts:
        for i in range(RATE * ms // 1000):
            samples.append(int(6000 * math.sin(2 * math.pi * freq * i / RATE)) if freq else 0)
    return samples


def write(path: Path, samples) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))


FILES = {
    # a short arpeggio, looped by mod_local_stream
    "music/fscontrol-moh.wav": tones((523, 150), (659, 150), (784, 150), (0, 150)),
    # one neutral double beep standing in for every spoken prompt
    "fscontrol/prompt.wav": tones((880, 120), (0, 60), (880, 120)),
    # one short beep per digit (pitch rising with the digit), for `say ... number iterated`
    **{f"digits/{d}.wav": tones((400 + 60 * d, 150), (0, 50)) for d in range(10)},
}


def main() -> None:
    for name, samples in FILES.items():
        write(SOUNDS / name, samples)


if __name__ == "__main__":
    main()
