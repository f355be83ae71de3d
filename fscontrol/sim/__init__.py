"""A simulated FreeSWITCH 1.10.12 speaking the event socket protocol, for tests and demos.

    from fscontrol.sim import SimSwitch
    sw = SimSwitch(dialplan="dialplan/").start()
"""
from .phones import Phone
from .switch import SimSwitch

__all__ = ["SimSwitch", "Phone"]
