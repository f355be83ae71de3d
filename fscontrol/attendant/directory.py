"""Dial by name: users' names spelt on a telephone keypad (ITU E.161 letters: 2 = ABC ... 9 =
WXYZ). A user matches when any word of their name (first or last name) starts with the keys
pressed; accents are dropped first (É spells as E), other characters are skipped."""

from __future__ import annotations

import unicodedata

KEYPAD = {c: d for d, letters in {"2": "abc", "3": "def", "4": "ghi", "5": "jkl", "6": "mno",
                                  "7": "pqrs", "8": "tuv", "9": "wxyz"}.items() for c in letters}


def spell(word: str) -> str:
    """The keys that spell `word`: "Smith" -> "76484"."""
    plain = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()
    return "".join(KEYPAD[c] for c in plain if c in KEYPAD)


class Directory:
    """The users a caller can reach by name: (extension, name) of every user with a name."""

    def __init__(self, users):
        self.entries = sorted(((u.name, u.extension) for u in users if u.name.strip()),
                              key=lambda e: (e[0].lower(), e[1]))
        self._words = [(ext, name, [spell(w) for w in name.split()]) for name, ext in self.entries]

    def matches(self, keys: str) -> list[tuple[str, str]]:
        """(extension, name) of the users one of whose names starts with `keys`, by name."""
        if not keys or not keys.isdigit():
            return []
        return [(ext, name) for ext, name, words in self._words
                if any(w.startswith(keys) for w in words if w)]
