"""Turn the kinds' steps into edits and manifests: ExternalSecrets placed where the reader's
kustomization (or Flux path) deploys them, one per cluster when the clusters need different
keys; the flux-system variables Secret, its own Kustomization and the consumers' postBuild and
dependsOn; deletions grouped per document; Secrets replaced by templated ExternalSecrets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import manifests
from secretsync.config import Config, StoreRef
from secretsync.detection import KeyPath
from secretsync.documents import ParsedFile
from secretsync.errors import RewriteError
from secretsync.models import Finding
from secretsync.remediate import yamledit
from secretsync.remediate.base import SecretKey, Step, Variable
from secretsync.remediate.graph import DeployGraph, FluxKustomization, Store, join
from secretsync.rewrite import FileChange, Splice

VARS_NAME = "secretsync-vars"
_VISIBLE = ("embedded", "comment", "text")


@dataclass(frozen=True, slots=True)
class Edit:
    path: str
    start: int
    kind: str
    splice: Splice
    secret: str | None = None
    key: str | None = None
    finding: Finding | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    path: str
    secret: str
    clusters: tuple[str, ...]
    stores: tuple[str, ...]
    action: str
    content: str


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int
    key_path: str | None
    reason: str
    finding: Finding | None = None


@dataclass(slots=True)
class Assembly:
    root: Path
    cfg: Config
    graph: DeployGraph
    parsed: Callable[[str], ParsedFile | None]
    schema_dir: Path | None
    edits: list[Edit] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    new_files: list[FileChange] = field(default_factory=list)
    followups: list[Problem] = field(default_factory=list)
    intended: frozenset[tuple[str, str]] = frozenset()
    """(environment, Doppler name) a human sets (env leaks): marked on the ExternalSecrets so
    the equivalence check reports them as intended changes."""
    failed: set[int] = field(default_factory=set)
    """ids of findings whose step could not be assembled (their edits are dropped)."""
    _resources: dict[str, list[str]] = field(default_factory=dict)

    # -- entry ----------------------------------------------------------------------------
    def build(self, steps: Sequence[tuple[Finding, Step]]) -> None:
        variables = [(f, v) for f, s in steps for v in s.variables]
        blocked = self._variables(variables)
        ok = [(f, s) for f, s in steps if id(f) not in blocked]
        for f, s in ok:
            secret = s.keys[0].secret if s.keys else (VARS_NAME if s.variables else None)
            for rel, sp in s.splices:
                self.edits.append(Edit(rel, sp.start, s.kind, sp, secret=secret,
                                       key=f.suggested_name, finding=f))
        self._deletes(ok)
        self._values_from(ok)
        self._templates([(f, s) for f, s in ok if s.replace_doc is not None])
        self._secrets([k for _f, s in ok if s.replace_doc is None for k in s.keys])
        self._add_resources()
        self._meaning()

    def splices(self) -> dict[str, list[Splice]]:
        out: dict[str, list[Splice]] = {}
        for e in self.edits:
            out.setdefault(e.path, []).append(e.splice)
        return out

    # -- helpers --------------------------------------------------------------------------
    def store_for(self, cluster: str) -> Store | None:
        env = self.graph.env_of(cluster)
        want = self.cfg.config_for(env)
        configured = self.cfg.stores.get(env)
        stores = self.graph.stores.get(cluster, [])
        if configured is not None:
            return Store(configured.kind, configured.name, want, self.cfg.project, "")
        match = [s for s in stores if s.config == want]
        match.sort(key=lambda s: (s.kind != "ClusterSecretStore", s.name))
        return match[0] if match else self.graph.store(cluster)

    def _follow(self, rel: str, line: int, reason: str, f: Finding | None = None) -> None:
        self.followups.append(Problem(rel, line, f.key_path_dotted if f else None, reason, f))

    def _check(self, doc: Mapping[str, Any], where: str) -> None:
        problems = manifests.validate_manifest(doc, self.schema_dir)
        if problems:
            raise RewriteError(f"{where}: generated ExternalSecret is invalid: "
                               + "; ".join(problems))

    def _write(self, rel: str, content: str, secret: str, clusters: Iterable[str],
               stores: Iterable[str]) -> None:
        path = self.root / rel
        if path.exists():
            old = path.read_text(encoding="utf-8")
            if not old.startswith(manifests.GENERATED_MARK):
                self._follow(rel, 1, "exists and was not written by secretsync: add the "
                             "manifest by hand")
                return
            action = "unchanged" if old == content else "update"
            if action == "update":
                self.new_files.append(FileChange(rel, content.encode()))
        else:
            action = "add"
            self.new_files.append(FileChange(rel, content.encode(), new_file=True))
        self.manifests.append(Manifest(rel, secret, tuple(sorted(set(clusters))),
                                       tuple(sorted(set(stores))), action, content))

    def _list_in(self, d: str, fname: str) -> None:
        """Make the kustomization of `d` (if it has one) list `fname`."""
        kust = self.graph.kustomizations.get(d) or _kust_file(self.graph.rels, d)
        if kust is not None:
            self._resources.setdefault(kust, [])
            if fname not in self._resources[kust]:
                self._resources[kust].append(fname)

    # -- deletions and valuesFrom ---------------------------------------------------------
    def _deletes(self, steps: Sequence[tuple[Finding, Step]]) -> None:
        per: dict[tuple[str, int], list[tuple[Finding, Any]]] = {}
        for f, s in steps:
            for rel, sc in s.deletes:
                per.setdefault((rel, sc.doc), []).append((f, sc))
        for (rel, doc_i), items in sorted(per.items()):
            pf = self.parsed(rel)
            doc = next((d for d in pf.documents if d.index == doc_i), None) if pf else None
            sps = yamledit.delete_keys(pf, doc, [sc for _f, sc in items]) if (
                pf is not None and doc is not None) else None
            if sps is None:
                for f, _sc in items:
                    self.failed.add(id(f))
                    self._follow(rel, f.line, "the inline value could not be removed (not "
                                 "block style): remove it by hand", f)
                continue
            for sp in sps:
                self.edits.append(Edit(rel, sp.start, "delete", sp, secret=items[0][0].
                                       suggested_name))

    def _values_from(self, steps: Sequence[tuple[Finding, Step]]) -> None:
        per: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
        for _f, s in steps:
            for rel, doc_i, entry in s.values_from:
                lst = per.setdefault((rel, doc_i), [])
                if entry not in lst:
                    lst.append(entry)
        for (rel, doc_i), entries in sorted(per.items()):
            pf = self.parsed(rel)
            assert pf is not None
            doc = next(d for d in pf.documents if d.index == doc_i)
            loaded = (self.graph.docs.get(rel) or [])[doc_i]
            have = (loaded.get("spec") or {}).get("valuesFrom") or []
            if have:
                sp = yamledit.append_items(pf, doc, ("spec", "valuesFrom"), len(have), entries)
            else:
                sp = yamledit.insert_key(pf, doc, ("spec",), "valuesFrom", entries)
            if sp is None:
                raise RewriteError(f"{rel}: cannot add spec.valuesFrom (not block style)")
            self.edits.append(Edit(rel, sp.start, "values-from", sp,
                                   secret=str(entries[0].get("name"))))

    # -- ExternalSecrets for Secret keys ---------------------------------------------------
    def _secrets(self, keys: Sequence[SecretKey]) -> None:
        groups: dict[tuple[str, str], list[SecretKey]] = {}
        for k in keys:
            groups.setdefault((k.namespace, k.secret), []).append(k)
        for (ns, secret), ks in sorted(groups.items()):
            per_cluster: dict[str, set[tuple[str, str]]] = {}
            anchors: dict[str, set[str]] = {}
            paths: dict[str, set[str]] = {}
            for k in ks:
                for d in k.deploys:
                    per_cluster.setdefault(d.cluster, set()).add((k.key, k.remote))
                    anchors.setdefault(d.cluster, set()).add(k.anchor)
                    paths.setdefault(d.cluster, set()).add(d.flux.path)
            stores = {c: self.store_for(c) for c in per_cluster}
            missing = [c for c, s in stores.items() if s is None]
            if missing:
                for k in ks:
                    self._follow(k.anchor, 1, f"no Doppler store deployed in cluster "
                                 f"{', '.join(missing)}: add one, or stores: in .secretsync.yaml")
                continue
            refs = {(s.kind, s.name) for s in stores.values() if s is not None}
            same_keys = len({frozenset(v) for v in per_cluster.values()}) == 1
            all_anchors = {a for v in anchors.values() for a in v}
            if same_keys and len(refs) == 1 and len(all_anchors) == 1:
                (anchor,) = all_anchors
                store = next(iter(stores.values()))
                assert store is not None
                self._external_secret(anchor, ns, secret, store, sorted(per_cluster[
                    next(iter(per_cluster))]), list(per_cluster))
                continue
            for cluster, pairs in sorted(per_cluster.items()):
                where = self._cluster_dir(cluster, anchors[cluster] | paths[cluster], ns)
                store = stores[cluster]
                assert store is not None
                if where is None:
                    self._follow(sorted(anchors[cluster])[0], 1,
                                 f"Secret {ns}/{secret} needs different keys per cluster, and no "
                                 f"directory is deployed by {cluster} alone: add its "
                                 "ExternalSecret by hand")
                    continue
                self._external_secret(where, ns, secret, store, sorted(pairs), [cluster])

    def _cluster_dir(self, cluster: str, anchors: set[str], ns: str) -> str | None:
        """A directory only `cluster` deploys, where an ExternalSecret for namespace `ns`
        lands as written: one of the anchors, else the Flux path of the Kustomization."""
        for a in sorted(anchors, key=lambda a: (-a.count("/"), a)):
            clusters = {d.cluster for rel, ds in self.graph.deploys.items()
                        if str(PurePosixPath(rel).parent) == a for d in ds if not d.patch}
            if clusters != {cluster}:
                continue
            kust = self.graph.kustomizations.get(a)
            if kust is not None:
                loaded = (self.graph.docs.get(kust) or [None])[0]
                kns = loaded.get("namespace") if isinstance(loaded, Mapping) else None
                if kns and kns != ns:
                    continue
            return a
        return None

    def _external_secret(self, d: str, ns: str, secret: str, store: Store,
                         pairs: Sequence[tuple[str, str]], clusters: Sequence[str],
                         fname: str | None = None) -> None:
        fname = fname or f"secretsync-{secret}.yaml"
        rel = join(d, fname)
        path = self.root / rel
        if path.exists():
            old = (self.graph.docs.get(rel) or yamledit_load(path))
            if old and isinstance(old[0], Mapping):
                for item in (old[0].get("spec") or {}).get("data") or []:
                    pair = (str(item.get("secretKey")), str((item.get("remoteRef") or {})
                                                            .get("key")))
                    if pair not in pairs:
                        pairs = [*pairs, pair]
        es = external_secret(secret, ns, StoreRef(store.kind, store.name), pairs)
        envs = sorted({self.graph.env_of(c) for c in clusters})
        marks = sorted(f"{e}/{r}" for e in envs for _k, r in pairs if (e, r) in self.intended)
        if marks:
            from secretsync.remediate.render import INTENDED

            es["metadata"]["annotations"] = {INTENDED: ",".join(marks)}
        self._check(es, rel)
        where = ", ".join(sorted({self.graph.env_of(c) for c in clusters}))
        content = manifests.render(es, comment=f"Secret {ns}/{secret} for {where}, from Doppler")
        self._write(rel, content, secret, clusters, [f"{store.kind}/{store.name}"])
        self._list_in(d, fname)

    def _add_resources(self) -> None:
        for kust, names in sorted(self._resources.items()):
            pf = self.parsed(kust)
            loaded = (self.graph.docs.get(kust) or [None])[0]
            have = [r for r in (loaded.get("resources") or [])] if isinstance(
                loaded, Mapping) else []
            todo = [n for n in names if n not in have]
            if not todo:
                continue
            if pf is None or not pf.documents:
                self._follow(kust, 1, f"add {', '.join(todo)} to resources by hand")
                continue
            doc = pf.documents[0]
            sp = (yamledit.append_items(pf, doc, ("resources",), len(have), todo) if have
                  else yamledit.insert_key(pf, doc, (), "resources", todo))
            if sp is None:
                self._follow(kust, 1, f"add {', '.join(todo)} to resources by hand")
                continue
            self.edits.append(Edit(kust, sp.start, "resources", sp, secret=", ".join(todo)))

    def _meaning(self) -> None:
        """Text edits inside scalars (`${VAR}`, `$${` escapes) change those scalars' values:
        tell rewrite's re-parse check what each must now hold."""
        per: dict[tuple[str, int, int], list[Edit]] = {}
        holders: dict[tuple[str, int, int], Any] = {}
        for e in self.edits:
            if e.kind not in ("flux-substitute", "escape"):
                continue
            pf = self.parsed(e.path)
            assert pf is not None
            sc = next((x for x in pf.scalars if x.style not in _VISIBLE
                       and x.start <= e.splice.start and e.splice.end <= x.end), None)
            if sc is None:
                continue  # in a comment or a key: nothing a parser would see changes
            per.setdefault((e.path, sc.doc, sc.start), []).append(e)
            holders[(e.path, sc.doc, sc.start)] = sc
        for key, edits in per.items():
            sc = holders[key]
            value = sc.value
            if any(e.kind == "escape" for e in edits):
                value = value.replace("${", "$${")
            for e in edits:
                if e.finding is not None and e.kind == "flux-substitute":
                    value = value.replace(e.finding.value, e.splice.new)
            self.edits.append(Edit(key[0], sc.start, "meaning", Splice(
                sc.start, sc.start, "", ((sc.doc, sc.ctx.key_path),),
                ((sc.doc, sc.ctx.key_path, value),))))

    # -- eso-template ---------------------------------------------------------------------
    def _templates(self, steps: Sequence[tuple[Finding, Step]]) -> None:
        per: dict[tuple[str, int], list[tuple[Finding, Step]]] = {}
        for f, s in steps:
            assert s.replace_doc is not None
            per.setdefault(s.replace_doc, []).append((f, s))
        for (rel, doc_i), items in sorted(per.items()):
            pf = self.parsed(rel)
            assert pf is not None
            document = next(d for d in pf.documents if d.index == doc_i)
            loaded = (self.graph.docs.get(rel) or [])[doc_i]
            clusters = {d.cluster for _f, s in items for k in s.keys for d in k.deploys}
            stores = {self.store_for(c) for c in clusters}
            refs = {(s.kind, s.name) for s in stores if s is not None}
            if len(refs) != 1 or None in stores:
                for f, _s in items:
                    self.failed.add(id(f))
                    self._follow(rel, f.line, "the clusters that deploy this Secret read "
                                 "different stores (or none): replace it by hand", f)
                continue
            kind, name = next(iter(refs))
            es = templated_secret(loaded, [f for f, _s in items], StoreRef(kind, name))
            self._check(es, rel)
            sp = replace_document(pf, document, es)
            self.edits.append(Edit(rel, sp.start, "eso-template", sp,
                                   secret=str(es["metadata"]["name"])))

    # -- flux variables -------------------------------------------------------------------
    def _variables(self, variables: Sequence[tuple[Finding, Variable]]) -> set[int]:
        """Plan the flux-system Secret and wiring per cluster; ids of findings that cannot."""
        blocked: set[int] = set()
        per_cluster: dict[str, dict[str, str]] = {}
        templates: dict[str, dict[str, str]] = {}
        consumers: dict[str, dict[str, FluxKustomization]] = {}
        owners: dict[str, list[Finding]] = {}
        for f, v in variables:
            targets = [(d.cluster, d.flux) for d in v.deploys]
            if v.consumer is not None:
                targets.append((v.consumer.cluster, v.consumer))
            for cluster, k in targets:
                if v.template is not None:
                    templates.setdefault(cluster, {})[v.name] = v.template
                    per_cluster.setdefault(cluster, {})[v.remote] = v.remote
                else:
                    per_cluster.setdefault(cluster, {})[v.name] = v.remote
                consumers.setdefault(cluster, {})[k.name] = k
                owners.setdefault(cluster, []).append(f)
        for cluster in sorted(per_cluster):
            problem = self._cluster_vars(cluster, per_cluster[cluster], consumers[cluster],
                                         templates.get(cluster, {}))
            if problem is not None:
                for f in owners[cluster]:
                    blocked.add(id(f))
                    self._follow(f.path, f.line, problem, f)
        return blocked

    def _cluster_vars(self, cluster: str, names: Mapping[str, str],
                      consumers: Mapping[str, FluxKustomization],
                      templates: Mapping[str, str]) -> str | None:
        store = self.store_for(cluster)
        if store is None:
            return f"no Doppler store is deployed in cluster {cluster}: add one"
        store_ks = [d.flux for d in self.graph.deployed(store.file) if d.cluster == cluster] if \
            store.file else []
        store_k = store_ks[0] if store_ks else None
        before = ({store_k.name} | self.graph.depends_closure(store_k)) if store_k else set()
        for k in consumers.values():
            if k.name in before:
                return (f"Kustomization {k.name} deploys the store (or what it needs) in "
                        f"{cluster}: its variables would depend on itself; move the value by "
                        "hand")
        env = self.graph.env_of(cluster)
        base, cdir = _cluster_paths(self.graph, cluster)
        vars_dir = join(base, f"flux-vars/{env}")
        es = external_secret(VARS_NAME, "flux-system", StoreRef(store.kind, store.name),
                             sorted(names.items()))
        if templates:
            # Composed variables: rendered by ESO, merged with the plain keys.
            es["spec"]["target"]["template"] = {"engineVersion": "v2", "mergePolicy": "Merge",
                                                "data": dict(sorted(templates.items()))}
        marks = sorted(f"{env}/{r}" for r in names.values() if (env, r) in self.intended)
        if marks:
            from secretsync.remediate.render import INTENDED

            es["metadata"]["annotations"] = {INTENDED: ",".join(marks)}
        self._check(es, join(vars_dir, f"{VARS_NAME}.yaml"))
        content = manifests.render(es, comment=f"Flux variables for {env}, from Doppler")
        self._write(join(vars_dir, f"{VARS_NAME}.yaml"), content, VARS_NAME, [cluster],
                    [f"{store.kind}/{store.name}"])
        sample = next(iter(consumers.values()))
        loaded = (self.graph.docs.get(sample.file) or [])[sample.doc] if sample.file else {}
        source = (loaded.get("spec") or {}).get("sourceRef") or {
            "kind": "GitRepository", "name": "flux-system"}
        rel_path = vars_dir if base == "." else vars_dir[len(base) + 1:]
        spec: dict[str, Any] = {"interval": "1h"}
        if store_k is not None and store_k.file:
            spec["dependsOn"] = [{"name": store_k.name}]
        spec.update({"sourceRef": dict(source), "path": f"./{rel_path}", "prune": True,
                     "wait": True})
        kobj = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": VARS_NAME, "namespace": "flux-system"}, "spec": spec}
        kcontent = (f"{manifests.GENERATED_MARK}: the Secret {VARS_NAME} (flux-system) that "
                    "postBuild.substituteFrom reads\n"
                    + "\n".join(yamledit.emit(kobj, 0, "\n")) + "\n")
        self._write(join(cdir, f"{VARS_NAME}.yaml"), kcontent, VARS_NAME, [cluster], [])
        self._list_in(cdir, f"{VARS_NAME}.yaml")
        for k in sorted(consumers.values(), key=lambda k: k.name):
            self._wire(k)
        return None

    def _wire(self, k: FluxKustomization) -> None:
        """dependsOn secretsync-vars and postBuild.substituteFrom it; escape `${` in what it
        deploys when it had no postBuild before."""
        if not k.file:
            return
        pf = self.parsed(k.file)
        assert pf is not None
        doc = next(d for d in pf.documents if d.index == k.doc)
        loaded = (self.graph.docs.get(k.file) or [])[k.doc]
        spec = loaded.get("spec") or {}
        ref = {"kind": "Secret", "name": VARS_NAME}
        sps: list[Splice | None] = []
        deps = spec.get("dependsOn") or []
        if not any(isinstance(x, Mapping) and x.get("name") == VARS_NAME for x in deps):
            sps.append(yamledit.append_items(pf, doc, ("spec", "dependsOn"), len(deps),
                                             [{"name": VARS_NAME}]) if deps else
                       yamledit.insert_key(pf, doc, ("spec",), "dependsOn",
                                           [{"name": VARS_NAME}], first=True))
        post = spec.get("postBuild")
        if not isinstance(post, Mapping):
            sps.append(yamledit.insert_key(pf, doc, ("spec",), "postBuild",
                                           {"substituteFrom": [ref]}))
        else:
            sf = post.get("substituteFrom") or []
            if not any(isinstance(x, Mapping) and x.get("name") == VARS_NAME for x in sf):
                sps.append(yamledit.append_items(pf, doc, ("spec", "postBuild",
                                                           "substituteFrom"), len(sf), [ref])
                           if sf else yamledit.insert_key(pf, doc, ("spec", "postBuild"),
                                                          "substituteFrom", [ref]))
        for sp in sps:
            if sp is None:
                raise RewriteError(f"{k.file}: cannot wire Kustomization {k.name} to "
                                   f"{VARS_NAME} (not block style)")
            self.edits.append(Edit(k.file, sp.start, "wire", sp, secret=VARS_NAME))
        if not k.has_post_build:
            self._escape(k)

    def _escape(self, k: FluxKustomization) -> None:
        """Objects that now go through substitution keep their own `${...}` as text."""
        for rel, ds in sorted(self.graph.deploys.items()):
            if not any(d.flux == k for d in ds) or not rel.endswith((".yaml", ".yml")):
                continue
            pf = self.parsed(rel)
            if pf is None or "${" not in pf.text:
                continue
            inside = [(x.start, x.end) for x in pf.scalars if x.style not in _VISIBLE]
            for m in re.finditer(r"\$+\{", pf.text):
                if not any(a <= m.start() < b for a, b in inside):
                    continue
                if m.group(0) != "${":
                    self._follow(rel, pf.text.count("\n", 0, m.start()) + 1,
                                 "holds an escaped $${...} that postBuild would now unescape: "
                                 "check it by hand")
                    continue
                if any(e.path == rel and e.kind == "escape" and e.start == m.start()
                       for e in self.edits):
                    continue  # the same file deployed in another cluster
                self.edits.append(Edit(rel, m.start(), "escape", Splice(m.start(), m.start(),
                                                                        "$")))


# -- manifests ----------------------------------------------------------------------------
def external_secret(name: str, namespace: str, store: StoreRef,
                    pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """An ExternalSecret making Secret `name` in `namespace` with each (key, Doppler name)."""
    return {
        "apiVersion": manifests.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.kind, "name": store.name},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": [{"secretKey": k, "remoteRef": {"key": r}} for k, r in
                     sorted(set(pairs))],
        },
    }


def templated_secret(secret: Mapping[str, Any], findings: Sequence[Finding],
                     store: StoreRef) -> dict[str, Any]:
    """The ExternalSecret that renders `secret`'s stringData from Doppler keys."""
    meta = secret.get("metadata") or {}
    string_data = secret.get("stringData") or {}
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        by_key.setdefault(str(f.key_path[1]), []).append(f)
    data: dict[str, str] = {}
    remotes: set[str] = set()
    for key, value in string_data.items():
        text = str(value)
        fs = by_key.get(str(key), [])
        # Replace the found values (longest first) by placeholders, escape the rest's braces,
        # then turn placeholders into template actions.
        marks: dict[str, str] = {}
        for i, f in enumerate(sorted(fs, key=lambda x: -len(x.value))):
            mark = f"\x00{i}\x00"
            text = text.replace(f.value, mark)
            marks[mark] = "{{ ." + f.suggested_name + " }}"
            remotes.add(f.suggested_name)
        text = text.replace("{{", '{{ "{{" }}')
        for mark, action in marks.items():
            text = text.replace(mark, action)
        data[str(key)] = text
    template: dict[str, Any] = {"engineVersion": "v2"}
    if secret.get("type"):
        template["type"] = str(secret["type"])
    tmeta = {k: dict(meta[k]) for k in ("labels", "annotations") if isinstance(
        meta.get(k), Mapping) and meta.get(k)}
    if tmeta:
        template["metadata"] = tmeta
    template["data"] = data
    es_meta: dict[str, Any] = {"name": str(meta.get("name"))}
    if meta.get("namespace"):
        es_meta["namespace"] = str(meta["namespace"])
    return {
        "apiVersion": manifests.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": es_meta,
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.kind, "name": store.name},
            "target": {"name": str(meta.get("name")), "creationPolicy": "Owner",
                       "template": template},
            "data": [{"secretKey": r, "remoteRef": {"key": r}} for r in sorted(remotes)],
        },
    }


def replace_document(pf: ParsedFile, document: Any, new: Mapping[str, Any]) -> Splice:
    """Replace a document's content (its leading comments and `---` stay) by `new`."""
    text = pf.text
    lines = yamledit._lines(text, document.start, document.end)
    content = [ln for ln in lines if not yamledit._blank(ln[2])]
    start = content[0][0]
    end = content[-1][0] + len(content[-1][2])
    nl = "\r\n" if "\r\n" in text else "\n"
    body = nl.join(yamledit.emit(new, 0, nl))
    removes = tuple((s.doc, s.ctx.key_path) for s in pf.scalars
                    if s.doc == document.index and s.style not in _VISIBLE)
    adds = tuple((document.index, kp, v) for kp, v in yamledit.flatten(new, ()))
    return Splice(start, end, body, removes, adds)


def yamledit_load(path: Path) -> list[Any]:
    from secretsync.remediate.graph import load_docs

    try:
        return load_docs(path.read_text(encoding="utf-8"))
    except OSError:
        return []


def _kust_file(rels: Sequence[str], d: str) -> str | None:
    from secretsync.walk import KUSTOMIZATION_NAMES

    for n in KUSTOMIZATION_NAMES:
        k = join(d, n)
        if k in rels:
            return k
    return None


def _cluster_paths(g: DeployGraph, cluster: str) -> tuple[str, str]:
    """(repository base, cluster directory) of a cluster id (`base/env` or `env`)."""
    if "/" in cluster:
        base, env = cluster.rsplit("/", 1)
    else:
        base, env = ".", cluster
    return base, join(base, f"clusters/{env}")


def keypath_str(kp: KeyPath) -> str:
    from secretsync.models import dotted

    return dotted(kp) or ""
