"""Honest limits: for a place no remediation kind can move, the exact mechanism that is missing
(issue 10 item 4), instead of "template it by hand".

    charts/protected-services/values.yaml  oauth2Proxy.signIn: https://auth.tail876052.ts.net/...
        templates/ingress.yaml:10 renders it into annotation nginx.ingress.kubernetes.io/auth-signin
        of an Ingress: Kubernetes cannot fill an annotation from a Secret, and Argo CD applies
        what the chart renders (no substitution) ...

Sources: Kubernetes takes Secret data only in pod env/volumes and fields typed as Secret
references; a ConfigMap's data and an object's annotations are literal. Argo CD has no way to
put Secret data into Helm values or manifests (INJECTION.md §4). argocd-cm: `url` is read as is
(argo-cd util/settings/settings.go), while every oidc.config field takes a `$<secret>:<key>`
reference since Argo CD 2.8 (argo-cd PR #13475). Nothing here reads a value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from secretsync import reading
from secretsync.models import Finding
from secretsync.remediate import argocd

_KEY = re.compile(r"^(\s*)(?:-\s+)?([^\s:#'\"][^:#]*?|\"[^\"]+\"|'[^']+'):(?:\s|$)")
_KIND = re.compile(r"(?m)^kind:\s*(\S+)")
_VALUES_NAME = re.compile(r"values(?:[-_.].+)?\.ya?ml")
_FLUX = "deploy it with Flux instead (postBuild ${VAR}, or HelmRelease valuesFrom for a chart)"


def _label(app: argocd.App) -> str:
    """`Application oauth2-proxy`, or `ApplicationSet in <file>` (its names are templated)."""
    return f"Application {app.name}" if app.kind == "Application" else \
        f"{app.kind} in {app.file}"


def _argo_app(g: argocd.ArgoGraph, rel: str) -> str | None:
    """The Argo CD Application that deploys the directory holding `rel` (or one above it)."""
    p = PurePosixPath(rel).parent
    for d in (p, *p.parents):
        hits = g.deploying(str(d))
        if hits:
            return _label(hits[0][0])
    return None


def _field(text: str, line: int) -> tuple[str | None, str | None, str | None]:
    """(kind, field, container) of template line `line`: the object's kind, the key on that
    line, and `annotations` / `data` when the key sits under one."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None, None, None
    m = _KEY.match(lines[line - 1])
    field = m.group(2).strip("\"'") if m else None
    indent = len(m.group(1)) if m else len(lines[line - 1]) - len(lines[line - 1].lstrip())
    container = None
    for prev in reversed(lines[:line - 1]):
        pm = _KEY.match(prev)
        if pm is None or len(pm.group(1)) >= indent:
            continue
        indent = len(pm.group(1))
        if pm.group(2) in ("annotations", "data", "stringData", "labels") and container is None:
            container = pm.group(2)
        if indent == 0:
            break
    kinds = _KIND.findall("\n".join(lines[:line]))
    return (kinds[-1] if kinds else None), field, container


def _into(kind: str | None, field: str | None, container: str | None) -> tuple[str, str]:
    """(where it lands, why Kubernetes cannot take it from a Secret there)."""
    obj = (f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}") if kind else "an object"
    if container == "annotations":
        return (f"annotation {field} of {obj}",
                "Kubernetes cannot fill an annotation from a Secret (its controller reads the "
                "object itself)")
    if kind == "ConfigMap":
        return (f"ConfigMap data {field}", "a ConfigMap cannot take data from a Secret")
    return (f"field {field} of {obj}",
            "that field takes no Secret reference (only pod env/volumes and *SecretRef fields "
            "do)")


def _chart_reason(g: argocd.ArgoGraph, root: Path, rels: Sequence[str], f: Finding,
                  app: str) -> str | None:
    chart = str(PurePosixPath(f.path).parent)
    expr = ".Values." + ".".join(str(k) for k in f.key_path)
    pattern = re.compile(re.escape(expr) + r"(?![\w.-])")
    for rel in sorted(r for r in rels if r.startswith(f"{chart}/templates/")):
        try:
            text = reading.read_text(root / rel, root=root)
        except (OSError, UnicodeDecodeError):
            continue
        m = pattern.search(text)
        if m is None:
            continue
        n = text.count("\n", 0, m.start()) + 1
        where, why = _into(*_field(text, n))
        return (f"{rel}:{n} renders {expr} (part of a longer value) into {where}: {why}, and "
                f"Argo CD {app} applies what the chart renders (no substitution, "
                "INJECTION.md §4); it stays in Git (an identifier); to unblock: make chart "
                f"{chart} compose it where a Secret reaches (pod env `$(VAR)`), or {_FLUX}")
    return None


def reason(g: argocd.ArgoGraph, root: Path, rels: Sequence[str], f: Finding) -> str | None:
    """The exact limit for a place the usual rewrite cannot take (None: not one of these)."""
    kp = f.key_path
    if f.kind == "ConfigMap" and kp == ("data", "url") and "argocd" in f.path:
        return ("Argo CD reads argocd-cm data.url as is (no $<secret>:<key> reference, unlike "
                "oidc.config fields; argo-cd util/settings/settings.go): the host stays in Git "
                f"(an identifier); to unblock: an Argo CD feature, or {_FLUX}")
    app = _argo_app(g, f.path)
    if f.kind is not None and len(kp) >= 3 and kp[:2] == ("metadata", "annotations"):
        by = f"Argo CD {app} applies it as is" if app else (
            f"nothing in the tree deploys {PurePosixPath(f.path).parent} (no Argo CD "
            "Application or Flux Kustomization names it), so nothing substitutes it either")
        return (f"annotation {kp[2]} of {f.kind}: Kubernetes cannot fill an annotation from "
                f"a Secret (its controller reads the object itself), and {by} (INJECTION.md "
                f"§4); it stays in Git (an identifier); to unblock: {_FLUX}")
    p = PurePosixPath(f.path)
    chart = str(p.parent)
    if f.style == "text" and "templates" in p.parts[:-1] and f.line > 0:
        cdir = "/".join(p.parts[:p.parts.index("templates")])
        try:
            text = reading.read_text(root / f.path, root=root)
        except (OSError, UnicodeDecodeError):
            return None
        where, why = _into(*_field(text, f.line))
        return (f"a literal in a Helm template of chart {cdir}, rendered into {where}: {why}; "
                "a template is Go text, not YAML, so it is not rewritten: to unblock, make "
                f"chart {cdir} take it from a Secret (env valueFrom.secretKeyRef in its pod "
                "spec) and delete the literal, then plan again")
    if not f.whole and f.kind is None and _VALUES_NAME.fullmatch(p.name):
        apps = g.deploying(chart)
        if apps:
            return _chart_reason(g, root, rels, f, _label(apps[0][0]))
    return None
