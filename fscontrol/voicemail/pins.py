"""PINs: the site's policy (Exchange UM: MinPINLength, no common patterns, PINHistoryCount) and
the slow hash a PIN is stored as (scrypt with a per-box salt; the PIN itself is never stored,
logged or put in an error message)."""

from __future__ import annotations

import hashlib
import hmac
import os

from .errors import PinRefused

# scrypt cost: ~20 ms and 16 MiB per check on a 2020 laptop core; a leaked table costs an
# attacker the same per guess (a 6-digit PIN space is small: the lockout is the real defence)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str | None) -> bool:
    if not stored or not pin:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(digest) // 2)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def _sequential(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    return len(steps) == 1 and steps <= {1, -1}


def policy_problem(pin: str, box: str, min_length: int) -> str | None:
    """Why the policy refuses `pin` as a new PIN of `box` (history apart), or None."""
    if not pin.isdigit() or not pin.isascii():
        return "a PIN is digits only"
    if not min_length <= len(pin) <= 24:
        return f"a PIN has {min_length} to 24 digits"
    if len(set(pin)) == 1:
        return "a PIN may not repeat one digit"
    if _sequential(pin):
        return "a PIN may not be a run of digits (like 2345 or 8765)"
    if box in pin or pin in box:
        return "a PIN may not contain the extension"
    for unit in range(2, len(pin) // 2 + 1):
        if len(pin) % unit == 0 and pin[:unit] * (len(pin) // unit) == pin:
            return "a PIN may not be a repeated pattern (121212, 123123)"
    return None


def check_new_pin(pin: str, box: str, min_length: int, history: list[str]) -> None:
    """Raise PinRefused (field "pin") unless `pin` may be the new PIN; `history`: the last
    stored hashes (voicemail.pin_history of them)."""
    why = policy_problem(pin, box, min_length)
    if why is None and any(check_pin(pin, h) for h in history):
        why = f"a PIN may not be one of the last {len(history)} used"
    if why:
        raise PinRefused(f"PIN refused: {why}", "pin")
