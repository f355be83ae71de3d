"""`[api] listen` addresses: "host:port" or "[v6]:port", and whether the host is loopback."""

from __future__ import annotations

import ipaddress
import re


class ListenError(ValueError):
    """Not a listen address; the message says why (it names no key: the caller does)."""


_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")


def parse_listen(text: str, any_port: bool = False) -> tuple[str, int, bool]:
    """`(host, port, is_loopback)` of "127.0.0.1:8080", "[::1]:8080" or "localhost:8080";
    `any_port`: port 0 (any free one, for tests) is allowed."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([^:\[\]]+):([0-9]{1,5})", text)
    if not m:
        raise ListenError(f'"{text}" is not host:port (e.g. "127.0.0.1:8080", "[::1]:8080")')
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not (0 if any_port else 1) <= port <= 65535:
        raise ListenError(f'"{text}": {port} is not a TCP port (1-65535)')
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if m.group(1) or not _HOSTNAME.fullmatch(host):
            raise ListenError(f'"{text}": "{host}" is not an IP address or host name') from None
        return host, port, host.lower() == "localhost"
    return host, port, address.is_loopback
