"""Fixtures for the ESL core tests: a fake/replay ESL server and clients with short timeouts."""

import pytest

from fscontrol.esl import EslClient

from .fakeswitch import FakeSwitch


@pytest.fixture
def fake_switch():
    sw = FakeSwitch().start()
    yield sw
    sw.stop()


@pytest.fixture
def make_client():
    clients = []

    def make(port, password="ClueCon", **kw):
        kw.setdefault("connect_timeout", 1.0)
        kw.setdefault("command_timeout", 1.0)
        kw.setdefault("heartbeat_interval", None)
        kw.setdefault("backoff", (0.02, 0.2))
        client = EslClient("127.0.0.1", port, password, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def client(fake_switch, make_client):
    c = make_client(fake_switch.port)
    c.connect(timeout=2)
    return c
