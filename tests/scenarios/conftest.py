"""Scenarios run on the backend the `backend` fixture picks (tests/backends.py)."""

from backends import backend  # noqa: F401
