"""The deploy graph: who deploys each file of the tree, into which cluster and namespace.

Computed once per run (plan, apply and verify share it). It models what Flux and kustomize do
(Flux kustomize-controller docs, "Generating a kustomization.yaml file" and postBuild):

- a plain kustomization deploys its `resources` (files and directories), `components`, and its
  `patches` / `patchesStrategicMerge` files as patches; the outermost `namespace:` wins;
- a Flux `Kustomization` deploys `spec.path`; where that directory has no kustomization file,
  Flux generates one: every .yaml/.yml below it, recursively, except that a sub-directory with
  its own kustomization file is taken whole (as one kustomize build);
- a cluster is a bootstrap `Kustomization` whose path is `clusters/<name>` (the `flux bootstrap`
  layout); every Flux Kustomization its tree deploys belongs to that cluster, transitively;
- the Doppler store a cluster reads is the (Cluster)SecretStore its tree deploys: one name may
  read a different config in each cluster.

Nothing here reads a value: only names, paths, namespaces and structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import reading
from secretsync.walk import KUSTOMIZATION_NAMES

FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"
HELM_API = "helm.toolkit.fluxcd.io/"
_CLUSTER_PATH = re.compile(r"^(?:.*/)?clusters/([^/]+)$")
YAML_SUFFIXES = (".yaml", ".yml")


def norm(path: str) -> str:
    """`./apps/dev/` -> `apps/dev`; `.` for the root."""
    parts: list[str] = []
    for p in path.replace("\\", "/").split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts) or "."


def join(d: str, rel: str) -> str:
    return norm(f"{d}/{rel}" if d != "." else rel)


def load_docs(text: str) -> list[Any]:
    """Every document (None for empty ones, so indexes match the event parser's)."""
    try:
        return reading.load_all(text)  # the scan's size, depth and alias limits
    except Exception:  # a file that is not YAML (or odd YAML) deploys nothing we can model
        return []


@dataclass(frozen=True, slots=True)
class FluxKustomization:
    """One Flux `Kustomization` object, in one cluster."""

    cluster: str
    name: str
    namespace: str
    path: str
    """spec.path, normalised relative to the tree root."""
    file: str
    doc: int
    depends_on: tuple[str, ...] = ()
    substitute: Mapping[str, str] = field(default_factory=dict)
    substitute_from: tuple[tuple[str, str], ...] = ()
    """(kind, name) of each postBuild.substituteFrom entry."""
    has_post_build: bool = False
    target_namespace: str | None = None
    substitution_disabled: bool = False


@dataclass(frozen=True, slots=True)
class Deploy:
    """How one file reaches one cluster."""

    cluster: str
    flux: FluxKustomization
    namespace: str | None
    """The namespace kustomize sets (the outermost `namespace:`), or Flux's targetNamespace."""
    kustomization: str | None
    """The kustomization file that lists it (None: Flux's generated kustomization)."""
    patch: bool = False
    """Deployed as a patch (it changes another file's object instead of adding one)."""


@dataclass(frozen=True, slots=True)
class HelmRelease:
    file: str
    doc: int
    name: str
    namespace: str | None
    """metadata.namespace as written (kustomize may set it: see `namespace_in`)."""
    chart: str | None
    target_namespace: str | None
    values_from: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Store:
    kind: str
    name: str
    config: str | None
    project: str | None
    file: str


@dataclass(slots=True)
class DeployGraph:
    root: Path
    rels: list[str]
    flux: list[FluxKustomization] = field(default_factory=list)
    deploys: dict[str, list[Deploy]] = field(default_factory=dict)
    helmreleases: list[HelmRelease] = field(default_factory=list)
    stores: dict[str, list[Store]] = field(default_factory=dict)
    """Cluster -> the Doppler stores its tree deploys."""
    kustomizations: dict[str, str] = field(default_factory=dict)
    """Directory -> its kustomization file."""
    docs: dict[str, list[Any]] = field(default_factory=dict, repr=False)

    # -- questions ------------------------------------------------------------------------
    @property
    def clusters(self) -> list[str]:
        return sorted({d.cluster for ds in self.deploys.values() for d in ds})

    def deployed(self, rel: str) -> list[Deploy]:
        return self.deploys.get(rel, [])

    def flux_deployed(self, rel: str) -> bool:
        return bool(self.deploys.get(rel))

    def in_flux_tree(self, rel: str) -> bool:
        """Is `rel` below some Flux Kustomization's path (deployed or not)?"""
        return any(k.path == "." or rel.startswith(k.path + "/") for k in self.flux)

    def store(self, cluster: str, name: str | None = None) -> Store | None:
        """The Doppler store `cluster` reads (the one named `name`, if given); a
        ClusterSecretStore is preferred."""
        found = [s for s in self.stores.get(cluster, []) if name is None or s.name == name]
        found.sort(key=lambda s: (s.kind != "ClusterSecretStore", s.name))
        return found[0] if found else None

    def helmrelease(self, rel: str, doc: int) -> HelmRelease | None:
        return next((h for h in self.helmreleases if h.file == rel and h.doc == doc), None)

    def helmrelease_named(self, name: str) -> list[HelmRelease]:
        return [h for h in self.helmreleases if h.name == name]

    def kustomization_of(self, cluster: str, name: str) -> FluxKustomization | None:
        return next((k for k in self.flux if k.cluster == cluster and k.name == name), None)

    def flux_named(self, name: str) -> list[FluxKustomization]:
        return [k for k in self.flux if k.name == name]

    def depends_closure(self, k: FluxKustomization) -> set[str]:
        """Names of every Kustomization `k` depends on, transitively (same cluster)."""
        seen: set[str] = set()
        todo = list(k.depends_on)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            dep = self.kustomization_of(k.cluster, n)
            if dep is not None:
                todo.extend(dep.depends_on)
        return seen

    def env_of(self, cluster: str) -> str:
        """The environment a cluster is (`clusters/prd` -> `prd`)."""
        return cluster.rsplit("/", 1)[-1]

    def patched(self, d: Deploy, kind: str, name: str) -> tuple[HelmRelease | None, str | None]:
        """The object a patch deployed by `d` changes (a HelmRelease of that name deployed by
        the same Flux Kustomization), and the namespace it lives in."""
        for h in self.helmreleases:
            if h.name != name or kind != "HelmRelease":
                continue
            for hd in self.deploys.get(h.file, []):
                if hd.cluster == d.cluster and hd.flux == d.flux and not hd.patch:
                    return h, hd.namespace or h.namespace
        return None, None

    def namespace_in(self, d: Deploy, written: str | None) -> str | None:
        """The namespace an object written with `written` ends up in."""
        return d.namespace or written

    def undeployed(self, rels: Iterable[str]) -> list[str]:
        """Manifests below a Flux path that nothing deploys (really so: not in any cluster)."""
        return [r for r in rels if self.in_flux_tree(r) and not self.deploys.get(r)]


# -- building ---------------------------------------------------------------------------------
def _str(x: object) -> str | None:
    return x if isinstance(x, str) and x else None


def _kust_file(rels: set[str], d: str) -> str | None:
    for n in KUSTOMIZATION_NAMES:
        k = f"{d}/{n}" if d != "." else n
        if k in rels:
            return k
    return None


class _Builder:
    def __init__(self, root: Path, rels: Sequence[str]) -> None:
        self.g = DeployGraph(root, sorted(rels))
        self.relset = set(rels)
        self.yaml_rels = [r for r in self.g.rels if r.endswith(YAML_SUFFIXES)
                          and "templates" not in r.split("/")[:-1]]

    def docs(self, rel: str) -> list[Any]:
        if rel not in self.g.docs:
            try:
                text = reading.read_text(self.g.root / rel, root=self.g.root)
            except (OSError, UnicodeDecodeError):
                text = ""
            self.g.docs[rel] = load_docs(text) if text else []
        return self.g.docs[rel]

    def under(self, d: str) -> list[str]:
        prefix = "" if d == "." else d + "/"
        return [r for r in self.yaml_rels if r.startswith(prefix)]

    # A Flux path: its own kustomization, or Flux's generated one.
    def walk_path(self, path: str) -> Iterator[tuple[str, str | None, str | None, bool]]:
        """(file, namespace, listing kustomization, as patch) for what a Flux path deploys."""
        own = _kust_file(self.relset, path)
        if own is not None:
            yield from self.walk_kust(path, None, set())
            return
        taken: list[str] = []
        for rel in self.under(path):
            d = str(PurePosixPath(rel).parent)
            if any(d == t or d.startswith(t + "/") for t in taken):
                continue
            sub = _kust_file(self.relset, d)
            if sub is not None and d != path:
                taken.append(d)
                yield from self.walk_kust(d, None, set())
                continue
            if PurePosixPath(rel).name in KUSTOMIZATION_NAMES:
                continue
            yield rel, None, None, False

    def walk_kust(self, d: str, outer_ns: str | None, seen: set[str]
                  ) -> Iterator[tuple[str, str | None, str | None, bool]]:
        kust = _kust_file(self.relset, d)
        if kust is None or d in seen:
            return
        seen = seen | {d}
        self.g.kustomizations[d] = kust
        docs = self.docs(kust)
        k = docs[0] if docs and isinstance(docs[0], Mapping) else {}
        ns = outer_ns or _str(k.get("namespace"))
        yield kust, ns, kust, False
        entries = [e for key in ("resources", "bases", "components")
                   for e in (k.get(key) or []) if isinstance(e, str)]
        for e in entries:
            target = join(d, e)
            if target in self.relset:
                yield target, ns, kust, False
            elif _kust_file(self.relset, target) is not None:
                yield from self.walk_kust(target, ns, seen)
        patches: list[str] = [p for p in (k.get("patchesStrategicMerge") or [])
                              if isinstance(p, str)]
        for p in k.get("patches") or []:
            if isinstance(p, Mapping) and isinstance(p.get("path"), str):
                patches.append(p["path"])
        for p in patches:
            target = join(d, p)
            if target in self.relset:
                yield target, ns, kust, True

    def flux_objects(self, rel: str, cluster: str, base: str) -> list[FluxKustomization]:
        out = []
        for i, doc in enumerate(self.docs(rel)):
            if not isinstance(doc, Mapping) or doc.get("kind") != "Kustomization" or not str(
                doc.get("apiVersion", "")
            ).startswith(FLUX_KUSTOMIZE_API):
                continue
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
            spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
            assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
            name = _str(meta.get("name"))
            if name is None:
                continue
            post = spec.get("postBuild") if isinstance(spec.get("postBuild"), Mapping) else None
            subst: dict[str, str] = {}
            sfrom: list[tuple[str, str]] = []
            if post is not None:
                raw = post.get("substitute")
                if isinstance(raw, Mapping):
                    subst = {str(a): str(b) for a, b in raw.items()}
                for item in post.get("substituteFrom") or []:
                    if isinstance(item, Mapping) and _str(item.get("name")):
                        sfrom.append((str(item.get("kind") or "ConfigMap"), str(item["name"])))
            deps = tuple(str(d["name"]) for d in spec.get("dependsOn") or []
                         if isinstance(d, Mapping) and _str(d.get("name")))
            ann = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
            assert isinstance(ann, Mapping)
            out.append(FluxKustomization(
                cluster, name, _str(meta.get("namespace")) or "flux-system",
                join(base, str(spec.get("path") or ".")), rel, i, deps, subst, tuple(sfrom),
                post is not None, _str(spec.get("targetNamespace")),
                ann.get("kustomize.toolkit.fluxcd.io/substitute") == "disabled"))
        return out

    def cluster_dirs(self) -> list[tuple[str, str, str]]:
        """(cluster, repository base, cluster directory) for each `clusters/<name>` directory
        that holds Flux Kustomizations (the `flux bootstrap --path=clusters/<name>` layout)."""
        found: dict[str, tuple[str, str, str]] = {}
        for rel in self.yaml_rels:
            parts = rel.split("/")
            if "clusters" not in parts[:-2]:
                continue
            i = len(parts) - 1 - parts[::-1].index("clusters")
            if i >= len(parts) - 2:
                continue
            base = "/".join(parts[:i]) or "."
            cdir = "/".join(parts[: i + 2])
            try:
                head = reading.read_bytes(self.g.root / rel, root=self.g.root)
            except OSError:
                continue
            if b"kustomize.toolkit.fluxcd.io" in head:
                name = parts[i + 1] if base == "." else f"{base}/{parts[i + 1]}"
                found.setdefault(cdir, (name, base, cdir))
        return sorted(found.values())

    def build(self) -> DeployGraph:
        for cluster, base, cdir in self.cluster_dirs():
            self.cluster(cluster, base, cdir)
        self.index_objects()
        return self.g

    def cluster(self, cluster: str, base: str, cdir: str) -> None:
        # The bootstrap Kustomization (flux-system, path clusters/<name>) is the root; a tree
        # without one (no flux-system directory committed) is rooted at the directory anyway.
        root = FluxKustomization(cluster, "flux-system", "flux-system", cdir, "", -1)
        todo: list[FluxKustomization] = [root]
        seen_paths: set[str] = set()
        seen_names: set[str] = set()
        while todo:
            k = todo.pop(0)
            for rel, ns, kust, patch in self.walk_path(k.path):
                d = Deploy(cluster, k, ns or k.target_namespace, kust, patch)
                if d not in self.g.deploys.setdefault(rel, []):
                    self.g.deploys[rel].append(d)
                if patch or not rel.endswith(YAML_SUFFIXES) or rel in seen_paths:
                    continue
                seen_paths.add(rel)
                for child in self.flux_objects(rel, cluster, base):
                    if child.name in seen_names:
                        continue
                    seen_names.add(child.name)
                    self.g.flux.append(child)
                    if child.path != cdir:
                        todo.append(child)
                    else:
                        # The bootstrap object: its deploys are the root's.
                        for ds in self.g.deploys.values():
                            for j, x in enumerate(ds):
                                if x.flux is root:
                                    ds[j] = Deploy(x.cluster, child, x.namespace,
                                                   x.kustomization, x.patch)
                        root = child

    def index_objects(self) -> None:
        for rel in self.yaml_rels:
            for i, doc in enumerate(self.docs(rel)) if rel in self.g.deploys else ():
                if not isinstance(doc, Mapping):
                    continue
                kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
                spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
                assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
                if kind == "HelmRelease" and api.startswith(HELM_API):
                    chart_spec = ((spec.get("chart") or {}).get("spec") or {}) if isinstance(
                        spec.get("chart"), Mapping) else {}
                    chart = _str(chart_spec.get("chart")) if isinstance(chart_spec, Mapping) \
                        else None
                    vf = tuple(v for v in spec.get("valuesFrom") or [] if isinstance(v, Mapping))
                    self.g.helmreleases.append(HelmRelease(
                        rel, i, _str(meta.get("name")) or "", _str(meta.get("namespace")), chart,
                        _str(spec.get("targetNamespace")), vf))
                elif kind in ("ClusterSecretStore", "SecretStore"):
                    provider = spec.get("provider") if isinstance(spec.get("provider"),
                                                                  Mapping) else {}
                    assert isinstance(provider, Mapping)
                    doppler = provider.get("doppler")
                    name = _str(meta.get("name"))
                    if not isinstance(doppler, Mapping) or name is None:
                        continue
                    for d in self.g.deploys[rel]:
                        st = Store(str(kind), name, _str(doppler.get("config")),
                                   _str(doppler.get("project")), rel)
                        if st not in self.g.stores.setdefault(d.cluster, []):
                            self.g.stores[d.cluster].append(st)


def build(root: Path, rels: Sequence[str]) -> DeployGraph:
    """The deploy graph of the tree at `root` (files `rels`, relative, `/`-separated)."""
    return _Builder(root.resolve(), rels).build()
