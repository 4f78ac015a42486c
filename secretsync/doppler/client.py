"""The Doppler API over httpx.

Retries reads on 429, 5xx and connection errors with bounded exponential back-off (honouring
`retry-after` and `x-ratelimit-reset`) inside a total time budget. A write is re-sent only once it
is known what the first attempt did: after an unanswered or failed write the values are read back
and only what is missing is sent again, guarded by `originalValue`.

No token or secret value reaches an exception, a log line or a repr: httpx exceptions (which carry
the request, headers included) are replaced, never chained.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from secretsync.doppler.interface import (
    MANAGED_SECRET_NAMES,
    ChangeRequest,
    ConfigInfo,
    ConfigRef,
    DopplerAPI,
    ProjectInfo,
    TokenInfo,
)
from secretsync.errors import ConfigError, CredentialsError, DopplerError, DopplerHTTPError

log = logging.getLogger("secretsync.doppler")

DEFAULT_API_HOST = "https://api.doppler.com"
SERVICE_TOKEN_PREFIX = "dp.st."
# Printable ASCII without spaces: anything else could split the Authorization header.
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")
# Keep `secrets=A,B,...` query strings well under common URL limits.
_NAMES_PER_READ = 50
_FALSE = frozenset({"false", "0", "no", "off", "f"})

_HINTS = {
    401: "the Doppler token is invalid, expired or revoked: check DOPPLER_TOKEN or run "
    "`secretsync auth login`",
    403: "the token may be read-only or scoped to another project/config; writes need a "
    "read/write token with access to this config",
    404: "the project or config does not exist, or this token cannot see it: check --project "
    "and --config (or DOPPLER_PROJECT)",
    429: "Doppler's rate limit was reached; wait a minute and run again",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: at most `attempts` tries, `budget` seconds in all."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    budget: float = 60.0


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Where and how to reach Doppler; read from the environment as the Doppler CLI does."""

    api_host: str = DEFAULT_API_HOST
    verify_tls: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ClientSettings:
        env = os.environ if env is None else env
        host = (env.get("DOPPLER_API_HOST") or DEFAULT_API_HOST).strip().rstrip("/")
        verify = (env.get("DOPPLER_VERIFY_TLS") or "true").strip().lower() not in _FALSE
        return cls(api_host=_check_host(host), verify_tls=verify)


def _check_host(host: str) -> str:
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "DOPPLER_API_HOST must be an http(s) URL",
            hint="for example https://api.doppler.com or http://127.0.0.1:8080",
        )
    if parts.username or parts.password:
        raise ConfigError("DOPPLER_API_HOST must not contain credentials")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # The token would cross the network in clear text.
        raise ConfigError(
            "DOPPLER_API_HOST uses plain http for a non-loopback host",
            hint="use https, or http only for 127.0.0.1/localhost test servers",
        )
    return host


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class _Scrubber:
    """Replaces known sensitive strings in text that leaves the client."""

    def __init__(self, token: str) -> None:
        self._secrets: set[str] = {token}

    def add(self, values: Iterable[str | None]) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 1)

    def __call__(self, text: str) -> str:
        for s in sorted(self._secrets, key=len, reverse=True):
            if s and s in text:
                text = text.replace(s, "[redacted]")
        return text

    def __repr__(self) -> str:
        return "_Scrubber()"


class _Retryable(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, status: int, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.wait = reason, status, wait


class DopplerClient(DopplerAPI):
    """`DopplerAPI` over HTTPS. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        token: str,
        *,
        settings: ClientSettings | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        token = token.strip()
        if not token or not _TOKEN_RE.fullmatch(token):
            raise CredentialsError(
                "the Doppler token is empty or contains spaces or control characters",
                hint="set DOPPLER_TOKEN or run `secretsync auth login`",
            )
        self._settings = settings or ClientSettings.from_env()
        self._retry = retry or RetryPolicy()
        self._sleep, self._clock, self._wall = sleep, clock, wall_clock
        self._scrub = _Scrubber(token)
        self._is_service_token = token.startswith(SERVICE_TOKEN_PREFIX)
        self._scope: ConfigRef | None = None
        self._http = httpx.Client(
            base_url=self._settings.api_host,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "secretsync",
            },
            timeout=timeout or httpx.Timeout(30.0, connect=10.0),
            verify=self._settings.verify_tls,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"DopplerClient(api_host={self._settings.api_host!r})"

    @property
    def api_host(self) -> str:
        return self._settings.api_host

    def __enter__(self) -> DopplerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- DopplerAPI ------------------------------------------------------------------------
    def me(self) -> TokenInfo:
        data = self._get("/v3/me", {})
        workplace = data.get("workplace") or {}
        return TokenInfo(
            type=str(data.get("type", "")),
            name=str(data.get("name", "")),
            slug=str(data.get("slug", "")),
            workplace_slug=str(workplace.get("slug", "")),
            workplace_name=str(workplace.get("name", "")),
            scope=self.scope(),
        )

    def scope(self) -> ConfigRef | None:
        """The one config a service token can reach; None for other tokens."""
        if not self._is_service_token:
            return None
        if self._scope is None:
            # Service tokens may omit project and config; Doppler's managed secrets then name them.
            data = self._get(
                "/v3/configs/config/secrets/download",
                {"project": "", "config": "", "format": "json",
                 "secrets": "DOPPLER_PROJECT,DOPPLER_CONFIG"},
            )
            project, config = data.get("DOPPLER_PROJECT"), data.get("DOPPLER_CONFIG")
            if not isinstance(project, str) or not isinstance(config, str):
                raise DopplerError("could not tell which config this service token belongs to")
            self._scope = ConfigRef(project, config)
        return self._scope

    def check_scope(self, refs: Iterable[ConfigRef]) -> None:
        scope = self.scope()
        if scope is None:
            return
        outside = sorted({r for r in refs if r != scope})
        if outside:
            raise DopplerError(
                f"this service token can only reach {scope}, but the plan needs "
                + ", ".join(str(r) for r in outside),
                hint="use a personal or service-account token, or one service token per config",
            )

    def list_projects(self) -> list[ProjectInfo]:
        return [
            ProjectInfo(
                slug=str(p.get("slug") or p.get("name", "")),
                name=str(p.get("name", "")),
                description=str(p.get("description") or ""),
            )
            for p in self._pages("/v3/projects", {}, "projects")
        ]

    def list_configs(self, project: str) -> list[ConfigInfo]:
        return [
            ConfigInfo(
                project=project,
                name=str(c.get("name", "")),
                environment=str(c.get("environment", "")),
                root=bool(c.get("root", False)),
                locked=bool(c.get("locked", False)),
            )
            for c in self._pages("/v3/configs", {"project": project}, "configs")
        ]

    def secret_names(self, project: str, config: str) -> frozenset[str]:
        self.check_scope([ConfigRef(project, config)])
        data = self._get(
            "/v3/configs/config/secrets/names",
            {"project": project, "config": config, "include_managed_secrets": "false"},
        )
        names = data.get("names")
        if not isinstance(names, list):
            raise DopplerError("Doppler's answer had no list of names")
        return frozenset(str(n) for n in names) - MANAGED_SECRET_NAMES

    def get_values(self, project: str, config: str, names: Iterable[str]) -> dict[str, str]:
        self.check_scope([ConfigRef(project, config)])
        wanted = sorted(set(names) - MANAGED_SECRET_NAMES)
        values: dict[str, str] = {}
        for i in range(0, len(wanted), _NAMES_PER_READ):
            chunk = wanted[i : i + _NAMES_PER_READ]
            data = self._get(
                "/v3/configs/config/secrets",
                {
                    "project": project,
                    "config": config,
                    "secrets": ",".join(chunk),
                    "include_managed_secrets": "false",
                },
            )
            secrets = data.get("secrets")
            if not isinstance(secrets, dict):
                raise DopplerError("Doppler's answer had no secrets object")
            for name in chunk:
                entry = secrets.get(name)
                # Restricted secrets come back without a raw value; they are "unknown", not absent.
                if isinstance(entry, dict) and isinstance(entry.get("raw"), str):
                    values[name] = entry["raw"]
                elif isinstance(entry, dict):
                    raise DopplerError(
                        f"Doppler did not return the value of {name} in {project}/{config}",
                        hint="the secret may be restricted; a token with access to restricted"
                        " values is needed to compare it",
                    )
        self._scrub.add(values.values())
        return values

    def write(self, project: str, config: str, change_requests: Sequence[ChangeRequest]) -> None:
        if not change_requests:
            return
        ref = ConfigRef(project, config)
        self.check_scope([ref])
        self._scrub.add(c.value for c in change_requests)
        self._scrub.add(c.original_value for c in change_requests)
        pending = list(change_requests)
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            body = {
                "project": project,
                "config": config,
                "change_requests": [_change_json(c) for c in pending],
            }
            try:
                self._once("POST", "/v3/configs/config/secrets", params=None, json=body)
                return
            except _Retryable as err:
                if err.status == 429:
                    # Rate-limited requests are refused before anything is applied.
                    self._back_off(attempt, start, err, "POST")
                    continue
                self._back_off(attempt, start, err, "POST")
                # Unknown outcome: find out what the lost attempt applied before sending again.
                pending = self._still_pending(ref, pending)
                if not pending:
                    log.info("write to %s had applied before the failure; nothing to resend", ref)
                    return
                log.info("re-sending %d of %d change(s) to %s", len(pending),
                         len(change_requests), ref)

    # -- internals -------------------------------------------------------------------------
    def _still_pending(
        self, ref: ConfigRef, pending: Sequence[ChangeRequest]
    ) -> list[ChangeRequest]:
        current = self.get_values(ref.project, ref.config, [c.name for c in pending])
        return [c for c in pending if current.get(c.name) != c.value]

    def _pages(self, path: str, params: dict[str, str], key: str) -> Iterator[dict[str, Any]]:
        page = 1
        per_page = 100
        while True:
            data = self._get(path, {**params, "page": str(page), "per_page": str(per_page)})
            items = data.get(key)
            if not isinstance(items, list):
                raise DopplerError(f"Doppler's answer had no list of {key}")
            yield from (i for i in items if isinstance(i, dict))
            if len(items) < per_page or page >= 1000:
                return
            page += 1

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once("GET", path, params=params, json=None)
            except _Retryable as err:
                self._back_off(attempt, start, err, "GET")

    def _once(
        self, method: str, path: str, *, params: dict[str, str] | None, json: Any
    ) -> dict[str, Any]:
        what = f"{method} {path}"
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            raise _Retryable(f"timed out on {what}", 0) from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed on {what} ({type(exc).__name__})", 0) from None
        except httpx.HTTPError as exc:
            raise DopplerHTTPError(f"{what} failed ({type(exc).__name__})", status=0) from None
        status = response.status_code
        log.debug("%s -> %d", what, status)
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return {}
            try:
                data = response.json()
            except ValueError:
                raise DopplerHTTPError(f"{what}: Doppler's answer was not JSON",
                                       status=status) from None
            if not isinstance(data, dict):
                raise DopplerHTTPError(f"{what}: unexpected answer", status=status)
            return data
        messages = self._messages(response)
        if status == 429:
            raise _Retryable(f"rate limited on {what}", 429, self._rate_limit_wait(response))
        if status >= 500:
            raise _Retryable(f"{what} answered {status}{messages}", status)
        raise DopplerHTTPError(f"Doppler refused {what} ({status}){messages}", status=status,
                               hint=_HINTS.get(status))

    def _messages(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return ""
        msgs = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(msgs, list) or not msgs:
            return ""
        return ": " + self._scrub("; ".join(str(m) for m in msgs)[:500])

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        retry_after = response.headers.get("retry-after")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(retry_after).timestamp() - self._wall())
                except (TypeError, ValueError):
                    pass
        reset = response.headers.get("x-ratelimit-reset")
        if reset:
            try:
                return max(0.0, float(reset) - self._wall())
            except ValueError:
                pass
        return None

    def _back_off(self, attempt: int, start: float, err: _Retryable, method: str) -> None:
        policy = self._retry
        delay = err.wait
        if delay is None:
            delay = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            delay *= 0.5 + random.random() / 2  # jitter spreads parallel clients apart
        remaining = policy.budget - (self._clock() - start)
        if attempt >= policy.attempts or delay > remaining:
            hint = _HINTS.get(429) if err.status == 429 else (
                "Doppler or the network is failing; try again later"
            )
            raise DopplerHTTPError(
                f"{err.reason}; gave up after {attempt} attempt(s)", status=err.status, hint=hint
            ) from None
        log.warning("%s; retrying %s in %.1fs (attempt %d of %d)", err.reason, method, delay,
                    attempt + 1, policy.attempts)
        self._sleep(delay)


def _change_json(change: ChangeRequest) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": change.name,
        "originalName": change.original_name,
        "value": change.value,
    }
    if change.original_value is not None:
        item["originalValue"] = change.original_value
    return item
