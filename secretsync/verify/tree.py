"""What the tree declares about Secrets: ExternalSecrets (plain, and the ones secretsync's chart
template renders from values), stores, other producers, and every reference to a Secret.

Read once per run and shared by the checks. Helm templates are not YAML until rendered, so they
are read only for the one template secretsync generates (whose inputs are the values files).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import documents, manifests, reading
from secretsync.config import Config, StoreRef
from secretsync.detection import KeyPath
from secretsync.documents import ParsedFile
from secretsync.environments import EnvRules, path_env
from secretsync.scan import ScanOptions, list_files
from secretsync.walk import KUSTOMIZATION_NAMES

CHART_TEMPLATE = "templates/secretsync-externalsecret.yaml"
# Keys of the `<cluster>-app` / `-superuser` Secrets CloudNativePG creates.
CNPG_KEYS = frozenset({"username", "user", "password", "host", "port", "dbname", "uri",
                       "jdbc-uri", "pgpass", "fqdn-uri", "fqdn-jdbc-uri"})
# Cheap byte prefilters: a file is parsed only for what it can hold.
_REF_NEEDLES = (b"secretKeyRef", b"ecretRef")
_DOC_NEEDLES = (b"ExternalSecret", b"SecretStore", b"Secret\n", b"Secret\r", b"SealedSecret",
                b"secretsync:")


@dataclass(frozen=True, slots=True)
class ExternalSecretInfo:
    path: str
    line: int
    name: str
    store: StoreRef | None
    target: str
    remote_keys: tuple[str, ...]
    """Doppler names it reads (data[].remoteRef.key and dataFrom[].extract.key)."""
    keys: frozenset[str] | None
    """Keys the Secret it creates will have; None when unknowable (dataFrom.find, templates)."""
    env: str | None
    generated: bool = False
    """Rendered from a chart's `secretsync:` values by secretsync's template."""
    doc: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class StoreInfo:
    path: str
    line: int
    ref: StoreRef
    doc: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def doppler(self) -> Mapping[str, Any] | None:
        d = ((self.doc.get("spec") or {}).get("provider") or {}).get("doppler")
        return d if isinstance(d, Mapping) else None


@dataclass(frozen=True, slots=True)
class SecretRefInfo:
    path: str
    line: int
    column: int
    key_path: str
    secret: str
    key: str | None
    via: str
    """secretKeyRef, envFrom, or the chart key (`clientIdSecretRef`)."""
    kp: KeyPath = ()


@dataclass(frozen=True, slots=True)
class Producer:
    what: str
    path: str
    keys: frozenset[str] | None


@dataclass(slots=True)
class TreeIndex:
    root: Path
    rels: list[str]
    external_secrets: list[ExternalSecretInfo] = field(default_factory=list)
    stores: list[StoreInfo] = field(default_factory=list)
    refs: list[SecretRefInfo] = field(default_factory=list)
    producers: dict[str, list[Producer]] = field(default_factory=dict)
    kustomizations: list[str] = field(default_factory=list)
    parsed: dict[str, ParsedFile] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)
    graph: Any = field(default=None, repr=False)
    """The deploy graph (secretsync.remediate.graph), built on first use."""

    def store(self, ref: StoreRef, near: str = "") -> StoreInfo | None:
        """The store `ref` names; with several of that name (a monorepo of clusters), the one
        the cluster that deploys `near` deploys, else the one sharing the longest directory
        prefix with `near`."""
        found = [s for s in self.stores if s.ref == ref]
        if not found:
            return None
        if len(found) > 1 and near:
            if self.graph is None:
                from secretsync.remediate.graph import build

                self.graph = build(self.root, self.rels)
            clusters = {d.cluster for d in self.graph.deployed(near)}
            if len(clusters) == 1:
                mine = [s for s in found
                        if clusters <= {d.cluster for d in self.graph.deployed(s.path)}]
                if len(mine) == 1:
                    return mine[0]
        parts = near.split("/")

        def shared(s: StoreInfo) -> int:
            n = 0
            for a, b in zip(parts, s.path.split("/"), strict=False):
                if a != b:
                    break
                n += 1
            return n

        return max(found, key=shared)

    def stores_named(self, ref: StoreRef) -> list[StoreInfo]:
        return [s for s in self.stores if s.ref == ref]


def _load_all(text: str) -> list[Any]:
    """Every document, None for empty ones, so positions match the event parser's indexes."""
    try:
        # The C loader where installed: this runs on every manifest-bearing file of the tree.
        return reading.load_all(text)
    except Exception:  # odd YAML (bad tags, recursion): documents.parse reports it as text
        return []


def _line_of(pf: ParsedFile, doc: int, path: KeyPath) -> int:
    for s in pf.scalars:
        if s.doc == doc and s.ctx.key_path == path:
            return s.line
    return 1


def _str(x: object) -> str | None:
    return x if isinstance(x, str) and x else None


def _es_info(rel: str, line: int, doc: Mapping[str, Any], env: str | None,
             generated: bool = False) -> ExternalSecretInfo | None:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    if not isinstance(meta, Mapping) or not isinstance(spec, Mapping):
        return None
    name = _str(meta.get("name")) or "(unnamed)"
    ref = spec.get("secretStoreRef") or {}
    store = None
    if isinstance(ref, Mapping) and _str(ref.get("name")):
        store = StoreRef(_str(ref.get("kind")) or "SecretStore", str(ref["name"]))
    target = spec.get("target") or {}
    target = target if isinstance(target, Mapping) else {}
    remote: list[str] = []
    data_keys: set[str] = set()
    unknown = False
    for item in spec.get("data") or []:
        if not isinstance(item, Mapping):
            continue
        rk = _str((item.get("remoteRef") or {}).get("key"))
        if rk:
            remote.append(rk)
        sk = _str(item.get("secretKey"))
        if sk:
            data_keys.add(sk)
    for item in spec.get("dataFrom") or []:
        if not isinstance(item, Mapping):
            continue
        ek = _str((item.get("extract") or {}).get("key"))
        if ek:
            remote.append(ek)
        unknown = True  # extract/find decide the keys at sync time
    template = target.get("template") or {}
    keys: frozenset[str] | None = frozenset(data_keys)
    if isinstance(template, Mapping) and (template.get("data") or template.get("templateFrom")):
        raw_data = template.get("data")
        tdata: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        if template.get("templateFrom"):
            unknown = True
        merge = template.get("mergePolicy") == "Merge"
        keys = frozenset(str(k) for k in tdata) | (frozenset(data_keys) if merge else frozenset())
    return ExternalSecretInfo(
        rel, line, name, store, _str(target.get("name")) or name, tuple(remote),
        None if unknown else keys, env, generated, doc,
    )


def _chart_values(idx: TreeIndex, chart: str, rules: EnvRules) -> Iterator[ExternalSecretInfo]:
    """The ExternalSecrets secretsync's chart template renders: one per values file that sets
    `secretsync:`, with Helm's merge of values.yaml under values-<env>.yaml."""
    def block(rel: str) -> Mapping[str, Any] | None:
        pf = idx.parsed.get(rel)
        if pf is None:
            return None
        docs = _load_all(pf.text)
        top = docs[0] if docs else None
        b = top.get("secretsync") if isinstance(top, Mapping) else None
        return b if isinstance(b, Mapping) else None

    base_rel = next((f"{chart}/{n}" for n in ("values.yaml", "values.yml")
                     if f"{chart}/{n}" in idx.parsed), None)
    base = block(base_rel) if base_rel else None
    for rel in sorted(idx.parsed):
        if str(PurePosixPath(rel).parent) != chart or not re.fullmatch(
            r"values([-_.].+)?\.ya?ml", PurePosixPath(rel).name
        ):
            continue
        own = block(rel)
        if own is None:
            continue
        merged = {**(base or {}), **own} if rel != base_rel else dict(own)
        store = merged.get("store") or {}
        store = store if isinstance(store, Mapping) else {}
        secret = _str(merged.get("secretName")) or "(unset)"
        keys = [k for k in (merged.get("keys") or []) if isinstance(k, str)]
        doc = manifests.external_secret(
            secret, StoreRef(_str(store.get("kind")) or "(unset)", _str(store.get("name"))
                             or "(unset)"), keys)
        line = _line_of(idx.parsed[rel], 0, ("secretsync", "secretName"))
        info = _es_info(rel, line, doc, path_env(rel, rules), generated=True)
        if info is not None:
            yield info


def _refs(pf: ParsedFile, suffix: str) -> Iterator[SecretRefInfo]:
    by_path = {(s.doc, s.ctx.key_path): s for s in pf.scalars
               if s.style not in ("embedded", "comment", "text")}
    for (doc, kp), s in by_path.items():
        if len(kp) < 2 or kp[-1] != "name" or not isinstance(kp[-2], str):
            continue
        parent = kp[-2]
        if "{{" in s.value or "${" in s.value:
            continue  # rendered later (Helm, Flux substitution): nothing to resolve here
        key_scalar = by_path.get((doc, (*kp[:-1], "key")))
        key = key_scalar.value if key_scalar is not None else None
        if parent == "secretKeyRef":
            via = "secretKeyRef"
        elif (parent == "secretRef" and len(kp) >= 4 and isinstance(kp[-3], int)
              and isinstance(kp[-4], str) and kp[-4].lower().endswith("envfrom")):
            via, key = "envFrom", None
        elif parent.endswith(suffix) and parent != suffix[0].lower() + suffix[1:]:
            via = parent
        else:
            continue
        yield SecretRefInfo(pf.rel, s.line, s.column, documents_dotted(kp), s.value, key, via, kp)


def documents_dotted(kp: KeyPath) -> str:
    from secretsync.models import dotted

    return dotted(kp) or ""


def index_tree(root: Path, cfg: Config, rules: EnvRules) -> TreeIndex:
    opts = ScanOptions(excludes=cfg.excludes, env_rules=rules)
    base, files, _ = list_files([root], opts)
    idx = TreeIndex(base, [f.rel for f in files])
    for f in files:
        name = PurePosixPath(f.rel).name
        if name in KUSTOMIZATION_NAMES and (
            "templates" not in f.rel.split("/")[:-1]
        ):
            idx.kustomizations.append(f.rel)
        if f.template:
            continue
        try:
            data = reading.read_bytes(f.path, root=root)
        except OSError:
            continue
        has_refs = any(n in data for n in _REF_NEEDLES)
        has_docs = any(n in data for n in _DOC_NEEDLES)
        if not (has_refs or has_docs):
            continue
        pf, _ = documents.parse(f.rel, data)
        if pf.fallback is not None:
            continue
        idx.parsed[f.rel] = pf
        if has_refs:
            idx.refs.extend(_refs(pf, cfg.ref_suffix))
        if not has_docs:
            continue
        env = path_env(f.rel, rules)
        for i, doc in enumerate(_load_all(pf.text)):
            if not isinstance(doc, Mapping):
                continue
            kind = doc.get("kind")
            line = _line_of(pf, i, ("metadata", "name"))
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
            assert isinstance(meta, Mapping)
            if kind == "ClusterExternalSecret":
                # Its externalSecretSpec is an ExternalSecret's spec, stamped per namespace.
                inner = (doc.get("spec") or {}).get("externalSecretSpec") if isinstance(
                    doc.get("spec"), Mapping) else None
                if isinstance(inner, Mapping):
                    doc = {"apiVersion": doc.get("apiVersion"), "kind": "ExternalSecret",
                           "metadata": {"name": meta.get("name")}, "spec": inner}
                    kind = "ExternalSecret"
            if kind == "ExternalSecret":
                info = _es_info(f.rel, line, doc, env)
                if info is not None:
                    idx.external_secrets.append(info)
            elif kind in ("SecretStore", "ClusterSecretStore") and _str(meta.get("name")):
                idx.stores.append(StoreInfo(f.rel, line, StoreRef(str(kind), str(meta["name"])),
                                            doc))
            elif kind == "Secret" and _str(meta.get("name")):
                keys = {str(k) for part in ("data", "stringData")
                        for k in (doc.get(part) or {}) if isinstance(doc.get(part), Mapping)}
                _produce(idx, str(meta["name"]), Producer("Secret", f.rel, frozenset(keys)))
            elif kind == "SealedSecret":
                spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
                assert isinstance(spec, Mapping)
                tmeta = ((spec.get("template") or {}).get("metadata") or {})
                sname = _str(tmeta.get("name")) if isinstance(tmeta, Mapping) else None
                sname = sname or _str(meta.get("name"))
                enc = spec.get("encryptedData")
                if sname:
                    _produce(idx, sname, Producer("SealedSecret", f.rel, frozenset(
                        str(k) for k in enc) if isinstance(enc, Mapping) else None))
    charts = sorted({str(PurePosixPath(r).parent) for r in idx.rels
                     if PurePosixPath(r).name == "Chart.yaml"})
    for chart in charts:
        tpl = f"{chart}/{CHART_TEMPLATE}" if chart != "." else CHART_TEMPLATE
        if tpl in idx.rels:
            idx.external_secrets.extend(_chart_values(idx, chart, rules))
    for es in idx.external_secrets:
        _produce(idx, es.target, Producer("ExternalSecret", es.path, es.keys))
    return idx


def _produce(idx: TreeIndex, name: str, p: Producer) -> None:
    idx.producers.setdefault(name, []).append(p)


def operator_producer(root: Path, rels: Sequence[str]) -> tuple[set[str], bool]:
    return manifests.cnpg_clusters(root, rels)
