"""The test server refuses what Doppler refuses and misbehaves on request."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from secretsync.testing import DopplerTestServer

SECRETS = "/v3/configs/config/secrets"
DEV = {"project": "app", "config": "dev"}


def http(server: DopplerTestServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def post(c: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return c.post(SECRETS, json={**DEV, **body})


def error_of(r: httpx.Response) -> str:
    body = r.json()
    assert body["success"] is False
    assert isinstance(body["messages"], list)
    msg: str = body["messages"][0]
    return msg


def test_bad_names_both_bodies_and_managed_names_are_refused(
    server: DopplerTestServer, token: str
) -> None:
    c = http(server, token)
    for bad in ("lower", "1STARTS_WITH_DIGIT", "HAS-DASH", "", "DOPPLER_CONFIG"):
        r = post(c, {"secrets": {bad: "v"}})
        assert r.status_code == 400, bad
        error_of(r)
    r = post(c, {"secrets": {"A": "1"},
                 "change_requests": [{"name": "B", "originalName": None, "value": "2"}]})
    assert r.status_code == 400
    assert "not both" in error_of(r)
    assert post(c, {}).status_code == 400
    assert server.secrets("app", "dev") == {}


def test_original_value_guard(server: DopplerTestServer, token: str) -> None:
    server.set_secret("app", "dev", "A", "current")
    c = http(server, token)
    stale = {"name": "A", "originalName": "A", "value": "new", "originalValue": "stale"}
    r = post(c, {"change_requests": [stale]})
    assert r.status_code == 400
    assert "changed" in error_of(r)
    assert server.get_secret("app", "dev", "A") == "current"
    # A batch is all-or-nothing: one stale guard refuses every change in it.
    r = post(c, {"change_requests": [{"name": "B", "originalName": None, "value": "b"}, stale]})
    assert r.status_code == 400
    assert server.get_secret("app", "dev", "B") is None
    fresh = {**stale, "originalValue": "current"}
    assert post(c, {"change_requests": [fresh]}).status_code == 200
    assert server.get_secret("app", "dev", "A") == "new"


def test_rename_and_delete_via_change_requests(server: DopplerTestServer, token: str) -> None:
    server.set_secret("app", "dev", "OLD", "v")
    c = http(server, token)
    r = post(c, {"change_requests": [{"name": "NEW", "originalName": "OLD", "value": None}]})
    assert r.status_code == 200
    assert server.secrets("app", "dev") == {"NEW": "v"}
    r = post(c, {"change_requests": [{"name": "NEW", "originalName": "NEW", "value": None,
                                      "shouldDelete": True}]})
    assert r.status_code == 200
    assert server.secrets("app", "dev") == {}


def test_scopes_and_unknowns(server: DopplerTestServer) -> None:
    st = server.issue_token("service_token", project="app", config="prd", write=False)
    c = http(server, st)
    assert c.get("/v3/configs/config/secrets/names", params=DEV).status_code == 403
    assert c.get("/v3/configs/config/secrets/names",
                 params={"project": "", "config": ""}).status_code == 200
    r = c.post(SECRETS, json={"project": "app", "config": "prd", "secrets": {"A": "1"}})
    assert r.status_code == 403
    assert "write" in error_of(r)
    assert c.get("/v3/projects").status_code == 403
    p = http(server, server.issue_token("personal"))
    r = p.get("/v3/configs/config/secrets", params={"project": "nope", "config": "dev"})
    assert (r.status_code, error_of(r)) == (404, "Could not find requested project")
    r = p.get("/v3/configs/config/secrets", params={"project": "app", "config": "nope"})
    assert (r.status_code, error_of(r)) == (404, "Could not find requested config")
    r = p.get("/v3/configs/config/secret", params={**DEV, "name": "MISSING"})
    assert r.status_code == 404
    # Another workplace's token cannot see the project at all.
    server.add_workplace("other")
    o = http(server, server.issue_token("personal", workplace="other"))
    assert o.get("/v3/configs", params={"project": "app"}).status_code == 404
    assert o.get("/v3/projects").json()["projects"] == []


def test_auth_bearer_basic_missing_and_revoked(server: DopplerTestServer, token: str) -> None:
    basic = base64.b64encode(f"{token}:".encode()).decode()
    r = httpx.get(f"{server.url}/v3/me", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200
    assert r.json()["workplace"]["slug"] == "test-workplace"
    assert httpx.get(f"{server.url}/v3/me").status_code == 401
    server.revoke_token(token)
    r = http(server, token).get("/v3/me")
    assert r.status_code == 401
    assert error_of(r) == "Invalid auth token"
    assert [e.auth for e in server.request_log] == ["basic", "none", "bearer"]


def test_download_etag_304_and_formats(server: DopplerTestServer, token: str) -> None:
    server.set_secret("app", "dev", "A", 'quo"te')
    c = http(server, token)
    params = {**DEV, "format": "json", "secrets": "A"}
    r = c.get("/v3/configs/config/secrets/download", params=params)
    assert r.json() == {"A": 'quo"te'}
    etag = r.headers["etag"]
    r2 = c.get("/v3/configs/config/secrets/download", params=params,
               headers={"If-None-Match": etag})
    assert (r2.status_code, r2.content) == (304, b"")
    server.set_secret("app", "dev", "A", "changed")
    r3 = c.get("/v3/configs/config/secrets/download", params=params,
               headers={"If-None-Match": etag})
    assert r3.status_code == 200
    assert r3.headers["etag"] != etag
    env = c.get("/v3/configs/config/secrets/download", params={**DEV, "format": "env"})
    assert 'A="changed"' in env.text
    assert "DOPPLER_PROJECT=" in env.text


def test_rate_limit_headers_and_limits(token: str) -> None:
    with DopplerTestServer(read_limit=3) as srv:
        srv.add_project("app")
        tok = srv.issue_token()
        c = http(srv, tok)
        answers = [c.get("/v3/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert int(answers[0].headers["x-ratelimit-reset"]) > time.time() - 1
    assert int(answers[3].headers["retry-after"]) >= 1
    assert error_of(answers[3]) == "Rate limit exceeded"


def test_faults(server: DopplerTestServer, token: str) -> None:
    c = http(server, token)
    server.faults.rate_limit(1, retry_after=None, reset_in=7)
    r = c.get("/v3/me")
    assert r.status_code == 429
    assert "retry-after" not in r.headers
    assert int(r.headers["x-ratelimit-reset"]) >= int(time.time()) + 5
    server.faults.fail(1, methods=("POST",))
    assert c.get("/v3/me").status_code == 200
    assert post(c, {"secrets": {"A": "1"}}).status_code == 500
    server.faults.slow(0.3)
    t0 = time.monotonic()
    c.get("/v3/me")
    assert time.monotonic() - t0 >= 0.3
    server.faults.drop_connection_after_write()
    with pytest.raises(httpx.RemoteProtocolError):
        post(c, {"secrets": {"A": "applied"}})
    assert server.get_secret("app", "dev", "A") == "applied"
    server.faults.error_after_write()
    assert post(c, {"secrets": {"B": "applied"}}).status_code == 500
    assert server.get_secret("app", "dev", "B") == "applied"


def test_request_log_holds_no_values_or_tokens(server: DopplerTestServer, token: str) -> None:
    value = "canary-value-5f1e2d"
    c = http(server, token)
    post(c, {"secrets": {"CANARY": value}})
    c.get("/v3/configs/config/secrets/download", params={**DEV, "secrets": "CANARY"})
    log = repr(server.request_log)
    assert "CANARY" in log  # names are logged
    assert value not in log
    assert token not in log
    assert token not in repr(server)
    assert server.request_log[0].query_names == ()
    assert server.request_log[1].query_names == ("config", "project", "secrets")


def test_module_entry_point_prints_url_and_token() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "secretsync.testing", "--project", "demo"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        host = proc.stdout.readline().strip().split("=", 1)[1]
        tok = proc.stdout.readline().strip().split("=", 1)[1]
        assert host.startswith("http://127.0.0.1:")
        assert tok.startswith("dp.pt.")
        r = httpx.get(f"{host}/v3/configs", params={"project": "demo"},
                      headers={"Authorization": f"Bearer {tok}"})
        assert [c["name"] for c in r.json()["configs"]] == ["dev", "stg", "prd"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
