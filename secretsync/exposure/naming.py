"""The Doppler name an exposed value has now.

Offline, from the tree: a place that held the value and now holds a reference (`env[0].value`
-> `env[0].valueFrom.secretKeyRef`, `clientId` -> `clientIdSecretRef`) names a key of a Secret
an ExternalSecret creates; its `remoteRef.key` is the Doppler name, its store's config the
config. With Doppler (read-only, unless --offline): each config's values are read into memory
and at once reduced to HMACs under a random per-run key (never stored or printed), so a value is
matched to the name that holds it, and a referenced name that holds another value is shown as
rotated already.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from secretsync.config import Config
from secretsync.doppler.interface import ConfigRef, DopplerAPI
from secretsync.environments import EnvRules
from secretsync.errors import SecretsyncError
from secretsync.exposure.history import DopplerName, Exposed, ExposureReport

ApiFactory = Callable[[ConfigRef], DopplerAPI]


def _replaced_by(place: str, ref: str, suffix: str) -> bool:
    """Does the reference at dotted path `ref` stand where the value at `place` stood?"""
    if place.endswith(".value") or place == "value":
        base = place[: -len("value")]
        if ref == f"{base}valueFrom.secretKeyRef.name":
            return True
    return ref == f"{place}{suffix}.name"


def _remote_key(doc: Mapping[str, Any], secret_key: str) -> str | None:
    spec = doc.get("spec")
    data = spec.get("data") if isinstance(spec, Mapping) else None
    for item in data if isinstance(data, list) else ():
        if isinstance(item, Mapping) and item.get("secretKey") == secret_key:
            remote = item.get("remoteRef")
            key = remote.get("key") if isinstance(remote, Mapping) else None
            if isinstance(key, str) and key:
                return key
    return None


def from_references(root: Path, cfg: Config, secrets_: Iterable[Exposed]) -> dict[str, DopplerName]:
    """Secret id -> the name the tree's references give the places that held it."""
    from secretsync.verify.tree import index_tree

    rules = EnvRules(overrides=cfg.environments) if cfg.environments else EnvRules()
    idx = index_tree(root, cfg, rules)
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for r in idx.refs:
        if r.key is not None:
            refs.setdefault(r.path, []).append((r.key_path, r.secret, r.key))
    out: dict[str, DopplerName] = {}
    for e in secrets_:
        for p in reversed(e.places):  # the latest place first
            if p.key_path is None:
                continue
            for ref_path, secret, key in refs.get(p.path, ()):
                if not _replaced_by(p.key_path, ref_path, cfg.ref_suffix):
                    continue
                name, project, config = key, cfg.project, None
                for es in idx.external_secrets:
                    remote = _remote_key(es.doc, key) if es.target == secret else None
                    if remote is None:
                        continue
                    name = remote
                    store = idx.store(es.store, es.path) if es.store is not None else None
                    doppler = store.doppler if store is not None else None
                    if doppler is not None:
                        project = doppler.get("project") or project
                        config = doppler.get("config") or None
                    break
                out[e.id] = DopplerName(name, project if isinstance(project, str) else None,
                                        config if isinstance(config, str) else None, "reference")
                break
            if e.id in out:
                break
    return out


def from_doppler(
    cfg: Config, secrets_: list[Exposed], known: dict[str, DopplerName], factory: ApiFactory,
) -> dict[str, DopplerName]:
    """Match values to the names that hold them, config by config (names and values read once,
    values kept only as HMACs)."""
    project = cfg.project
    configs = {(d.project or project, d.config) for d in known.values() if d.config}
    configs |= {(project, c) for c in cfg.configs.values()}
    if project is not None and not {c for p, c in configs if p == project}:
        configs |= {(project, c.name)
                    for c in factory(ConfigRef(project, "")).list_configs(project)}
    key = secrets.token_bytes(32)

    def digest(value: str) -> bytes:
        return hmac.new(key, value.encode(), hashlib.sha256).digest()

    wanted = {digest(e.value): e for e in secrets_}
    out = dict(known)
    for proj, config in sorted((p, c) for p, c in configs if p and c):
        assert proj is not None and config is not None
        ref = ConfigRef(proj, config)
        api = factory(ref)
        names = sorted(n for n in api.secret_names(proj, config) if not n.startswith("DOPPLER_"))
        values = api.get_values(proj, config, names) if names else {}
        held = {n: digest(v) for n, v in values.items()}
        values.clear()
        for n, d in held.items():
            e = wanted.get(d)
            if e is not None and (e.id not in out or (out[e.id].source == "reference"
                                  and out[e.id].name == n)):
                out[e.id] = DopplerName(n, proj, config, "doppler", True)
        for e in secrets_:
            d_name = out.get(e.id)
            if (d_name is not None and d_name.source == "reference" and d_name.name in held
                    and d_name.config in (None, config) and d_name.holds_value is None):
                out[e.id] = replace(d_name, config=config, project=proj,
                                    holds_value=held[d_name.name] == digest(e.value))
    return out


def name_in_doppler(
    report: ExposureReport, cfg: Config, *, offline: bool,
    factory: Callable[[], Any] | None = None,
) -> ExposureReport:
    """The report with each secret's Doppler name, where the tree (and Doppler) say it."""
    if not report.secrets:
        return report
    names = from_references(Path(report.root), cfg, report.secrets)
    warnings = list(report.warnings)
    if not offline:
        if cfg.project is None:
            warnings.append("Doppler not asked: no project (--project, .secretsync.yaml or "
                            "DOPPLER_PROJECT); names come from the tree's references only")
        else:
            from secretsync.verify.remote import default_factory

            try:
                with (factory or default_factory)() as api_factory:
                    names = from_doppler(cfg, list(report.secrets), names, api_factory)
            except SecretsyncError as exc:
                # No token, or Doppler refused: the history report stands on its own.
                warnings.append(f"Doppler not asked: {exc.message} (names come from the tree's "
                                "references only; --offline skips Doppler)")
    secrets_ = tuple(replace(e, doppler=names.get(e.id)) for e in report.secrets)
    return replace(report, secrets=secrets_, warnings=tuple(warnings))
