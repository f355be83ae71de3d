"""The simulated switch runs on gevent: patch before sockets are made, as tests/sim does."""
from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()
