"""Shared fixtures: a live test server, tokens, and clients that never really sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from doppler_helpers import ClientFactory, FakeSleep

from secretsync.doppler.client import ClientSettings, DopplerClient, RetryPolicy
from secretsync.testing import DopplerTestServer


@pytest.fixture
def server() -> Iterator[DopplerTestServer]:
    with DopplerTestServer() as srv:
        srv.add_project("app")
        yield srv


@pytest.fixture
def token(server: DopplerTestServer) -> str:
    return server.issue_token("personal")


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def make_client(server: DopplerTestServer, fake_sleep: FakeSleep) -> Iterator[ClientFactory]:
    clients: list[DopplerClient] = []

    def factory(tok: str, **kwargs: object) -> DopplerClient:
        kwargs.setdefault("settings", ClientSettings(api_host=server.url))
        kwargs.setdefault("sleep", fake_sleep.sleep)
        kwargs.setdefault("clock", fake_sleep.clock)
        kwargs.setdefault("retry", RetryPolicy(attempts=5, budget=120))
        client = DopplerClient(tok, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.close()
