"""A Doppler-compatible API server for tests and for users' own pipelines.

Standard library only. It speaks the endpoints secretsync, the Doppler CLI and External Secrets
Operator use, with Doppler's response and error shapes, refuses what Doppler refuses, and can be
told to misbehave (429 bursts, 500s, slow answers, a connection dropped after a write applied,
revoked tokens). Its request log holds no values and no tokens.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets as _secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SECRET_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
MANAGED = ("DOPPLER_CONFIG", "DOPPLER_ENVIRONMENT", "DOPPLER_PROJECT")
ROOT_ENVIRONMENTS = ("dev", "stg", "prd")
TOKEN_PREFIXES = {
    "service_token": "dp.st.",
    "personal": "dp.pt.",
    "cli": "dp.ct.",
    "service_account": "dp.sa.",
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


@dataclass(slots=True)
class _Secret:
    value: str = field(repr=False)
    visibility: str = "masked"
    note: str = ""


@dataclass(slots=True)
class _Config:
    name: str
    environment: str
    root: bool
    created_at: str
    secrets: dict[str, _Secret] = field(default_factory=dict, repr=False)
    version: int = 0


@dataclass(slots=True)
class _Project:
    id: str
    slug: str
    name: str
    description: str
    workplace: str
    created_at: str
    configs: dict[str, _Config] = field(default_factory=dict)


@dataclass(slots=True)
class _Token:
    kind: str
    name: str
    slug: str
    workplace: str
    project: str | None = None
    config: str | None = None
    write: bool = True
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the server saw it: no values, no tokens, no query values."""

    method: str
    path: str
    query_names: tuple[str, ...]
    status: int
    auth: str  # "bearer", "basic" or "none"
    token_kind: str | None
    user_agent: str
    # Secret names a write carried (names are not secret; values are never logged).
    body_names: tuple[str, ...] = ()


class Faults:
    """Switchable misbehaviour. Each counter is consumed by the requests it hits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rate_limited = 0
        self.retry_after: int | None = 1
        self.reset_in: int = 1
        self.server_errors = 0
        self.server_error_methods: frozenset[str] | None = None
        self.slow_seconds = 0.0
        self.slow_count = 0
        self.drop_after_write = 0
        self.fail_after_write = 0

    def rate_limit(self, count: int, *, retry_after: int | None = 1, reset_in: int = 1) -> None:
        """Answer the next `count` requests with 429. `retry_after=None` sends only the reset."""
        with self._lock:
            self.rate_limited, self.retry_after, self.reset_in = count, retry_after, reset_in

    def fail(self, count: int, *, methods: tuple[str, ...] | None = None) -> None:
        """Answer the next `count` requests (optionally only these methods) with 500."""
        with self._lock:
            self.server_errors = count
            self.server_error_methods = frozenset(methods) if methods else None

    def slow(self, seconds: float, count: int = 1) -> None:
        """Delay the next `count` answers by `seconds`."""
        with self._lock:
            self.slow_seconds, self.slow_count = seconds, count

    def drop_connection_after_write(self, count: int = 1) -> None:
        """Apply the next `count` writes, then close the connection without answering."""
        with self._lock:
            self.drop_after_write = count

    def error_after_write(self, count: int = 1) -> None:
        """Apply the next `count` writes, then answer 500 anyway."""
        with self._lock:
            self.fail_after_write = count

    def clear(self) -> None:
        with self._lock:
            self.rate_limited = self.server_errors = self.slow_count = 0
            self.drop_after_write = self.fail_after_write = 0

    def _take(self, name: str) -> bool:
        with self._lock:
            left: int = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def _take_server_error(self, method: str) -> bool:
        with self._lock:
            if self.server_errors > 0 and (
                self.server_error_methods is None or method in self.server_error_methods
            ):
                self.server_errors -= 1
                return True
            return False


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class DopplerTestServer:
    """In-memory Doppler on 127.0.0.1, on an ephemeral port unless told otherwise.

    `with DopplerTestServer() as srv:` starts it in a thread; `srv.url` is the API host.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        read_limit: int = 480,
        write_limit: int = 240,
    ) -> None:
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self.workplaces: dict[str, str] = {}
        self._projects: dict[str, _Project] = {}
        self._tokens: dict[str, _Token] = {}
        self._log: list[LoggedRequest] = []
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self.read_limit, self.write_limit = read_limit, write_limit
        self.faults = Faults()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_workplace("test-workplace", "Test Workplace")

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> DopplerTestServer:
        server = self

        class Handler(_Handler):
            doppler = server

        self._httpd = ThreadingHTTPServer((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="doppler-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DopplerTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"DopplerTestServer(url={self.url!r})" if self._httpd else "DopplerTestServer()"

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- state -----------------------------------------------------------------------------
    def add_workplace(self, slug: str, name: str | None = None) -> str:
        with self._lock:
            self.workplaces[slug] = name or slug
        return slug

    def add_project(
        self, slug: str, *, description: str = "", workplace: str = "test-workplace"
    ) -> None:
        """Create a project with environments and root configs dev, stg and prd."""
        if workplace not in self.workplaces:
            raise KeyError(workplace)
        with self._lock:
            if slug in self._projects:
                raise ValueError(f"project {slug} exists")
            project = _Project(
                id=_secrets.token_hex(5),
                slug=slug,
                name=slug,
                description=description,
                workplace=workplace,
                created_at=_now_iso(),
            )
            for env in ROOT_ENVIRONMENTS:
                project.configs[env] = _Config(env, env, True, _now_iso())
            self._projects[slug] = project

    def add_config(self, project: str, name: str) -> None:
        """Add a branch config; its environment is the prefix before the first `_`."""
        env = name.split("_", 1)[0]
        with self._lock:
            proj = self._projects[project]
            if env not in proj.configs or "_" not in name:
                raise ValueError("branch configs are named <environment>_<branch>")
            proj.configs[name] = _Config(name, env, False, _now_iso())

    def issue_token(
        self,
        kind: str = "personal",
        *,
        project: str | None = None,
        config: str | None = None,
        write: bool = True,
        workplace: str = "test-workplace",
        name: str | None = None,
    ) -> str:
        """Mint a token. `kind="service_token"` needs `project` and `config`."""
        if kind not in TOKEN_PREFIXES:
            raise ValueError(f"unknown token kind {kind}")
        if kind == "service_token":
            with self._lock:
                if project not in self._projects or config not in self._projects[project].configs:
                    raise KeyError(f"{project}/{config}")
        token = TOKEN_PREFIXES[kind] + _secrets.token_hex(24)
        with self._lock:
            self._tokens[token] = _Token(
                kind=kind,
                name=name or f"{kind}-{len(self._tokens) + 1}",
                slug=_secrets.token_hex(8),
                workplace=workplace,
                project=project if kind == "service_token" else None,
                config=config if kind == "service_token" else None,
                write=write,
            )
        return token

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens[token].revoked = True

    def set_secret(self, project: str, config: str, name: str, value: str) -> None:
        with self._lock:
            cfg = self._projects[project].configs[config]
            cfg.secrets[name] = _Secret(value)
            cfg.version += 1

    def get_secret(self, project: str, config: str, name: str) -> str | None:
        with self._lock:
            secret = self._projects[project].configs[config].secrets.get(name)
            return secret.value if secret else None

    def secrets(self, project: str, config: str) -> dict[str, str]:
        with self._lock:
            return {
                k: s.value for k, s in self._projects[project].configs[config].secrets.items()
            }

    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- request handling (called from handler threads) -------------------------------------
    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def _authenticate(self, header: str | None) -> tuple[str, _Token]:
        if not header:
            raise _ApiError(401, "Missing authentication credentials")
        scheme, _, cred = header.partition(" ")
        token: str | None = None
        if scheme.lower() == "bearer":
            token = cred.strip()
        elif scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                token = base64.b64decode(cred.strip(), validate=True).decode().partition(":")[0]
        with self._lock:
            tok = self._tokens.get(token or "")
        if tok is None or tok.revoked:
            raise _ApiError(401, "Invalid auth token")
        return token or "", tok

    def _rate_headers(self, token: str, write: bool) -> dict[str, str]:
        kind = "write" if write else "read"
        limit = self.write_limit if write else self.read_limit
        minute = int(time.time() // 60)
        key = (hashlib.sha256(token.encode()).hexdigest(), kind)
        with self._lock:
            window, used = self._windows.get(key, (minute, 0))
            if window != minute:
                window, used = minute, 0
            used += 1
            self._windows[key] = (window, used)
        reset = (minute + 1) * 60
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(reset),
        }
        if used > limit:
            headers["retry-after"] = str(max(1, reset - int(time.time())))
            raise _ApiError(429, "Rate limit exceeded", headers)
        return headers

    def _resolve(self, tok: _Token, q: dict[str, str], *, write: bool) -> tuple[_Project, _Config]:
        project_name = q.get("project") or ""
        config_name = q.get("config") or ""
        if tok.kind == "service_token":
            if (project_name and project_name != tok.project) or (
                config_name and config_name != tok.config
            ):
                raise _ApiError(403, "This token does not have access to requested config")
            project_name, config_name = tok.project or "", tok.config or ""
        if not project_name:
            raise _ApiError(400, "You must specify a project")
        if not config_name:
            raise _ApiError(400, "You must specify a config")
        with self._lock:
            project = self._projects.get(project_name)
            if project is None or project.workplace != tok.workplace:
                raise _ApiError(404, "Could not find requested project")
            cfg = project.configs.get(config_name)
        if cfg is None:
            raise _ApiError(404, "Could not find requested config")
        if write and not tok.write:
            raise _ApiError(403, "This token does not have write access")
        return project, cfg

    def _managed(self, project: _Project, cfg: _Config) -> dict[str, str]:
        return {
            "DOPPLER_CONFIG": cfg.name,
            "DOPPLER_ENVIRONMENT": cfg.environment,
            "DOPPLER_PROJECT": project.slug,
        }

    def _visible(
        self, project: _Project, cfg: _Config, include_managed: bool
    ) -> dict[str, _Secret]:
        out = dict(cfg.secrets)
        if include_managed:
            for k, v in self._managed(project, cfg).items():
                out[k] = _Secret(v, "unmasked")
        return dict(sorted(out.items()))

    def handle(
        self, method: str, path: str, q: dict[str, str], token: _Token, body: Any, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Route one authenticated request. Returns (status, JSON-able body or bytes, headers)."""
        route = (method, path.rstrip("/") or "/")
        if route == ("GET", "/v3/me"):
            with self._lock:
                wp = token.workplace
                return 200, {
                    "slug": token.slug,
                    "name": token.name,
                    "created_at": _now_iso(),
                    "last_seen_at": _now_iso(),
                    "type": token.kind,
                    "token_preview": TOKEN_PREFIXES[token.kind] + "...",
                    "workplace": {"slug": wp, "name": self.workplaces[wp]},
                }, {}
        if route == ("GET", "/v3/projects"):
            if token.kind == "service_token":
                raise _ApiError(403, "This token does not have access to list projects")
            page, per_page = _paging(q)
            with self._lock:
                items = [p for p in self._projects.values() if p.workplace == token.workplace]
                chunk = items[(page - 1) * per_page : page * per_page]
                return 200, {
                    "page": page,
                    "projects": [
                        {
                            "id": p.id,
                            "slug": p.slug,
                            "name": p.name,
                            "description": p.description,
                            "created_at": p.created_at,
                        }
                        for p in chunk
                    ],
                }, {}
        if route == ("GET", "/v3/configs"):
            if token.kind == "service_token":
                raise _ApiError(403, "This token does not have access to list configs")
            page, per_page = _paging(q)
            if not q.get("project"):
                raise _ApiError(400, "You must specify a project")
            with self._lock:
                project = self._projects.get(q["project"])
                if project is None or project.workplace != token.workplace:
                    raise _ApiError(404, "Could not find requested project")
                cfgs: list[_Config] = [
                    c
                    for c in project.configs.values()
                    if not q.get("environment") or c.environment == q["environment"]
                ]
                cfg_chunk = cfgs[(page - 1) * per_page : page * per_page]
                return 200, {
                    "page": page,
                    "configs": [
                        {
                            "name": c.name,
                            "root": c.root,
                            "locked": c.root,
                            "initial_fetch_at": c.created_at,
                            "last_fetch_at": c.created_at,
                            "created_at": c.created_at,
                            "environment": c.environment,
                            "project": project.slug,
                        }
                        for c in cfg_chunk
                    ],
                }, {}
        if route == ("GET", "/v3/configs/config/secrets/names"):
            project, cfg = self._resolve(token, q, write=False)
            with self._lock:
                names = list(self._visible(project, cfg, _flag(q, "include_managed_secrets")))
            return 200, {"names": names}, {}
        if route == ("GET", "/v3/configs/config/secrets"):
            project, cfg = self._resolve(token, q, write=False)
            wanted = _name_filter(q)
            with self._lock:
                visible = self._visible(project, cfg, _flag(q, "include_managed_secrets"))
                return 200, {
                    "secrets": {
                        k: {
                            "raw": s.value,
                            "computed": s.value,
                            "note": s.note,
                            "rawVisibility": s.visibility,
                            "computedVisibility": s.visibility,
                        }
                        for k, s in visible.items()
                        if wanted is None or k in wanted
                    }
                }, {}
        if route == ("GET", "/v3/configs/config/secrets/download"):
            return self._download(token, q, headers)
        if route in (("GET", "/v3/configs/config/secret"), ("DELETE", "/v3/configs/config/secret")):
            project, cfg = self._resolve(token, q, write=method == "DELETE")
            name = q.get("name", "")
            with self._lock:
                secret = self._visible(project, cfg, True).get(name)
                if secret is None:
                    raise _ApiError(404, "Could not find requested secret")
                if method == "GET":
                    return 200, {
                        "name": name,
                        "value": {"raw": secret.value, "computed": secret.value, "note": ""},
                    }, {}
                if name in MANAGED:
                    raise _ApiError(400, "Cannot delete a Doppler-managed secret")
                del cfg.secrets[name]
                cfg.version += 1
            return 204, b"", {}
        if route == ("POST", "/v3/configs/config/secrets"):
            return self._write(token, q, body)
        raise _ApiError(404, "Not found")

    def _download(
        self, token: _Token, q: dict[str, str], headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        project, cfg = self._resolve(token, q, write=False)
        fmt = q.get("format", "json")
        if q.get("name_transformer"):
            raise _ApiError(400, "name_transformer is not supported by the test server")
        wanted = _name_filter(q)
        with self._lock:
            values = {
                k: s.value
                for k, s in self._visible(project, cfg, True).items()
                if wanted is None or k in wanted
            }
            version = cfg.version
        # The ETag derives from the config's version and the query, never from values.
        etag = '"' + hashlib.sha256(
            f"{project.id}:{cfg.name}:{version}:{fmt}:{q.get('secrets', '')}".encode()
        ).hexdigest()[:32] + '"'
        if headers.get("If-None-Match") == etag:
            return 304, b"", {"ETag": etag}
        if fmt == "json":
            return 200, values, {"ETag": etag}
        if fmt in ("env", "env-no-quotes", "docker"):
            if fmt == "env":
                lines = [f"{k}={json.dumps(v)}" for k, v in values.items()]
            else:
                lines = [f"{k}={v}" for k, v in values.items()]
            text = "".join(line + "\n" for line in lines)
            return 200, text.encode(), {"ETag": etag, "Content-Type": "text/plain"}
        raise _ApiError(400, f"Unsupported format {fmt}")

    def _write(
        self, token: _Token, q: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict):
            raise _ApiError(400, "Request body must be a JSON object")
        merged = dict(q)
        for key in ("project", "config"):
            if isinstance(body.get(key), str) and body[key]:
                if merged.get(key) and merged[key] != body[key]:
                    raise _ApiError(400, f"Conflicting {key} in query and body")
                merged[key] = body[key]
        project, cfg = self._resolve(token, merged, write=True)
        has_secrets, has_changes = "secrets" in body, "change_requests" in body
        if has_secrets == has_changes:
            raise _ApiError(400, "Specify either secrets or change_requests, not both")
        with self._lock:
            new = dict(cfg.secrets)
            if has_secrets:
                secrets_obj = body["secrets"]
                if not isinstance(secrets_obj, dict):
                    raise _ApiError(400, "secrets must be an object")
                for name, value in secrets_obj.items():
                    _check_name(name)
                    if value is None:
                        new.pop(name, None)
                    elif isinstance(value, str):
                        old = new.get(name)
                        new[name] = _Secret(value, old.visibility if old else "masked")
                    else:
                        raise _ApiError(400, f"Value of {name} must be a string")
            else:
                changes = body["change_requests"]
                if not isinstance(changes, list) or not changes:
                    raise _ApiError(400, "change_requests must be a non-empty array")
                for change in changes:
                    _apply_change(new, change)
            cfg.secrets = new
            cfg.version += 1
            return 200, {
                "secrets": {
                    k: {"raw": s.value, "computed": s.value, "note": s.note}
                    for k, s in self._visible(project, cfg, True).items()
                }
            }, {}


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not SECRET_NAME_RE.fullmatch(name):
        raise _ApiError(
            400,
            "Secret names must contain only uppercase letters, numbers and underscores"
            " and must not start with a number",
        )
    if name in MANAGED:
        raise _ApiError(400, "Cannot modify a Doppler-managed secret")


def _apply_change(new: dict[str, _Secret], change: Any) -> None:
    if not isinstance(change, dict) or not isinstance(change.get("name"), str):
        raise _ApiError(400, "Each change request needs a name")
    name: str = change["name"]
    original: str | None = change.get("originalName")
    _check_name(name)
    # The Doppler CLI's `secrets set` sends originalName null for existing names too: an upsert.
    source = original if original is not None else name
    current = new.get(source)
    if original is not None and current is None:
        raise _ApiError(400, f"Secret {original} does not exist")
    if "originalValue" in change:
        expected = change["originalValue"]
        if current is None or current.value != expected:
            raise _ApiError(400, f"The value of {source} has changed since originalValue")
    if change.get("shouldDelete"):
        new.pop(source, None)
        return
    value = change.get("value")
    if value is not None and not isinstance(value, str):
        raise _ApiError(400, f"Value of {name} must be a string")
    visibility = change.get("visibility") or (current.visibility if current else "masked")
    if visibility not in ("masked", "unmasked", "restricted"):
        raise _ApiError(400, "visibility must be masked, unmasked or restricted")
    if value is None:
        if current is None:
            raise _ApiError(400, f"Secret {name} needs a value")
        value = current.value
    if original is not None and original != name:
        if name in new:
            raise _ApiError(400, f"Secret {name} already exists")
        new.pop(original, None)
    new[name] = _Secret(value, visibility, current.note if current else "")


def _paging(q: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(q.get("page") or 1)
        per_page = int(q.get("per_page") or 20)
    except ValueError:
        raise _ApiError(400, "page and per_page must be integers") from None
    if page < 1 or not 1 <= per_page <= 100:
        raise _ApiError(400, "page must be >= 1 and per_page between 1 and 100")
    return page, per_page


def _flag(q: dict[str, str], name: str, default: bool = True) -> bool:
    raw = q.get(name)
    return default if raw is None or raw == "" else raw.lower() in ("true", "1")


def _name_filter(q: dict[str, str]) -> set[str] | None:
    raw = q.get("secrets")
    return {n.strip() for n in raw.split(",") if n.strip()} if raw else None


def _auth_kind(header: str | None) -> str:
    if not header:
        return "none"
    scheme = header.partition(" ")[0].lower()
    return scheme if scheme in ("bearer", "basic") else "other"


class _Handler(BaseHTTPRequestHandler):
    doppler: DopplerTestServer
    protocol_version = "HTTP/1.1"
    server_version = "doppler-test-server"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log: it would print query strings to stderr."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        srv = self.doppler
        parts = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        auth_header = self.headers.get("Authorization")
        token_kind: str | None = None
        body_names: tuple[str, ...] = ()
        status: int = 500
        payload: Any = b""
        extra: dict[str, str] = {}
        drop = False
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw_body) if raw_body else None
            if isinstance(parsed, dict):
                body_names = _names_in_body(parsed)
        try:
            faults = srv.faults
            if faults._take("slow_count"):
                time.sleep(faults.slow_seconds)
            token, tok = srv._authenticate(auth_header)
            token_kind = tok.kind
            is_write = method in ("POST", "DELETE")
            rate = srv._rate_headers(token, is_write)
            if faults._take("rate_limited"):
                reset = int(time.time()) + faults.reset_in
                hdrs = {"x-ratelimit-limit": rate["x-ratelimit-limit"],
                        "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
                if faults.retry_after is not None:
                    hdrs["retry-after"] = str(faults.retry_after)
                raise _ApiError(429, "Rate limit exceeded", hdrs)
            if faults._take_server_error(method):
                raise _ApiError(500, "Internal server error", rate)
            body: Any = None
            if raw_body:
                try:
                    body = json.loads(raw_body)
                except ValueError:
                    raise _ApiError(400, "Request body is not valid JSON", rate) from None
            status, payload, extra = srv.handle(method, parts.path, q, tok, body, self.headers)
            extra = {**rate, **extra}
            if method == "POST" and status == 200:
                if faults._take("drop_after_write"):
                    drop = True
                elif faults._take("fail_after_write"):
                    raise _ApiError(500, "Internal server error", rate)
        except _ApiError as err:
            status = err.status
            payload = {"messages": [err.message], "success": False}
            extra = err.headers
        except Exception:  # a bug in the test server must still answer in Doppler's shape
            status = 500
            payload = {"messages": ["Internal test server error"], "success": False}
            extra = {}
        srv._record(
            LoggedRequest(
                method=method,
                path=parts.path,
                query_names=tuple(sorted(q)),
                status=0 if drop else status,
                auth=_auth_kind(auth_header),
                token_kind=token_kind,
                user_agent=self.headers.get("User-Agent", ""),
                body_names=body_names,
            )
        )
        if drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        # A client that gave up (timeout) has closed its end; that is not a server error.
        with contextlib.suppress(OSError):
            self._answer(status, data, extra)

    def _answer(self, status: int, data: bytes, extra: dict[str, str]) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/json; charset=utf-8", **extra}
        for k, v in headers.items():
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        else:
            data = b""
        self.end_headers()
        if data:
            self.wfile.write(data)


def _names_in_body(body: dict[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    if isinstance(body.get("secrets"), dict):
        names.extend(str(k) for k in body["secrets"])
    if isinstance(body.get("change_requests"), list):
        names.extend(
            str(c.get("name")) for c in body["change_requests"] if isinstance(c, dict)
        )
    return tuple(names)


@contextlib.contextmanager
def running_server(**kwargs: Any) -> Iterator[DopplerTestServer]:
    """`with running_server() as srv:`, for callers that prefer a function."""
    with DopplerTestServer(**kwargs) as srv:
        yield srv
