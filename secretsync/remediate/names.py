"""Doppler names the tree already uses: a value a chart reads from a Secret (per its recipe)
that an ExternalSecret in the tree already produces keeps that ExternalSecret's remoteRef.key.

    helm-values/network/tailscale-operator.yaml  oauth.clientId: k3r7...
    recipe tailscale-operator: oauth.clientId -> Secret operator-oauth, key client_id
    manifests/credentials/...: ExternalSecret operator-oauth (ns tailscale)
        client_id <- remoteRef.key TAILSCALE_OAUTH_CLIENT_ID      => TAILSCALE_OAUTH_CLIENT_ID

A value a recipe renders into a templated key keeps the name too, when the tree's ExternalSecret
renders that key with the same template (the literal text around each `{{ .x }}` the same):

    recipe cloudflare-tunnel: credentials.json = '{"AccountTag":"{{ .cloudflare.account }}",...}'
    ExternalSecret cloudflare-tunnel-credentials:  '{"AccountTag":"{{ .accountTag }}",...}'
        accountTag <- remoteRef.key CLOUDFLARE_ACCOUNT_ID      => CLOUDFLARE_ACCOUNT_ID

Consumers come from the Argo CD graph: a values file an Application reads, and app-of-apps
values read into an Application's Helm values. Nothing here reads a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from secretsync import manifests
from secretsync.models import Finding, SecretGroup
from secretsync.remediate.argocd import ArgoGraph
from secretsync.remediate.recipebook import recipes


def produced(root: Path, rels: Sequence[str]) -> dict[tuple[str | None, str], dict[str, str]]:
    """(namespace, Secret name) -> {Secret key: Doppler name} of every ExternalSecret."""
    out: dict[tuple[str | None, str], dict[str, str]] = {}
    for _, doc in manifests.iter_documents(root, rels, "ExternalSecret"):
        if doc.get("kind") != "ExternalSecret":
            continue
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
        target = spec.get("target") if isinstance(spec.get("target"), Mapping) else {}
        assert isinstance(target, Mapping)
        name = target.get("name") or meta.get("name")
        if not isinstance(name, str):
            continue
        keys = out.setdefault((meta.get("namespace") if isinstance(meta.get("namespace"), str)
                               else None, name), {})
        for item in spec.get("data") or []:
            ref = item.get("remoteRef") if isinstance(item, Mapping) else None
            if isinstance(ref, Mapping) and isinstance(item.get("secretKey"), str) and \
                    isinstance(ref.get("key"), str):
                keys[item["secretKey"]] = ref["key"]
    return out


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_FIELD = re.compile(r"\.([A-Za-z_][\w.]*)")


def templated(root: Path, rels: Sequence[str]) -> dict[tuple[str | None, str], dict[str, str]]:
    """(namespace, Secret name) -> {Secret key: ESO template} of every ExternalSecret."""
    out: dict[tuple[str | None, str], dict[str, str]] = {}
    for _, doc in manifests.iter_documents(root, rels, "ExternalSecret"):
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
        target = spec.get("target") if isinstance(spec.get("target"), Mapping) else {}
        assert isinstance(target, Mapping)
        tpl = target.get("template") if isinstance(target.get("template"), Mapping) else {}
        assert isinstance(tpl, Mapping)
        data = tpl.get("data")
        name = target.get("name") or meta.get("name")
        if doc.get("kind") != "ExternalSecret" or not isinstance(name, str) \
                or not isinstance(data, Mapping):
            continue
        ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
        out.setdefault((ns, name), {}).update(
            {str(k): v for k, v in data.items() if isinstance(v, str)})
    return out


def aligned(recipe_tpl: str, tree_tpl: str) -> dict[str, str] | None:
    """Recipe field (`cloudflare.account`) -> the tree template's field (`accountTag`), when the
    two templates are the same text around their `{{ .x }}` actions (None: they differ)."""
    if _ACTION.split(recipe_tpl)[::2] != _ACTION.split(tree_tpl)[::2]:
        return None
    out: dict[str, str] = {}
    for a, b in zip(_ACTION.findall(recipe_tpl), _ACTION.findall(tree_tpl), strict=True):
        ma, mb = _FIELD.fullmatch(a), _FIELD.fullmatch(b)
        if ma and mb:
            out[ma.group(1)] = mb.group(1)
    return out


def _consumers(g: ArgoGraph, f: Finding) -> Iterator[tuple[str, tuple[str, ...], str | None]]:
    """(chart, values path, namespace) of each chart that reads the finding's value."""
    kp = tuple(str(k) for k in f.key_path)
    for app, src in g.consumers(f.path):
        if src.chart:
            yield src.chart, kp, app.namespace
    chart = g.app_chart_of(f.path)
    if chart is None:
        return
    for r in g.reads_of(chart, f.key_path):
        if r.values_path != kp or not r.whole or r.source is None or not r.source.chart \
                or r.chart_key is None:
            continue
        ns = next((a.namespace for a in g.apps if a.name == r.app and a.file == r.template),
                  None)
        yield r.source.chart, r.chart_key, ns


def _by_template(recipe: Any, tree: Mapping[str, str], field: str,
                 remotes: Mapping[str, str]) -> set[str]:
    """The Doppler names the tree's templates read the recipe's `field` under."""
    out: set[str] = set()
    if not isinstance(recipe, Mapping):
        return out
    for key, tpl in recipe.items():
        pairs = aligned(str(tpl), tree[key]) if key in tree else None
        remote = remotes.get(pairs[field]) if pairs and field in pairs else None
        if remote:
            out.add(remote)
    return out


def known_names(g: ArgoGraph, root: Path, rels: Sequence[str],
                groups: Sequence[SecretGroup]) -> dict[str, str]:
    """Group id -> the Doppler name an ExternalSecret of the tree already reads it under."""
    es = produced(root, rels)
    tpls = templated(root, rels)
    book = recipes()
    out: dict[str, str] = {}
    for grp in groups:
        found: set[str] = set()
        for f in grp.findings:
            for chart, path, ns in _consumers(g, f):
                r = book.get(chart)
                hook = r.hook(path) if r is not None else None
                if r is None or hook is None:
                    continue
                remotes = es.get((ns, r.secret)) or {}
                keys: Any = hook.raw.get("keys")
                key = keys.get(".".join(path)) if isinstance(keys, Mapping) else None
                if key and remotes.get(str(key)):
                    found.add(remotes[str(key)])
                found |= _by_template(hook.raw.get("template"),
                                      tpls.get((ns, r.secret)) or {}, ".".join(path), remotes)
        if len(found) == 1:
            out[grp.id] = found.pop()
    return out
