"""The equivalence check: render each cluster of a tree before and after a remediation, with
Doppler's values put back as Flux and ESO would, and report every object whose effective
configuration differs, by kind/namespace/name and field path. Never a value.

What is modelled (as the Flux helm-controller, kustomize-controller and ESO docs describe it):
- Flux Kustomizations from the `clusters/<env>` bootstrap: `kubectl kustomize` where a
  kustomization file exists, else Flux's generated kustomization (every .yaml/.yml below the path,
  a sub-directory with its own kustomization built whole);
- postBuild substitution (`substitute`, `substituteFrom` Secrets/ConfigMaps in the
  Kustomization's namespace; `${VAR}`, `${VAR:=default}`/`:-`, `$${` escapes; strict: an
  undefined variable is an error), on the text before it is parsed, as Flux does;
- ExternalSecrets materialised into Secrets from the Doppler config of the store they name in
  that cluster (`data`, and `target.template.data` with `{{ .KEY }}` actions);
- HelmRelease values: `valuesFrom` (root merges, then inline values, then `targetPath` entries,
  strvals typing or `literal`), chart recipes (the chart's own Secret read back into the values
  it replaces), and env entries' `valueFrom.secretKeyRef` resolved in the release namespace;
- pod env `secretKeyRef`s resolved in the object's namespace.

Values only ever live in memory here; differences name places.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML

from secretsync.remediate.chart_recipe import recipes
from secretsync.remediate.graph import DeployGraph, FluxKustomization, build, join
from secretsync.walk import KUSTOMIZATION_NAMES

Values = Callable[[str], Mapping[str, str]]
"""Doppler config -> {name: value}."""
INTENDED = "secretsync.io/intended-change"
"""ExternalSecret annotation: `env/NAME,...` keys whose value is a human's decision (env leaks)."""
_SKIP_KINDS = {"ExternalSecret", "Kustomization"}


class _Intended(str):
    """A value that comes from a key a human decides (an env leak's replacement)."""

    __slots__ = ()


_MISSING = "\x00missing\x00"


@dataclass(frozen=True, slots=True)
class Difference:
    cluster: str
    kind: str
    namespace: str
    name: str
    field: str
    what: str
    intended: bool = False

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        at = f" {self.field}" if self.field else ""
        return f"{self.cluster}: {self.kind} {ns}{self.name}{at}: {self.what}"


@dataclass(slots=True)
class Rendered:
    cluster: str
    objects: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    produced: set[tuple[str, str, str]] = field(default_factory=set)
    """Secrets an ExternalSecret makes."""
    problems: list[Difference] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Result:
    differences: tuple[Difference, ...]
    """Failures: objects or fields that differ, or cannot be rendered after."""
    intended: tuple[Difference, ...]
    clusters: tuple[str, ...]
    not_built: tuple[str, ...]
    seconds: float
    offline: bool

    @property
    def complete(self) -> bool:
        """Every kustomization was built (kubectl present, every build succeeds)."""
        return not self.not_built

    @property
    def equivalent(self) -> bool:
        return not self.differences


# -- building -----------------------------------------------------------------------------------
class _Builder:
    def __init__(self, root: Path, graph: DeployGraph, kubectl: str | None) -> None:
        self.root = root
        self.graph = graph
        self.kubectl = kubectl
        self.cache: dict[str, str | None] = {}
        self.relset = set(graph.rels)

    def kustomize(self, d: str) -> str | None:
        if d not in self.cache:
            self.cache[d] = None if self.kubectl is None else self._run(d)
        return self.cache[d]

    def prefetch(self, paths: list[str]) -> None:
        """Build every kustomization these Flux paths need, in parallel (kubectl dominates)."""
        from concurrent.futures import ThreadPoolExecutor

        dirs: set[str] = set()
        for path in paths:
            if self._kust(path):
                dirs.add(path)
                continue
            prefix = "" if path == "." else path + "/"
            for rel in self.graph.rels:
                if rel.startswith(prefix) and PurePosixPath(rel).name in KUSTOMIZATION_NAMES:
                    dirs.add(str(PurePosixPath(rel).parent))
        todo = sorted(d for d in dirs if d not in self.cache)
        if self.kubectl is None or not todo:
            return
        with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
            for d, out in zip(todo, pool.map(self._run, todo), strict=True):
                self.cache[d] = out

    def _run(self, d: str) -> str | None:
        assert self.kubectl is not None
        r = subprocess.run([self.kubectl, "kustomize", str(self.root / d)], capture_output=True,
                           text=True, timeout=120, check=False,
                           env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/tmp"})
        return r.stdout if r.returncode == 0 else None

    def _kust(self, d: str) -> bool:
        return any(join(d, n) in self.relset for n in KUSTOMIZATION_NAMES)

    def texts(self, path: str, problems: list[str]) -> list[str]:
        """The manifests a Flux path produces, as YAML texts (substitution happens on text)."""
        if self._kust(path):
            out = self.kustomize(path)
            if out is None:
                problems.append(path)
                return []
            return [out]
        prefix = "" if path == "." else path + "/"
        taken: list[str] = []
        texts = []
        for rel in sorted(self.graph.rels):
            if not rel.startswith(prefix) or not rel.endswith((".yaml", ".yml")):
                continue
            if "templates" in rel.split("/")[:-1]:
                continue
            d = str(PurePosixPath(rel).parent)
            if any(d == t or d.startswith(t + "/") for t in taken):
                continue
            if d != path and self._kust(d):
                taken.append(d)
                out = self.kustomize(d)
                if out is None:
                    problems.append(d)
                else:
                    texts.append(out)
                continue
            if PurePosixPath(rel).name in KUSTOMIZATION_NAMES:
                continue
            try:
                texts.append((self.root / rel).read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError):
                continue
        return texts


def _chunks(text: str) -> Iterator[str]:
    for part in re.split(r"(?m)^---[ \t]*(?:#.*)?$", text):
        if part.strip():
            yield part


def _load(text: str) -> Any:
    try:
        return YAML(typ="safe").load(text)
    except Exception:  # a manifest that is not YAML: Flux would fail on it too
        return None


_SUBST = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARNAME = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-=])(.*))?$", re.S)


def substitute(text: str, variables: Mapping[str, str], undefined: set[str]) -> str:
    """Flux's envsubst on `text` (strict: undefined names are collected in `undefined`)."""
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "${" or m.group(0) == "$${":
            return "${"
        inner = m.group(1)
        vm = _VARNAME.match(inner)
        if vm is None:
            undefined.add(inner)
            return m.group(0)
        name, op, default = vm.group(1), vm.group(2), vm.group(3)
        if name in variables and not (op and op.startswith(":") and variables[name] == ""):
            return variables[name]
        if op is not None:
            return default or ""
        undefined.add(name)
        return m.group(0)

    return _SUBST.sub(one, text)


class _Cluster:
    def __init__(self, root: Path, graph: DeployGraph, cluster: str, builder: _Builder,
                 values: Values | None) -> None:
        self.root = root
        self.graph = graph
        self.cluster = cluster
        self.builder = builder
        self.values = values
        self.out = Rendered(cluster)
        self.env = graph.env_of(cluster)

    def kustomizations(self) -> list[FluxKustomization]:
        ks = [k for k in self.graph.flux if k.cluster == self.cluster]
        paths = {k.path for k in ks}
        roots: dict[str, FluxKustomization] = {}
        for ds in self.graph.deploys.values():
            for d in ds:
                if d.cluster == self.cluster and d.flux.file == "" and d.flux.path not in paths:
                    roots[d.flux.path] = d.flux
        return ks + list(roots.values())

    def render(self) -> Rendered:
        raw: list[tuple[FluxKustomization, list[str]]] = []
        for k in self.kustomizations():
            missing: list[str] = []
            raw.append((k, self.builder.texts(k.path, missing)))
            self.out.not_built.extend(missing)
        # ExternalSecrets outside substitution give the variables Secrets.
        first = [d for _k, texts in raw for t in texts for c in _chunks(t)
                 if isinstance(d := _load(c), Mapping)]
        stores = self._stores(first)
        secrets = self._materialize(first, stores, report=False)
        objects: list[dict[str, Any]] = []
        for k, texts in raw:
            variables = self._variables(k, secrets)
            for t in texts:
                for chunk in _chunks(t):
                    doc = _load(chunk)
                    if not isinstance(doc, Mapping):
                        continue
                    if k.has_post_build and variables and not _disabled(doc):
                        # Flux substitutes the resource as serialised (no comments).
                        undefined: set[str] = set()
                        chunk = substitute(_dump(doc), variables, undefined)
                        for name in sorted(undefined):
                            self._problem(doc, "", f"undefined variable {name} (strict "
                                          f"substitution fails Kustomization {k.name})")
                        doc = _load(chunk)
                        if not isinstance(doc, Mapping):
                            continue
                    if k.target_namespace and "namespace" not in (doc.get("metadata") or {}):
                        doc = {**doc, "metadata": {**(doc.get("metadata") or {}),
                                                   "namespace": k.target_namespace}}
                    objects.append(dict(doc))
        stores = self._stores(objects)
        secrets = self._materialize(objects, stores, report=True)
        for doc in objects:
            self._add(doc, secrets)
        for (ns, name), data in secrets.items():
            key = ("Secret", ns, name)
            self.out.produced.add(key)
            self.out.objects[key] = {"data": dict(data)}
        return self.out

    # -- pieces ---------------------------------------------------------------------------
    def _problem(self, doc: Mapping[str, Any], path: str, what: str) -> None:
        kind, ns, name = _key(doc)
        self.out.problems.append(Difference(self.cluster, kind, ns, name, path, what))

    def _stores(self, docs: list[Any]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for d in docs:
            if d.get("kind") in ("ClusterSecretStore", "SecretStore"):
                doppler = (((d.get("spec") or {}).get("provider") or {}).get("doppler") or {})
                name = (d.get("metadata") or {}).get("name")
                if isinstance(name, str):
                    out[name] = doppler.get("config") if isinstance(doppler, Mapping) else None
        return out

    def _materialize(self, docs: list[Any], stores: Mapping[str, str | None], *, report: bool
                     ) -> dict[tuple[str, str], dict[str, str]]:
        out: dict[tuple[str, str], dict[str, str]] = {}
        for d in docs:
            if d.get("kind") != "ExternalSecret":
                continue
            meta = d.get("metadata") or {}
            spec = d.get("spec") or {}
            ns = str(meta.get("namespace") or "")
            target = (spec.get("target") or {})
            tname = str(target.get("name") or meta.get("name"))
            store = str((spec.get("secretStoreRef") or {}).get("name"))
            if store not in stores:
                if report:
                    self._problem(d, "spec.secretStoreRef", f"store {store} is not deployed "
                                  "in this cluster")
                continue
            config = stores[store]
            intended = _intended(meta, self.env)
            held = dict(self.values(config)) if (self.values is not None and config) else None
            data: dict[str, str] = {}
            for i, item in enumerate(spec.get("data") or []):
                remote = str((item.get("remoteRef") or {}).get("key"))
                if held is None:
                    data[str(item.get("secretKey"))] = f"<doppler:{remote}>"
                    continue
                if remote in held:
                    v = held[remote]
                    data[str(item.get("secretKey"))] = _Intended(v) if remote in intended else v
                elif remote in intended:
                    data[str(item.get("secretKey"))] = _Intended(_MISSING)
                elif report:
                    self._problem(d, f"spec.data[{i}].remoteRef.key",
                                  f"Doppler config {config} has no {remote}")
            template = (target.get("template") or {}).get("data")
            if isinstance(template, Mapping):
                rendered = {str(k): _render_template(str(v), data) for k, v in template.items()}
                if (target.get("template") or {}).get("mergePolicy") == "Merge":
                    data = {**data, **rendered}
                else:
                    data = rendered
            out[(ns, tname)] = data
        return out

    def _variables(self, k: FluxKustomization, secrets: Mapping[tuple[str, str], Mapping[
            str, str]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for _kind, name in k.substitute_from:
            found = secrets.get((k.namespace, name))
            if found is not None:
                out.update(found)
        out.update(k.substitute)
        return out

    def _add(self, doc: dict[str, Any], secrets: Mapping[tuple[str, str], Mapping[str, str]]
             ) -> None:
        kind, ns, name = _key(doc)
        if kind in _SKIP_KINDS:
            return
        if kind == "Secret":
            self.out.objects[(kind, ns, name)] = {"data": _secret_data(doc)}
            return
        doc = dict(doc)
        if kind == "HelmRelease":
            doc = self._helmrelease(doc, secrets)
            ns_env = (doc.get("spec") or {}).get("targetNamespace") or ns
        else:
            ns_env = ns
        self.out.objects[(kind, ns, name)] = _resolve_env(doc, str(ns_env), secrets)

    def _helmrelease(self, doc: dict[str, Any], secrets: Mapping[tuple[str, str],
                                                                  Mapping[str, str]]
                     ) -> dict[str, Any]:
        spec = dict(doc.get("spec") or {})
        ns = str((doc.get("metadata") or {}).get("namespace") or "")
        release_ns = str(spec.get("targetNamespace") or ns)
        inline = spec.get("values") or {}
        merged: Any = {}
        later: list[tuple[int, Mapping[str, Any]]] = []
        for i, vf in enumerate(spec.get("valuesFrom") or []):
            if vf.get("targetPath"):
                later.append((i, vf))
                continue
            raw = self._lookup(doc, i, vf, ns, secrets)
            if raw is not None:
                merged = _merge(merged, _load(raw) or {})
        merged = _merge(merged, inline)
        for i, vf in later:
            raw = self._lookup(doc, i, vf, ns, secrets)
            if raw is None:
                continue
            value: Any = raw if vf.get("literal") else _strvals(raw)
            if isinstance(raw, _Intended):
                value = raw
            if not _set_path(merged, _parse_path(str(vf["targetPath"])), value):
                self._problem(doc, f"spec.valuesFrom[{i}].targetPath", "cannot be applied "
                              "to the values (helm-controller: unable to parse key)")
        chart = str((((spec.get("chart") or {}).get("spec") or {}).get("chart")) or "")
        recipe = recipes().get(chart)
        if recipe is not None:
            held = secrets.get((release_ns, recipe.secret))
            if held is not None and all(_get_path(merged, list(p)) is None
                                        for p, _k in recipe.values):
                for p, key in recipe.values:
                    if key in held:
                        _set_path(merged, list(p), held[key])
        spec["values"] = merged
        spec.pop("valuesFrom", None)
        return {**doc, "spec": spec}

    def _lookup(self, doc: Mapping[str, Any], i: int, vf: Mapping[str, Any], ns: str,
                secrets: Mapping[tuple[str, str], Mapping[str, str]]) -> str | None:
        kind = vf.get("kind", "Secret")
        name = str(vf.get("name"))
        key = str(vf.get("valuesKey") or "values.yaml")
        if kind == "Secret":
            held = secrets.get((ns, name))
            if held is None:
                lit = self.out.objects.get(("Secret", ns, name))
                held = lit.get("data") if isinstance(lit, Mapping) else None
        else:
            cm = self.out.objects.get(("ConfigMap", ns, name))
            held = (cm or {}).get("data") if isinstance(cm, Mapping) else None
        if held is None or key not in held:
            if not vf.get("optional") or held is not None:
                where = f"{ns}/{name}" if ns else name
                self._problem(doc, f"spec.valuesFrom[{i}]", f"{kind} {where} " + (
                    "does not exist in the HelmRelease's namespace" if held is None
                    else f"has no key {key}"))
            return None
        return held[key]


def _intended(meta: Mapping[str, Any], env: str) -> set[str]:
    raw = ((meta.get("annotations") or {}).get(INTENDED)) or ""
    out = set()
    for item in str(raw).split(","):
        e, _, name = item.strip().partition("/")
        if e == env and name:
            out.add(name)
    return out


def _dump(doc: Any) -> str:
    import io

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 1 << 20
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _disabled(doc: Mapping[str, Any]) -> bool:
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    return isinstance(ann, Mapping) and ann.get("kustomize.toolkit.fluxcd.io/substitute") == \
        "disabled"


def _key(doc: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return (str(doc.get("kind") or "?"), str(meta.get("namespace") or ""),
            str(meta.get("name") or "?"))


def _secret_data(doc: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (doc.get("data") or {}).items():
        try:
            out[str(k)] = base64.b64decode(str(v)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            out[str(k)] = str(v)
    for k, v in (doc.get("stringData") or {}).items():
        out[str(k)] = str(v)
    return out


_ACTION = re.compile(r"\{\{\s*(?:\.([A-Za-z_][A-Za-z0-9_]*)|\"\{\{\")\s*\}\}")


def _render_template(tpl: str, data: Mapping[str, str]) -> str:
    intended = False

    def one(m: re.Match[str]) -> str:
        nonlocal intended
        if m.group(1) is None:
            return "{{"
        v = data.get(m.group(1), _MISSING)
        intended = intended or isinstance(v, _Intended)
        return v

    out = _ACTION.sub(one, tpl)
    return _Intended(out) if intended else out


def _merge(base: Any, over: Any) -> Any:
    """Helm's merge: maps deeply, everything else (lists too) replaced."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(out[k], v) if k in out else v
        return out
    return over


def _strvals(raw: str) -> Any:
    """helm strvals typing of a targetPath value without `literal`."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if raw == "null":
        return None
    if raw == "0":
        return 0
    if re.fullmatch(r"-?[1-9][0-9]*", raw):
        n = int(raw)
        if -(2**63) <= n < 2**63:
            return n
    return raw


def _parse_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in re.split(r"(?<!\\)\.", path):
        m = re.fullmatch(r"(.*?)((?:\[[0-9]+\])*)", part)
        assert m is not None
        if m.group(1):
            out.append(m.group(1).replace("\\.", "."))
        out.extend(int(x) for x in re.findall(r"\[([0-9]+)\]", m.group(2)))
    return out


def _set_path(obj: Any, path: list[str | int], value: Any) -> bool:
    cur = obj
    for i, p in enumerate(path):
        last = i == len(path) - 1
        nxt: Any = [] if (not last and isinstance(path[i + 1], int)) else {}
        if isinstance(p, int):
            if not isinstance(cur, list):
                return False
            while len(cur) <= p:
                cur.append(None)
            if last:
                cur[p] = value
            else:
                if cur[p] is None:
                    cur[p] = nxt
                cur = cur[p]
        else:
            if not isinstance(cur, dict):
                return False
            if last:
                cur[p] = value
            else:
                if not isinstance(cur.get(p), dict | list):
                    if p in cur and cur[p] is not None:
                        return False
                    cur[p] = nxt
                cur = cur[p]
    return True


def _get_path(obj: Any, path: list[str | int]) -> Any:
    cur = obj
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur):
                return None
        elif not isinstance(cur, Mapping) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _resolve_env(obj: Any, ns: str, secrets: Mapping[tuple[str, str], Mapping[str, str]]) -> Any:
    """Every `{name, valueFrom: {secretKeyRef}}` whose Secret the cluster makes becomes
    `{name, value}` (what the container sees)."""
    if isinstance(obj, Mapping):
        ref = (obj.get("valueFrom") or {}).get("secretKeyRef") if isinstance(
            obj.get("valueFrom"), Mapping) else None
        if isinstance(ref, Mapping) and "name" in obj:
            held = secrets.get((ns, str(ref.get("name"))))
            if held is not None and str(ref.get("key")) in held:
                return {"name": obj["name"], "value": held[str(ref.get("key"))]}
        return {k: _resolve_env(v, ns, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve_env(v, ns, secrets) for v in obj]
    return obj


# -- comparing ----------------------------------------------------------------------------------
def _diff(a: Any, b: Any, path: str, out: list[tuple[str, str, bool]]) -> None:
    if isinstance(b, _Intended):
        if _MISSING in b or str(a) != str(b):
            out.append((path, "intended change (a value a human sets: env leak)", True))
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append((p, "missing after", False))
            elif k not in a:
                out.append((p, "added", False))
            else:
                _diff(a[k], b[k], p, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            p = f"{path}[{i}]"
            if i >= len(b):
                out.append((p, "missing after", False))
            elif i >= len(a):
                out.append((p, "added", False))
            else:
                _diff(a[i], b[i], p, out)
        return
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        out.append((path, f"type differs ({type(a).__name__} before, {type(b).__name__} "
                          "after)", False))
    elif a != b:
        out.append((path, "value differs", False))


def compare(before: Rendered, after: Rendered) -> list[Difference]:
    out: list[Difference] = []
    c = after.cluster
    for key in sorted(set(before.objects) | set(after.objects)):
        kind, ns, name = key
        if key not in after.objects:
            out.append(Difference(c, kind, ns, name, "", "missing after the change"))
        elif key not in before.objects:
            if key not in after.produced:
                out.append(Difference(c, kind, ns, name, "", "added by the change"))
        else:
            found: list[tuple[str, str, bool]] = []
            _diff(before.objects[key], after.objects[key], "", found)
            out.extend(Difference(c, kind, ns, name, p, w, i) for p, w, i in found)
    return out


def render_tree(root: Path, rels: list[str], values: Values | None, kubectl: str | None
                ) -> dict[str, Rendered]:
    graph = build(root, rels)
    builder = _Builder(root.resolve(), graph, kubectl)
    builder.prefetch(sorted({k.path for k in graph.flux}
                            | {d.flux.path for ds in graph.deploys.values() for d in ds}))
    return {c: _Cluster(root, graph, c, builder, values).render() for c in graph.clusters}


def equivalence(before_root: Path, before_rels: list[str], after_root: Path,
                after_rels: list[str], values: Values | None, kubectl: str | None) -> Result:
    """Render both trees per cluster and compare. `values=None`: offline, structure only (every
    reference resolvable, every variable defined, every store and namespace right)."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        later = pool.submit(render_tree, before_root, before_rels, values, kubectl) if (
            values is not None) else None
        after = render_tree(after_root, after_rels, values, kubectl)
        before = later.result() if later is not None else None
    diffs: list[Difference] = []
    for r in after.values():
        diffs.extend(r.problems)
    if before is not None:
        for c, r in after.items():
            b = before.get(c)
            if b is not None:
                diffs.extend(compare(b, r))
    else:
        for c, r in after.items():
            diffs.extend(_unresolved(c, r))
    failures = tuple(d for d in diffs if not d.intended)
    intended = tuple(d for d in diffs if d.intended)
    not_built = tuple(sorted({d for r in after.values() for d in r.not_built}))
    return Result(failures, intended, tuple(sorted(after)), not_built,
                  time.perf_counter() - t0, values is None)


def _unresolved(cluster: str, r: Rendered) -> list[Difference]:
    """Offline: secretKeyRefs to Secrets an ExternalSecret of the cluster should make but does
    not (a wrong namespace or name)."""
    made = {(ns, name) for _k, ns, name in r.produced}
    names = {name for _ns, name in made}
    out: list[Difference] = []

    def walk(obj: Any, path: str, key: tuple[str, str, str], ns: str) -> None:
        if isinstance(obj, Mapping):
            ref = obj.get("secretKeyRef") if isinstance(obj.get("secretKeyRef"), Mapping) \
                else None
            if ref is not None and str(ref.get("name")) in names and (
                    ns, str(ref.get("name"))) not in made:
                out.append(Difference(cluster, *key, f"{path}.secretKeyRef",
                                      f"Secret {ref.get('name')} is made in another namespace, "
                                      f"not {ns or '(none)'}"))
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k), key, ns)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]", key, ns)

    for key, obj in r.objects.items():
        ns = key[1]
        if key[0] == "HelmRelease":
            ns = str(((obj.get("spec") or {}).get("targetNamespace")) or ns)
        walk(obj, "", key, ns)
    return out
