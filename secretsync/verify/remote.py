"""The checks that ask Doppler: missing-remote (names only), store reachability, and the env-leak
comparison (values read into memory, reduced at once to HMACs under a random per-run key that is
never stored or printed, then dropped)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from secretsync.detection import Detector
from secretsync.doppler.interface import ConfigRef, DopplerAPI
from secretsync.errors import DopplerError, DopplerHTTPError
from secretsync.verify.checks import Context
from secretsync.verify.model import Problem
from secretsync.verify.tree import ExternalSecretInfo

ApiFactory = Callable[[ConfigRef], DopplerAPI]


def token_env_var(config: str) -> str:
    """`DOPPLER_TOKEN_PRD` for config `prd`: one read-only service token per config."""
    return "DOPPLER_TOKEN_" + re.sub(r"[^A-Z0-9]", "_", config.upper())


@contextlib.contextmanager
def default_factory() -> Iterator[ApiFactory]:
    """Clients from `DOPPLER_TOKEN_<CONFIG>`, else `DOPPLER_TOKEN` / the keyring; one client per
    distinct token, all closed on exit."""
    from secretsync.credentials import get_token
    from secretsync.doppler.client import DopplerClient

    with contextlib.ExitStack() as stack:
        clients: dict[str, DopplerClient] = {}

        def factory(ref: ConfigRef) -> DopplerAPI:
            own = (os.environ.get(token_env_var(ref.config)) or "").strip()
            token = own or get_token(offline="`secretsync verify --offline`").value
            if token not in clients:
                clients[token] = stack.enter_context(DopplerClient(token))
            return clients[token]

        yield factory


@dataclass(frozen=True, slots=True)
class Target:
    """Where an ExternalSecret's store sends ESO: a project/config, or why not known."""

    es: ExternalSecretInfo
    ref: ConfigRef | None
    store: str
    no_project: bool = False
    """The store names a config but no project, and none was configured."""


@dataclass(slots=True)
class RemoteView:
    """Names per config, fetched once; unreachable configs with the reason."""

    names: dict[ConfigRef, frozenset[str]] = field(default_factory=dict)
    unreachable: dict[ConfigRef, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)


def targets(ctx: Context) -> list[Target]:
    out = []
    for es in ctx.index.external_secrets:
        if es.store is None:
            continue
        project: object = None
        config: object = None
        info = ctx.index.store(es.store, es.path)
        if info is not None and info.doppler is not None:
            project, config = info.doppler.get("project"), info.doppler.get("config")
        elif info is None and es.store.name in ctx.settings.stores:
            declared = ctx.settings.stores[es.store.name]
            project, config = declared.project, declared.config
        project = project if isinstance(project, str) and project else ctx.cfg.project
        has_config = isinstance(config, str) and bool(config)
        ref = (ConfigRef(project, str(config)) if isinstance(project, str) and has_config
               else None)
        out.append(Target(es, ref, f"{es.store.kind} {es.store.name}",
                          no_project=has_config and not project))
    return out


def fetch(ctx: Context, factory: ApiFactory) -> RemoteView:
    view = RemoteView(targets=targets(ctx))
    for ref in sorted({t.ref for t in view.targets if t.ref is not None}):
        try:
            view.names[ref] = factory(ref).secret_names(ref.project, ref.config)
        except DopplerHTTPError as exc:
            if exc.status in (401, 0) or exc.status >= 429:
                raise  # a bad token or no Doppler: the run cannot answer, exit 2
            view.unreachable[ref] = f"HTTP {exc.status}"
        except DopplerError as exc:
            # e.g. a service token scoped to another config
            view.unreachable[ref] = exc.message
    return view


def store_remote(ctx: Context, view: RemoteView) -> list[Problem]:
    out = []
    for ref, why in sorted(view.unreachable.items()):
        users = [t for t in view.targets if t.ref == ref]
        stores = sorted({t.store for t in users})
        first = users[0].es
        out.append(Problem(
            f"Doppler config {ref} (read by {', '.join(stores)}) is not reachable: {why}",
            f"create the config or fix spec.provider.doppler.project/config; give "
            f"{token_env_var(ref.config)} (or DOPPLER_TOKEN) a read-only service token for {ref}",
            first.path, first.line, subject=str(ref)))
    for t in view.targets:
        if t.no_project:
            out.append(Problem(
                f"no Doppler project for {t.store} (read by ExternalSecret {t.es.name})",
                "set spec.provider.doppler.project, or pass --project / set DOPPLER_PROJECT",
                t.es.path, t.es.line, subject=f"{t.store}:project"))
    return out


def missing_remote(view: RemoteView) -> tuple[list[Problem], int]:
    """(problems, ExternalSecrets not checked because their config is unknown or unreachable)."""
    out = []
    unchecked = 0
    for t in view.targets:
        if t.ref is None or t.ref not in view.names:
            unchecked += 1
            continue
        have = view.names[t.ref]
        for key in t.es.remote_keys:
            if key in have:
                continue
            out.append(Problem(
                f"{key} is not in Doppler {t.ref} (read by ExternalSecret {t.es.name} through "
                f"{t.store})",
                f"set it with `secretsync push --set {key} --config {t.ref.config} --project "
                f"{t.ref.project}` (value on stdin), or correct remoteRef.key",
                t.es.path, t.es.line, subject=f"{t.ref}/{key}"))
    return out, unchecked


def _config_env(ctx: Context, config: str) -> str:
    for env, cfg_name in ctx.cfg.configs.items():
        if cfg_name == config:
            return env
    head = config.split("_", 1)[0].lower()
    return ctx.rules.aliases.get(head, head)


def _looks_dev(name: str, value: str) -> bool:
    """Does the value itself say it is a dev value? Detectors decide what it is (the Doppler name
    stands in for the env var the value feeds); ids and keys never say."""
    from secretsync.detection import Context as DetContext
    from secretsync.detectors import is_dev_value

    det_ctx = DetContext(key=name, env_name=name)
    ids = {h.detector for d in _detectors() for h in d.find(value, det_ctx)}
    return any(is_dev_value(i, value) for i in ids) if ids else is_dev_value("", value)


@functools.cache
def _detectors() -> tuple[Detector, ...]:
    from secretsync.detectors import load_detectors

    return load_detectors()


def env_leak_remote(ctx: Context, view: RemoteView, factory: ApiFactory) -> list[Problem]:
    """For environment-specific names (configured, or whose dev value names its environment),
    the non-dev value must differ from the dev value and must not itself look like a dev value."""
    key = secrets.token_bytes(32)

    def digest(value: str) -> bytes:
        return hmac.new(key, value.encode(), hashlib.sha256).digest()

    by_ref: dict[ConfigRef, dict[str, ExternalSecretInfo]] = {}
    for t in view.targets:
        if t.ref is not None and t.ref in view.names:
            for k in t.es.remote_keys:
                if k in view.names[t.ref]:
                    by_ref.setdefault(t.ref, {}).setdefault(k, t.es)
    dev_envs = ctx.rules.dev_envs
    dev_refs = [r for r in view.names if _config_env(ctx, r.config) in dev_envs]
    prod_refs = [r for r in by_ref if _config_env(ctx, r.config) not in dev_envs]
    out: list[Problem] = []
    for prod in sorted(prod_refs):
        wanted = set(by_ref[prod])
        dev_hash: dict[str, set[bytes]] = {}
        specific = set(ctx.settings.env_specific) & wanted
        for dev in dev_refs:
            if dev.project != prod.project:
                continue
            names = sorted(wanted & view.names[dev])
            values = factory(dev).get_values(dev.project, dev.config, names) if names else {}
            for n, v in values.items():
                dev_hash.setdefault(n, set()).add(digest(v))
                if _looks_dev(n, v):
                    specific.add(n)
            values.clear()
        need = sorted(specific & view.names[prod])
        prod_values = factory(prod).get_values(prod.project, prod.config, need) if need else {}
        verdicts: dict[str, str] = {}
        for n, v in prod_values.items():
            if digest(v) in dev_hash.get(n, set()):
                verdicts[n] = "holds the same value as the dev config"
            elif _looks_dev(n, v):
                verdicts[n] = "holds a dev-looking value"
        prod_values.clear()
        for n, why in sorted(verdicts.items()):
            es = by_ref[prod][n]
            out.append(Problem(
                f"{n} in Doppler {prod} {why} (read by ExternalSecret {es.name})",
                f"set the {prod.config} value: `secretsync push --set {n} --config {prod.config} "
                f"--project {prod.project} --overwrite` (value on stdin)",
                es.path, es.line, subject=f"{prod}/{n}"))
    return out
