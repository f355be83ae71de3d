"""The running controller: the database, the ESL client and the features, until it is stopped.

Features attach their event handlers to the shared `EslClient`; on every (re)connect the client
has already resubscribed and rebuilt its channel registry before `on_connect` hooks run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket

import gevent
import gevent.event

from .config import Config
from .errors import SwitchAuthFailed

log = logging.getLogger(__name__)


class Controller:
    """Wires one site's features to one switch and one database."""

    def __init__(self, config: Config, database, esl):
        self.config = config
        self.database = database
        self.esl = esl
        self.features: list = []
        from .bus import EventBus
        self.bus = EventBus(config.api.event_buffer, config.api.client_queue)

    def feature(self, name: str):
        """The attached feature whose `name` is `name` ("park", "pickup", "attendant", ...), or None."""
        return next((f for f in self.features if getattr(f, "name", None) == name), None)

    def start(self) -> "Controller":
        from . import metrics
        esl = self.esl
        esl.on_connect(self._on_connect)
        esl.on_disconnect(lambda _esl: metrics.esl_connected.set(0))
        # read at each scrape; the lag is observed by the dispatcher as each event is handled
        metrics.event_queue_depth.set_function(lambda: esl.dispatcher.pending)
        esl.dispatcher.lag_observer = metrics.event_lag.observe
        for feature in self.features:
            feature.attach(self)
        self.esl.start()
        return self

    def stop(self) -> None:
        for feature in self.features:
            stop = getattr(feature, "stop", None)
            if stop is not None:
                stop()
        self.esl.stop()

    def _on_connect(self, esl) -> None:
        from . import metrics
        metrics.esl_connected.set(1)
        # A deploy that could not reach the switch left its reloadxml pending: do it now.
        from .errors import FscontrolError
        from .render import reload_if_pending
        try:
            if reload_if_pending(self.config, esl):
                log.info("sent the reload a previous deploy left pending")
        except FscontrolError as e:
            log.warning("%s", e)


def build(config: Config, database, esl, controller_id: str | None = None) -> Controller:
    """A Controller with every feature of this build attached (not started)."""
    from .attendant import AttendantFeature
    from .callviawork import CallViaWorkFeature
    from .calls import CallsFeature
    from .park import ParkFeature
    from .pickup import PickupFeature
    controller = Controller(config, database, esl)
    controller.features.append(CallsFeature())    # first: park and pickup announce through it
    controller.features.append(ParkFeature(controller_id))
    controller.features.append(PickupFeature())   # after park: it picks up park ring-backs
    controller.features.append(CallViaWorkFeature())   # its park() uses the park service
    if config.voicemail.enabled:
        from .voicemail import VoicemailFeature
        controller.features.append(VoicemailFeature())
    controller.features.append(AttendantFeature())
    return controller


def make_client(config: Config, **overrides):
    """An EslClient for the configured switch (not started)."""
    from .esl import EslClient
    s = config.switch
    return EslClient(s.esl_host, s.esl_port, s.esl_password.reveal(), **overrides)


def check_password(config: Config) -> None:
    """One short connection at start, standby or not: a wrong ESL password ends the run now
    (SwitchAuthFailed), not at a failover years later. A switch that does not answer is only
    logged: the controller that becomes active retries it."""
    from .esl import AuthenticationError, EslError
    from .esl.connection import EslConnection
    s = config.switch
    conn = EslConnection(s.esl_host, s.esl_port, s.esl_password.reveal(), connect_timeout=3)
    try:
        conn.connect()
    except AuthenticationError:
        raise SwitchAuthFailed(f"ESL at {s.esl_host}:{s.esl_port} rejected the password") from None
    except EslError as e:
        log.info("password not checked at start: %s", e)
    finally:
        conn.close("password checked")


def run(config: Config, stop: gevent.event.Event | None = None) -> int:
    """Runs until SIGINT/SIGTERM (or `stop` is set). Connection failures are retried with backoff,
    one log line each; a rejected password ends the run with SwitchAuthFailed.

    Only the controller holding the switch's active lock (fscontrol.ha) connects to the switch;
    another one for the same switch waits as standby, and an active one that loses the lock
    stops every feature and its ESL connection, then waits as standby again."""
    from .db import open_database
    from .ha import ActiveLock

    stop = stop or gevent.event.Event()
    database = open_database(config)
    controller_id = f"{socket.gethostname()}:{os.getpid()}"
    lock = ActiveLock(database, config.switch.identity, controller_id, config.ha.step_down_after)
    handlers = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    check_password(config)
    api = None
    if config.api.listen:   # up while standby too: /healthz answers, /readyz says "standby"
        from .api.server import ApiServer
        api = ApiServer(config, database).start()
    try:
        while lock.acquire(stop):
            controller = build(config, database, make_client(config), controller_id).start()
            log.info("fscontrol running against ESL %s:%s", config.switch.esl_host,
                     config.switch.esl_port)
            if api is not None:
                api.controller = controller
            try:
                gevent.wait([stop, controller.esl.rejected, lock.lost], count=1)
            finally:
                if api is not None:
                    api.controller = None
                controller.stop()   # nothing acts past this line: the standby may win the lock
            if controller.esl.rejected.is_set():
                raise SwitchAuthFailed(controller.esl.last_error)
            if stop.is_set():
                break
            log.warning("switch %s: stopped acting (features and ESL connection closed); standby "
                        "until this controller wins the lock again", config.switch.identity)
    finally:
        if api is not None:
            api.stop()
        lock.release()
        for handler in handlers:
            handler.cancel()
    log.info("fscontrol stopped")
    return 0
