"""fscontrol: enterprise-voice features (call park, group pickup, call via work) for FreeSWITCH."""

__version__ = "0.1.0"
