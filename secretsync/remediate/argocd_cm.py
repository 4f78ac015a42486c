"""argocd-cm: a value in Argo CD's own `oidc.config` becomes a `$<secret>:<key>` reference.

Argo CD resolves `$<secret>:<key>` in every field of argocd-cm's oidc.config (Argo CD >= 2.8,
argo-cd PR #13475, util/settings/settings.go `ReplaceMapSecrets`) from a Secret in its own
namespace labelled `app.kubernetes.io/part-of: argocd`. An ExternalSecret renders that Secret,
composing a field that holds the value inside a longer string (`https://<tenant>/`):

    oidc.config: |                              oidc.config: |
      issuer: https://dev-tgr...auth0.com/  ->    issuer: $secretsync-argocd:oidc.issuer
      clientID: wsZ3vIm5...                       clientID: $secretsync-argocd:oidc.clientID
    + secretsync-argocd.yaml: ExternalSecret, target.template.data
          oidc.issuer: "https://{{ .AUTH0_DOMAIN }}/", oidc.clientID: "{{ .AUTH0_CLIENT_ID }}"

The store is the one the tree's other shared ExternalSecrets deployed by Argo CD read (all the
same, or the place stays with the question). Nothing here reads a value beyond the file's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import manifests
from secretsync.config import StoreRef
from secretsync.documents import ParsedFile
from secretsync.environments import EnvRules, path_env
from secretsync.models import Finding
from secretsync.remediate.argocd import ArgoGraph
from secretsync.rewrite import Splice

NAME = "argocd-cm"
SECRET = "secretsync-argocd"
_LINE = re.compile(r"^(?P<lead>\s*(?P<key>[A-Za-z][\w-]*):[ \t]+)(?P<value>[^\s#'\"{\[][^#]*?)"
                   r"[ \t]*$")


@dataclass(slots=True)
class Moves:
    """What argocd-cm planned: edits of the ConfigMap, and one ExternalSecret per directory."""

    splices: dict[str, list[Splice]] = field(default_factory=dict)
    taken: dict[int, str] = field(default_factory=dict)
    """id() of a finding moved -> the reference that replaced its field."""
    findings: list[Finding] = field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Path of the ExternalSecret to add -> the manifest."""
    store: dict[str, StoreRef] = field(default_factory=dict)
    kustomizations: dict[str, str] = field(default_factory=dict)
    """Path of the ExternalSecret -> the kustomization that must list it."""
    why_not: dict[int, str] = field(default_factory=dict)


def _is_argocd_cm(pf: ParsedFile, f: Finding) -> bool:
    doc = next((d for d in pf.documents if d.index == f.doc), None)
    return doc is not None and doc.kind == "ConfigMap" and doc.name == "argocd-cm"


def shared_store(g: ArgoGraph, root: Path, rels: Sequence[str], near: str,
                 rules: EnvRules) -> StoreRef | None:
    """The store every ExternalSecret that Argo CD deploys from an environment-less path of the
    same root (first directory) reads; None when they disagree or there is none."""
    top = near.split("/", 1)[0] if "/" in near else ""
    found: set[StoreRef] = set()
    for rel, doc in manifests.iter_documents(root, rels, "ExternalSecret"):
        if top and not rel.startswith(f"{top}/"):
            continue
        if path_env(rel, rules) is not None or not _deployed(g, rel):
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        assert isinstance(spec, Mapping)
        if doc.get("kind") == "ClusterExternalSecret":
            spec = spec.get("externalSecretSpec") or {}
        ref = spec.get("secretStoreRef") if isinstance(spec, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            found.add(StoreRef(str(ref.get("kind") or "SecretStore"), ref["name"]))
    return found.pop() if len(found) == 1 else None


def _deployed(g: ArgoGraph, rel: str) -> bool:
    p = PurePosixPath(rel).parent
    return any(g.deploying(str(d)) for d in (p, *p.parents))


def plan(g: ArgoGraph, root: Path, rels: Sequence[str], findings: Sequence[Finding],
         parsed: Callable[[str], ParsedFile | None], stores: Mapping[str, StoreRef],
         pushed: Callable[[Finding, str], bool], rules: EnvRules,
         kustomization: Callable[[str], str | None]) -> Moves:
    """Move each oidc.config value of an argocd-cm that Argo CD deploys. `pushed(f, env)`: does
    the finding's value reach env's config (pushed, or a value a human sets)?"""
    out = Moves()
    by_line: dict[tuple[str, int], list[Finding]] = {}
    meaning: dict[tuple[str, int, int], str] = {}
    holder: dict[tuple[str, int, int], Any] = {}
    for f in findings:
        kp = f.key_path
        if len(kp) == 3 and kp[:2] == ("data", "oidc.config") and isinstance(kp[2], str):
            by_line.setdefault((f.path, f.line), []).append(f)
    for (rel, _), fs in sorted(by_line.items()):
        pf = parsed(rel)
        if pf is None or not _is_argocd_cm(pf, fs[0]) or not _deployed(g, rel):
            continue
        d = str(PurePosixPath(rel).parent)
        store = shared_store(g, root, rels, rel, rules)
        env = next((e for e, s in sorted(stores.items()) if s == store), None)
        if store is None or env is None:
            for f in fs:
                out.why_not[id(f)] = (
                    "Argo CD (>= 2.8) reads any oidc.config field as $<secret>:<key> from a "
                    "Secret labelled app.kubernetes.io/part-of: argocd, but no single Doppler "
                    "store is read by the tree's other ExternalSecrets that Argo CD deploys: "
                    "set stores: in .secretsync.yaml, then plan again")
            continue
        if not all(pushed(f, env) for f in fs):
            continue
        start = pf.text.rfind("\n", 0, fs[0].start) + 1
        end = pf.text.find("\n", fs[0].start)
        end = len(pf.text) if end < 0 else end
        m = _LINE.match(pf.text[start:end].rstrip("\r"))
        if m is None or m.group("key") != fs[0].key_path[2]:
            continue
        vstart = start + m.start("value")
        vend = start + m.end("value")
        text = pf.text[vstart:vend]
        sc = next((x for x in pf.scalars if x.style == "literal" and x.doc == fs[0].doc
                   and x.start <= vstart and vend <= x.end), None)
        if sc is None or sc.value.count(text) != 1:
            continue
        tpl, pos, ok = "", vstart, "{{" not in text and "}}" not in text
        for f in sorted(fs, key=lambda x: x.start):
            ok = ok and vstart <= pos <= f.start < f.end <= vend
            tpl += pf.text[pos:f.start] + "{{ ." + f.suggested_name + " }}"
            pos = f.end
        if not ok:
            continue
        tpl += pf.text[pos:vend]
        key = f"oidc.{m.group('key')}"
        ref = f"${SECRET}:{key}"
        es_rel = f"{d}/{SECRET}.yaml" if d != "." else f"{SECRET}.yaml"
        es = out.manifests.setdefault(es_rel, _external_secret(store, _namespace(g, rel)))
        es["spec"]["target"]["template"]["data"][key] = tpl
        data = es["spec"]["data"]
        for f in fs:
            if all(i["secretKey"] != f.suggested_name for i in data):
                data.append({"secretKey": f.suggested_name,
                             "remoteRef": {"key": f.suggested_name}})
            out.taken[id(f)] = ref
            out.findings.append(f)
        data.sort(key=lambda i: i["secretKey"])
        out.store[es_rel] = store
        k = kustomization(d)
        if k is not None:
            out.kustomizations[es_rel] = k
        out.splices.setdefault(rel, []).append(Splice(vstart, vend, ref))
        holder[(rel, sc.doc, sc.start)] = sc
        value = meaning.get((rel, sc.doc, sc.start), sc.value)
        meaning[(rel, sc.doc, sc.start)] = value.replace(text, ref, 1)
    # The block scalar's value as a parser reads it, for the edit check.
    for (rel, _doc, _start), value in meaning.items():
        sc = holder[(rel, _doc, _start)]
        out.splices[rel].append(Splice(sc.start, sc.start, "", ((sc.doc, sc.ctx.key_path),),
                                       ((sc.doc, sc.ctx.key_path, value),)))
    return out


def _namespace(g: ArgoGraph, rel: str) -> str | None:
    p = PurePosixPath(rel).parent
    for d in (p, *p.parents):
        for app, _ in g.deploying(str(d)):
            if app.namespace:
                return app.namespace
    return None


def _external_secret(store: StoreRef, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": SECRET}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": manifests.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": meta,
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.kind, "name": store.name},
            "target": {
                "name": SECRET,
                "creationPolicy": "Owner",
                "template": {
                    "engineVersion": "v2",
                    "metadata": {"labels": {"app.kubernetes.io/part-of": "argocd"}},
                    "data": {},
                },
            },
            "data": [],
        },
    }
