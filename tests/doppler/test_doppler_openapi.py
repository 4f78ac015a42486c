"""The test server's answers and the client's requests, checked against Doppler's OpenAPI spec."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from secretsync.doppler.client import ClientSettings, DopplerClient
from secretsync.doppler.interface import ChangeRequest, ConfigRef
from secretsync.push import push
from secretsync.testing import DopplerTestServer

SPEC_PATH = Path(__file__).parents[2] / ".." / "shared" / "doppler" / "openapi.json"
NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Fields the spec lists that Doppler adds only for some principals; not required of the server.
OPTIONAL_FIELDS = {"principal"}


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline every local `$ref` (the spec uses `#/components/...` pointers)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            assert ref not in seen, f"recursive $ref {ref}"
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(target, root, (*seen, ref))
        return {k: resolve(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, root, seen) for v in node]
    return node


def tighten(schema: Any) -> Any:
    """Make the spec's example-driven schemas strict enough to fail.

    Objects whose properties are all example secret names (STRIPE, ALGOLIA, ...) are maps from
    any secret name to the example's value schema; every other declared property is required.
    """
    if not isinstance(schema, dict):
        return schema
    out = {k: tighten(v) for k, v in schema.items()}
    props = out.get("properties")
    if out.get("type") == "object" and isinstance(props, dict) and props:
        if all(NAME_RE.fullmatch(k) for k in props):
            first = next(iter(props.values()))
            out.pop("properties")
            out["propertyNames"] = {"pattern": NAME_RE.pattern}
            out["additionalProperties"] = first
        else:
            out["required"] = sorted(set(props) - OPTIONAL_FIELDS)
    return out


def operation(path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = resolve(spec()["paths"][path][method.lower()], spec())
    return op


def response_validator(path: str, method: str, status: int) -> Draft202012Validator:
    content = operation(path, method)["responses"][str(status)]["content"]["application/json"]
    return Draft202012Validator(tighten(content["schema"]))


def request_validator(path: str, method: str) -> Draft202012Validator:
    schema = copy.deepcopy(
        operation(path, method)["requestBody"]["content"]["application/json"]["schema"]
    )
    items = schema["properties"]["change_requests"]["items"]["properties"]
    # The spec's own descriptions say "Use null (an actual null)" for these two.
    for key in ("originalName", "value"):
        items[key]["type"] = ["string", "null"]
    return Draft202012Validator(schema)


def check_params(path: str, method: str, params: httpx.QueryParams) -> None:
    declared = {p["name"]: p for p in operation(path, method).get("parameters", [])
                if p["in"] == "query"}
    unknown = set(params) - set(declared)
    assert not unknown, f"{method} {path}: undeclared query parameters {unknown}"
    for name, p in declared.items():
        if p.get("required") and "Service Token" not in p.get("description", ""):
            assert name in params, f"{method} {path}: missing required {name}"
    for name, raw in params.items():
        typ = declared[name]["schema"].get("type")
        value: Any = raw
        if typ == "boolean":
            assert raw in ("true", "false"), (name, raw)
            value = raw == "true"
        elif typ == "integer":
            value = int(raw)
        errors = list(Draft202012Validator(declared[name]["schema"]).iter_errors(value))
        assert not errors, (name, errors)


def test_spec_is_loadable_and_has_the_endpoints() -> None:
    paths = spec()["paths"]
    for p in ("/v3/me", "/v3/projects", "/v3/configs", "/v3/configs/config/secrets",
              "/v3/configs/config/secrets/names", "/v3/configs/config/secrets/download",
              "/v3/configs/config/secret"):
        assert p in paths


def test_tighten_makes_the_schema_fail_on_wrong_shapes() -> None:
    v = response_validator("/v3/configs/config/secrets", "GET", 200)
    assert not list(v.iter_errors({"secrets": {"A": {"raw": "x", "computed": "x", "note": "",
                                                       "rawVisibility": "masked",
                                                       "computedVisibility": "masked"}}}))
    assert list(v.iter_errors({"secrets": {"A": {"raw": 1}}}))
    assert list(v.iter_errors({"secrets": {"bad-name": {}}}))
    assert list(response_validator("/v3/me", "GET", 200).iter_errors({"slug": "x"}))


@pytest.fixture
def seeded(server: DopplerTestServer) -> tuple[DopplerTestServer, httpx.Client]:
    server.set_secret("app", "dev", "API_KEY", "v1")
    server.set_secret("app", "dev", "DB_URL", "postgres://x")
    tok = server.issue_token("personal")
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tok}"})
    return server, http


CASES = [
    ("/v3/me", {}),
    ("/v3/projects", {"page": "1", "per_page": "20"}),
    ("/v3/configs", {"project": "app"}),
    ("/v3/configs/config/secrets/names",
     {"project": "app", "config": "dev", "include_managed_secrets": "false"}),
    ("/v3/configs/config/secrets", {"project": "app", "config": "dev"}),
    ("/v3/configs/config/secrets", {"project": "app", "config": "dev", "secrets": "API_KEY"}),
    ("/v3/configs/config/secrets/download", {"project": "app", "config": "dev", "format": "json"}),
    ("/v3/configs/config/secret", {"project": "app", "config": "dev", "name": "API_KEY"}),
]


@pytest.mark.parametrize(("path", "params"), CASES)
def test_server_get_responses_match_the_spec(
    seeded: tuple[DopplerTestServer, httpx.Client], path: str, params: dict[str, str]
) -> None:
    _, http = seeded
    check_params(path, "GET", httpx.QueryParams(params))
    r = http.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    errors = list(response_validator(path, "GET", 200).iter_errors(body))
    assert not errors, errors
    assert body  # an empty object would pass a lax schema


def test_server_post_and_delete_match_the_spec(
    seeded: tuple[DopplerTestServer, httpx.Client],
) -> None:
    server, http = seeded
    body = {"project": "app", "config": "dev",
            "change_requests": [{"name": "NEW", "originalName": None, "value": "n"}]}
    assert not list(request_validator("/v3/configs/config/secrets", "POST").iter_errors(body))
    r = http.post("/v3/configs/config/secrets", json=body)
    assert r.status_code == 200
    assert not list(response_validator("/v3/configs/config/secrets", "POST", 200)
                    .iter_errors(r.json()))
    r = http.delete("/v3/configs/config/secret",
                    params={"project": "app", "config": "dev", "name": "NEW"})
    assert r.status_code == 204
    assert r.content == b""
    assert server.get_secret("app", "dev", "NEW") is None


class Recorder(httpx.BaseTransport):
    """Forwards to the real server and keeps every request for inspection."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)


def test_client_requests_match_the_spec(server: DopplerTestServer) -> None:
    server.set_secret("app", "prd", "OLD", "o")
    rec = Recorder()
    tok = server.issue_token("personal")
    with DopplerClient(tok, settings=ClientSettings(api_host=server.url), transport=rec) as c:
        c.me()
        c.list_projects()
        c.list_configs("app")
        c.secret_names("app", "prd")
        push(c, {ConfigRef("app", "prd"): {"OLD": "o2", "NEW": "n"}}, overwrite=True)
        c.write("app", "prd", [ChangeRequest("OLD", "o3", "OLD", "o2")])
    seen = set()
    for req in rec.requests:
        path, method = req.url.path, req.method
        seen.add((method, path))
        check_params(path, method, req.url.params)
        if method == "POST":
            body = json.loads(req.content)
            errors = list(request_validator(path, method).iter_errors(body))
            assert not errors, errors
            assert ("secrets" in body) != ("change_requests" in body)
    assert ("POST", "/v3/configs/config/secrets") in seen
    assert ("GET", "/v3/configs/config/secrets") in seen
    assert len(seen) >= 6
