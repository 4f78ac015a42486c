"""The httpx client against respx: every status and retry path, with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from doppler_helpers import FakeSleep

from secretsync.doppler.client import ClientSettings, DopplerClient, RetryPolicy
from secretsync.doppler.interface import ChangeRequest, ConfigRef
from secretsync.errors import ConfigError, CredentialsError, DopplerError, DopplerHTTPError

HOST = "https://api.doppler.com"
TOKEN = "dp.pt.respxtoken000000000000000000000000"
SERVICE = "dp.st.prd.respxservice0000000000000000000"
ME = {"slug": "s", "name": "n", "type": "personal", "token_preview": "dp.pt...",
      "workplace": {"slug": "wp", "name": "Work"}}
SECRETS = "/v3/configs/config/secrets"


def secrets_body(values: dict[str, str]) -> dict[str, Any]:
    return {"secrets": {k: {"raw": v, "computed": v, "note": ""} for k, v in values.items()}}


def err(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"messages": [message], "success": False},
                          headers=headers)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=HOST, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(fake_sleep: FakeSleep) -> Iterator[DopplerClient]:
    with DopplerClient(TOKEN, settings=ClientSettings(), sleep=fake_sleep.sleep,
                       clock=fake_sleep.clock, wall_clock=lambda: 5000.0,
                       retry=RetryPolicy(attempts=4, budget=30)) as c:
        yield c


def test_bearer_auth_and_me(mock: respx.MockRouter, client: DopplerClient) -> None:
    route = mock.get("/v3/me").respond(json=ME)
    info = client.me()
    assert (info.type, info.workplace_slug, info.workplace_name, info.scope) == (
        "personal", "wp", "Work", None)
    req = route.calls.last.request
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(info)


def test_429_with_retry_after_is_honoured(
    mock: respx.MockRouter, client: DopplerClient, fake_sleep: FakeSleep
) -> None:
    mock.get("/v3/me").mock(side_effect=[err(429, "slow down", **{"retry-after": "7"}),
                                         httpx.Response(200, json=ME)])
    assert client.me().name == "n"
    assert fake_sleep.calls == [7.0]


def test_429_with_only_ratelimit_reset(
    mock: respx.MockRouter, client: DopplerClient, fake_sleep: FakeSleep
) -> None:
    mock.get("/v3/me").mock(side_effect=[err(429, "slow", **{"x-ratelimit-reset": "5012"}),
                                         httpx.Response(200, json=ME)])
    client.me()
    assert fake_sleep.calls == [12.0]  # reset (Unix seconds) minus the wall clock (5000)


def test_429_beyond_the_budget_gives_up_without_waiting(
    mock: respx.MockRouter, client: DopplerClient, fake_sleep: FakeSleep
) -> None:
    mock.get("/v3/me").respond(429, json={"messages": ["x"], "success": False},
                               headers={"retry-after": "3600"})
    with pytest.raises(DopplerHTTPError) as info:
        client.me()
    assert info.value.status == 429
    assert fake_sleep.calls == []
    assert "rate limit" in str(info.value)


def test_500_then_success_backs_off_exponentially(
    mock: respx.MockRouter, client: DopplerClient, fake_sleep: FakeSleep
) -> None:
    route = mock.get("/v3/me").mock(side_effect=[err(500, "boom"), err(502, "boom"),
                                                 httpx.Response(200, json=ME)])
    client.me()
    assert route.call_count == 3
    assert len(fake_sleep.calls) == 2
    assert 0.25 <= fake_sleep.calls[0] <= 0.5 and 0.5 <= fake_sleep.calls[1] <= 1.0


def test_persistent_500_stops_after_the_attempt_limit(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    route = mock.get("/v3/me").mock(return_value=err(503, "down"))
    with pytest.raises(DopplerHTTPError) as info:
        client.me()
    assert route.call_count == 4
    assert info.value.status == 503
    assert "gave up after 4" in str(info.value)


def test_connection_error_and_timeout_are_retried(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    route = mock.get("/v3/me").mock(side_effect=[httpx.ConnectError("refused"),
                                                 httpx.ReadTimeout("slow"),
                                                 httpx.Response(200, json=ME)])
    client.me()
    assert route.call_count == 3


@pytest.mark.parametrize(("status", "hint_word"), [(401, "invalid"), (403, "read-only"),
                                                   (404, "does not exist")])
def test_4xx_are_not_retried_and_carry_hints(
    mock: respx.MockRouter, client: DopplerClient, status: int, hint_word: str
) -> None:
    route = mock.get("/v3/configs/config/secrets/names").mock(
        return_value=err(status, "Doppler says no"))
    with pytest.raises(DopplerHTTPError) as info:
        client.secret_names("app", "dev")
    assert route.call_count == 1
    assert info.value.status == status
    assert info.value.exit_code == 2
    assert "Doppler says no" in str(info.value)
    assert info.value.hint is not None and hint_word in info.value.hint


def test_names_exclude_managed_and_ask_without_them(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    route = mock.get("/v3/configs/config/secrets/names").respond(
        json={"names": ["A", "DOPPLER_CONFIG", "B"]})
    assert client.secret_names("app", "dev") == {"A", "B"}
    assert route.calls.last.request.url.params["include_managed_secrets"] == "false"


def test_get_values_batches_names_and_skips_absent(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    route = mock.get(SECRETS).mock(side_effect=lambda req: httpx.Response(
        200, json=secrets_body({n: n.lower() for n in req.url.params["secrets"].split(",")
                                if n != "ABSENT"})))
    names = [f"N{i}" for i in range(120)] + ["ABSENT"]
    values = client.get_values("app", "dev", names)
    assert len(values) == 120 and values["N7"] == "n7"
    assert route.call_count == 3  # 121 names in chunks of 50
    assert all(c.request.url.params["include_managed_secrets"] == "false" for c in route.calls)


def test_restricted_value_is_an_error_not_absent(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    mock.get(SECRETS).respond(json={"secrets": {"R": {"raw": None, "computed": None}}})
    with pytest.raises(DopplerError, match="restricted"):
        client.get_values("app", "dev", ["R"])


def test_write_is_one_batched_post(mock: respx.MockRouter, client: DopplerClient) -> None:
    route = mock.post(SECRETS).respond(json=secrets_body({}))
    client.write("app", "prd", [ChangeRequest("A", "1"), ChangeRequest("B", "2", "B", "old")])
    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert body == {"project": "app", "config": "prd", "change_requests": [
        {"name": "A", "originalName": None, "value": "1"},
        {"name": "B", "originalName": "B", "value": "2", "originalValue": "old"}]}


def test_write_429_is_resent_as_is(mock: respx.MockRouter, client: DopplerClient) -> None:
    post = mock.post(SECRETS).mock(side_effect=[err(429, "x", **{"retry-after": "1"}),
                                                httpx.Response(200, json=secrets_body({}))])
    get = mock.get(SECRETS)
    client.write("app", "prd", [ChangeRequest("A", "1")])
    assert post.call_count == 2
    assert get.call_count == 0


def test_write_dropped_after_apply_reads_back_and_does_not_resend(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    post = mock.post(SECRETS).mock(side_effect=httpx.RemoteProtocolError("disconnected"))
    get = mock.get(SECRETS).respond(json=secrets_body({"A": "1", "B": "2"}))
    client.write("app", "prd", [ChangeRequest("A", "1"), ChangeRequest("B", "2")])
    assert post.call_count == 1
    assert get.call_count == 1


def test_write_500_partially_applied_resends_only_the_rest(
    mock: respx.MockRouter, client: DopplerClient
) -> None:
    post = mock.post(SECRETS).mock(side_effect=[err(500, "boom"),
                                                httpx.Response(200, json=secrets_body({}))])
    mock.get(SECRETS).respond(json=secrets_body({"A": "1"}))
    client.write("app", "prd", [ChangeRequest("A", "1"), ChangeRequest("B", "2")])
    assert post.call_count == 2
    second = json.loads(post.calls[1].request.content)
    assert [c["name"] for c in second["change_requests"]] == ["B"]


def test_write_400_is_not_retried(mock: respx.MockRouter, client: DopplerClient) -> None:
    post = mock.post(SECRETS).mock(return_value=err(400, "value changed"))
    with pytest.raises(DopplerHTTPError, match="value changed"):
        client.write("app", "prd", [ChangeRequest("A", "1", "A", "0")])
    assert post.call_count == 1


def test_service_token_scope_is_detected_and_enforced(
    mock: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    download = mock.get("/v3/configs/config/secrets/download").respond(
        json={"DOPPLER_PROJECT": "app", "DOPPLER_CONFIG": "prd"})
    mock.get("/v3/me").respond(json={**ME, "type": "service_token"})
    post = mock.post(SECRETS)
    with DopplerClient(SERVICE, settings=ClientSettings(), sleep=fake_sleep.sleep) as c:
        assert c.me().scope == ConfigRef("app", "prd")
        c.check_scope([ConfigRef("app", "prd")])
        with pytest.raises(DopplerError) as info:
            c.check_scope([ConfigRef("app", "prd"), ConfigRef("app", "dev")])
        assert "app/dev" in str(info.value) and "app/prd" in str(info.value)
        with pytest.raises(DopplerError):
            c.write("app", "dev", [ChangeRequest("A", "1")])
    assert post.call_count == 0
    assert download.call_count == 1  # detected once, then cached
    assert download.calls.last.request.url.params["project"] == ""


def test_settings_from_env_mirror_the_doppler_cli() -> None:
    s = ClientSettings.from_env({"DOPPLER_API_HOST": "http://127.0.0.1:8123/",
                                 "DOPPLER_VERIFY_TLS": "false"})
    assert (s.api_host, s.verify_tls) == ("http://127.0.0.1:8123", False)
    assert ClientSettings.from_env({"DOPPLER_VERIFY_TLS": "0"}).verify_tls is False
    assert ClientSettings.from_env({}) == ClientSettings("https://api.doppler.com", True)
    for bad in ("http://doppler.example.com", "ftp://x", "https://user:pw@api.doppler.com"):
        with pytest.raises(ConfigError):
            ClientSettings.from_env({"DOPPLER_API_HOST": bad})


def test_header_breaking_tokens_are_refused() -> None:
    with pytest.raises(CredentialsError):
        DopplerClient("dp.pt.abc\r\nX-Evil: 1")
    with pytest.raises(CredentialsError):
        DopplerClient("   ")


def test_pagination_follows_full_pages(mock: respx.MockRouter, client: DopplerClient) -> None:
    page1 = [{"slug": f"p{i}", "name": f"p{i}"} for i in range(100)]
    route = mock.get("/v3/projects").mock(side_effect=[
        httpx.Response(200, json={"page": 1, "projects": page1}),
        httpx.Response(200, json={"page": 2, "projects": [{"slug": "last", "name": "last"}]})])
    projects = client.list_projects()
    assert len(projects) == 101 and projects[-1].slug == "last"
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2"]


def test_non_json_success_is_an_error(mock: respx.MockRouter, client: DopplerClient) -> None:
    mock.get("/v3/me").respond(200, text="<html>proxy</html>")
    with pytest.raises(DopplerHTTPError, match="not JSON"):
        client.me()
