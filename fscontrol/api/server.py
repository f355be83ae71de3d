"""The HTTP server: gevent's WSGI server in the controller's own hub (no thread, no second
loop), serving fscontrol.api.app on `[api] listen`."""

from __future__ import annotations

import logging
import socket

from gevent.pool import Pool
from gevent.pywsgi import LoggingLogAdapter, WSGIHandler, WSGIServer

from .listen import parse_listen

log = logging.getLogger("fscontrol.api")

IO_TIMEOUT = 30.0    # seconds one read or write may block (a stalled client is then cut off)
# connections served at once beyond the event streams (api.max_streams): past that the server
# stops accepting and the kernel's backlog holds the rest, so a client opening connections in a
# loop (or a slowloris trickling its headers) cannot take every file descriptor of the process,
# which the database and the event socket need too
SPARE_CONNECTIONS = 100


class _Redacted(str):
    """The Authorization header's value, shown as *** wherever the WSGI environ is printed
    (gevent prints a request's whole environ when a response fails mid-stream, e.g. a write to a
    stalled event-stream client timing out)."""

    def __repr__(self) -> str:
        return "'***'"

    __str__ = str.__str__


def without_secrets(app):
    def application(environ, start_response):
        if "HTTP_AUTHORIZATION" in environ:
            environ["HTTP_AUTHORIZATION"] = _Redacted(environ["HTTP_AUTHORIZATION"])
        return app(environ, start_response)
    return application


class _Handler(WSGIHandler):
    def handle(self):
        self.socket.settimeout(IO_TIMEOUT)
        # pywsgi writes a response's headers and body separately: with Nagle on, the body then
        # waits for the client's delayed ACK (40 ms a request on Linux); events must not wait
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()


class ApiServer:
    """`ApiServer(config, database).start()`; set `.controller` while this process is active."""

    def __init__(self, config, database, listen: str | None = None):
        from .app import create_app
        from .context import ApiContext
        self.context = ApiContext(config, database)
        self.app = create_app(self.context)
        self.listen_text = listen or config.api.listen
        host, port, _ = parse_listen(self.listen_text, any_port=True)
        self.server = WSGIServer(
            (host, port), without_secrets(self.app), handler_class=_Handler,
            spawn=Pool(config.api.max_streams + SPARE_CONNECTIONS),
            log=LoggingLogAdapter(logging.getLogger("fscontrol.api.access"), logging.DEBUG),
            error_log=LoggingLogAdapter(logging.getLogger("fscontrol.api.server"), logging.WARNING))

    @property
    def controller(self):
        return self.context.controller

    @controller.setter
    def controller(self, controller) -> None:
        self.context.controller = controller

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def url(self) -> str:
        host = self.server.server_host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def start(self) -> "ApiServer":
        try:
            self.server.start()
        except OSError as e:   # the port taken (another controller on this host?), no such address
            from ..errors import ConfigError
            self.context.tokens.close()
            raise ConfigError([("api.listen", f'cannot listen on "{self.listen_text}": '
                                              f'{e.strerror or e}')]) from None
        log.info("HTTP API listening on %s/api/v1", self.url)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self.server.stop(timeout=timeout)
        self.context.tokens.close()
