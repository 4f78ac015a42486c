"""Plant a token and values, hit every error path, and look for them everywhere."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx

from secretsync.credentials import Token, get_token
from secretsync.doppler.client import ClientSettings, DopplerClient, RetryPolicy
from secretsync.doppler.interface import ChangeRequest, ConfigRef
from secretsync.errors import SecretsyncError
from secretsync.push import push
from secretsync.testing import DopplerTestServer

TOKEN = "dp.pt.CANARYTOKEN7f3a9c2e1b4d6f8a0c2e4b6d8f0a2c4e"
VALUE = "canary-secret-value-9d8c7b6a"
OLD = "canary-old-value-1a2b3c4d"
HOST = "https://api.doppler.com"


def assert_clean(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        caplog.text,
        "\n".join(r.getMessage() for r in caplog.records),
    ]
    for text in texts:
        for canary in (TOKEN, VALUE, OLD):
            assert canary not in text, f"{canary[:12]}... leaked"


@pytest.fixture
def quick() -> Callable[..., DopplerClient]:
    def make(**kw: object) -> DopplerClient:
        kw.setdefault("settings", ClientSettings())
        return DopplerClient(TOKEN, sleep=lambda s: None,
                             retry=RetryPolicy(attempts=2, budget=5), **kw)  # type: ignore[arg-type]
    return make


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=HOST, assert_all_called=False) as router:
        yield router


def echoing_error(status: int) -> httpx.Response:
    # A hostile or buggy server echoing what it was sent back in its error message.
    return httpx.Response(status, json={"messages": [f"bad {VALUE} {OLD} token {TOKEN}"],
                                        "success": False})


FAILURES: list[Callable[[], httpx.Response]] = [
    lambda: echoing_error(400), lambda: echoing_error(401), lambda: echoing_error(403),
    lambda: echoing_error(404), lambda: echoing_error(500), lambda: echoing_error(429),
]
RAISES: list[Exception] = [
    httpx.ConnectError(f"connect failed {TOKEN}"),
    httpx.ReadTimeout(f"timed out {VALUE}"),
    httpx.RemoteProtocolError(f"dropped {VALUE}"),
    httpx.UnsupportedProtocol(f"weird {TOKEN}"),
]


@pytest.mark.parametrize("response", FAILURES)
def test_http_errors_do_not_leak(
    mock: respx.MockRouter, quick: Callable[..., DopplerClient],
    caplog: pytest.LogCaptureFixture, response: Callable[[], httpx.Response],
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.post("/v3/configs/config/secrets").mock(side_effect=lambda req: response())
    mock.get("/v3/configs/config/secrets").mock(side_effect=lambda req: response())
    client = quick()
    with pytest.raises(SecretsyncError) as info:
        client.write("app", "prd", [ChangeRequest("A", VALUE, "A", OLD)])
    assert "bad" in str(info.value) or "gave up" in str(info.value)
    assert_clean(info.value, caplog)
    assert TOKEN not in repr(client)


@pytest.mark.parametrize("exc", RAISES, ids=lambda e: type(e).__name__)
def test_transport_errors_do_not_leak(
    mock: respx.MockRouter, quick: Callable[..., DopplerClient],
    caplog: pytest.LogCaptureFixture, exc: Exception,
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.route().mock(side_effect=exc)
    with pytest.raises(SecretsyncError) as info:
        quick().write("app", "prd", [ChangeRequest("A", VALUE, "A", OLD)])
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_clean(info.value, caplog)


def test_live_server_error_paths_do_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with DopplerTestServer() as srv:
        srv.add_project("app")
        tok = srv.issue_token()
        srv.set_secret("app", "prd", "A", OLD)
        errors: list[BaseException] = []

        def attempt(fn: Callable[[], object]) -> None:
            try:
                fn()
            except SecretsyncError as e:
                errors.append(e)

        def client() -> DopplerClient:
            return DopplerClient(tok, settings=ClientSettings(api_host=srv.url),
                                 sleep=lambda s: None, retry=RetryPolicy(attempts=2, budget=5))

        prd = ConfigRef("app", "prd")
        srv.faults.fail(10)
        attempt(lambda: push(client(), {prd: {"A": VALUE}}))
        srv.faults.clear()
        attempt(lambda: push(client(), {ConfigRef("nope", "prd"): {"A": VALUE}}))
        attempt(lambda: client().write("app", "prd", [ChangeRequest("A", VALUE, "A", "stale")]))
        attempt(lambda: client().write("app", "prd", [ChangeRequest("a-b", VALUE)]))
        srv.revoke_token(tok)
        attempt(lambda: push(client(), {prd: {"A": VALUE}}))
        log = repr(srv.request_log)
    assert len(errors) == 5
    for e in errors:
        assert_clean(e, caplog)
    for canary in (VALUE, OLD, tok):
        assert canary not in log


def test_token_holder_and_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    t = get_token({"DOPPLER_TOKEN": TOKEN})
    assert t.value == TOKEN
    assert TOKEN not in repr(t) and TOKEN not in str(t) and TOKEN not in f"{t}"
    assert TOKEN not in repr(Token(TOKEN, "keyring"))
    cr = ChangeRequest("A", VALUE, "A", OLD)
    assert VALUE not in repr(cr) and OLD not in repr(cr)
