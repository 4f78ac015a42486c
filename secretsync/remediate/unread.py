"""unread: a value that nothing in the tree deploys is deleted, once Doppler holds it.

    infrastructure/apps/values.yaml          global: {cloudflare: {tunnelId: f674...}}
        no template of the app-of-apps chart reads .Values.global.cloudflare.tunnelId
                                             ->  cloudflare: {}
    charts/protected-services/values.yaml    tailnet: tail876052
        no template of the chart reads .Values.tailnet (the Application sets it anyway)
                                             ->  the line is deleted

No template renders the key, so deleting it changes nothing a cluster runs (a reference in its
place would change nothing either: no one reads it). A chart is judged unread only when every
read of its templates is a plain `.Values.x.y` path: `index .Values ...`, `toYaml .Values`,
`tpl`, or a subchart (globals reach subcharts) may read anything, so then nothing is deleted.
A map left empty becomes `{}`, as in argo-recipe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from secretsync import reading
from secretsync.documents import ParsedFile
from secretsync.models import Finding
from secretsync.remediate import argocd
from secretsync.remediate.argo_recipe import Removals
from secretsync.rewrite import Splice

NAME = "unread"
_VALUES_NAME = re.compile(r"values(?:[-_.].+)?\.ya?ml")
# `.Values` not followed by a plain `.key` (`index .Values "a"`, `toYaml .Values`, `$.Values }}`).
_OPAQUE = re.compile(r"\.Values(?![.\w])|\btpl\b")


def _opaque_chart(root: Path, rels: Sequence[str], chart: str) -> bool:
    """Could a template or a subchart of `chart` read a value without naming its path?"""
    prefix = f"{chart}/" if chart != "." else ""
    if f"{prefix}requirements.yaml" in rels or any(r.startswith(f"{prefix}charts/")
                                                   for r in rels):
        return True
    try:
        meta = reading.read_text(root / f"{prefix}Chart.yaml", root=root)
    except (OSError, UnicodeDecodeError):
        return True
    if re.search(r"(?m)^dependencies:", meta):
        return True
    for rel in rels:
        if not rel.startswith(f"{prefix}templates/"):
            continue
        try:
            text = reading.read_text(root / rel, root=root)
        except (OSError, UnicodeDecodeError):
            return True
        if _OPAQUE.search(text):
            return True
    return False


_RANGE = re.compile(r"range\s+(?:\$\w+\s*,\s*)?\$(\w+)\s*:=\s*\$?\.Values((?:\.[A-Za-z_][\w-]*)+)")
_PLAIN = re.compile(r"\.Values((?:\.[A-Za-z_][\w-]*)+)")
_FIELDS = r"((?:\.[A-Za-z_][\w-]*)*)"


def template_reads(text: str) -> list[tuple[str, ...]]:
    """The values paths a template reads: `.Values.a.b`, and through a range variable
    (`range $k, $v := .Values.services` then `$v.port` reads `services.*.port`; a bare `$v`
    reads every element whole)."""
    aliases: dict[str, list[tuple[str, ...]]] = {}
    for m in _RANGE.finditer(text):
        aliases.setdefault(m.group(1), []).append((*m.group(2)[1:].split("."), "*"))
    rest = _RANGE.sub(" ", text)
    out = [tuple(m.group(1)[1:].split(".")) for m in _PLAIN.finditer(rest)]
    for var, bases in aliases.items():
        for m in re.finditer(r"\$" + re.escape(var) + r"(?!\w)" + _FIELDS, rest):
            fields = tuple(m.group(1)[1:].split(".")) if m.group(1) else ()
            out.extend((*b, *fields) for b in bases)
    return out


def _related(read: tuple[str, ...], key: tuple[str, ...]) -> bool:
    return all(a == "*" or a == b for a, b in zip(read, key, strict=False))


def _chart_reads(root: Path, rels: Sequence[str], chart: str,
                 key: tuple[str, ...]) -> bool:
    prefix = f"{chart}/templates/" if chart != "." else "templates/"
    for rel in rels:
        if rel.startswith(prefix):
            try:
                text = reading.read_text(root / rel, root=root)
            except (OSError, UnicodeDecodeError):
                return True
            if any(_related(r, key) for r in template_reads(text)):
                return True
    return False


def reason(g: argocd.ArgoGraph, root: Path, rels: Sequence[str], f: Finding) -> str | None:
    """Why nothing deploys the finding's value (None: something may read it)."""
    # The whole scalar goes, so a value inside a longer one (`vault.<tailnet>.ts.net`) too.
    if f.style not in ("plain", "single", "double") or f.kind is not None \
            or not f.key_path or not all(isinstance(k, str) for k in f.key_path):
        return None
    key = ".".join(str(k) for k in f.key_path)
    p = PurePosixPath(f.path)
    chart = str(p.parent)
    # A source that deploys another chart with this file as its values (not this file's own).
    elsewhere = any(chart not in s.paths for _, s in g.consumers(f.path))
    app_chart = g.app_chart_of(f.path)
    if app_chart is not None:
        if g.reads_of(app_chart, f.key_path) or g.template_reads(app_chart, f.key_path) \
                or elsewhere or _opaque_chart(root, rels, app_chart):
            return None
        return f"no template of the app-of-apps chart {app_chart} reads .Values.{key}"
    if not _VALUES_NAME.fullmatch(p.name) or not g.deploying(chart) or elsewhere:
        return None
    if _chart_reads(root, rels, chart, tuple(str(k) for k in f.key_path)) \
            or _opaque_chart(root, rels, chart):
        return None
    return f"no template of chart {chart} reads .Values.{key}"


def _shifted(line: int, start: int, sp: Splice, old: str) -> int | None:
    """`line` of the original text in the text after `sp` (None: inside the splice)."""
    if start < sp.start:
        return line
    if start < sp.end:
        return None
    return line - old.count("\n", sp.start, sp.end) + sp.new.count("\n")


def plan(g: argocd.ArgoGraph, root: Path, rels: Sequence[str], findings: Sequence[Finding],
         parsed: Callable[[str], ParsedFile | None], argo: Removals) -> Removals:
    """Deletions of unread values. A file argo-recipe also edits gets one splice doing both
    (taken out of `argo`), so the two never overlap."""
    from secretsync.remediate.argo_recipe import _changed_span, _delete_line

    out = Removals()
    texts: dict[str, str] = {}
    gone: set[tuple[str, int]] = set()
    for f in sorted(findings, key=lambda x: (x.path, -x.line)):
        if id(f) in argo.taken:
            continue
        why = reason(g, root, rels, f)
        pf = parsed(f.path) if why is not None else None
        if why is None or pf is None:
            continue
        if f.path not in texts:
            sps = argo.splices.get(f.path) or []
            if len(sps) > 1:
                continue
            texts[f.path] = pf.text if not sps else \
                pf.text[:sps[0].start] + sps[0].new + pf.text[sps[0].end:]
        if (f.path, f.line) not in gone:
            line: int | None = f.line
            for sp in argo.splices.get(f.path) or []:
                line = _shifted(f.line, f.start, sp, pf.text)
            edited = _delete_line(texts[f.path], line) if line is not None else None
            if edited is None:
                continue
            texts[f.path] = edited
            gone.add((f.path, f.line))
        out.taken.add(id(f))
        out.why[id(f)] = f"nothing deploys it: {why}"
        out.secret[id(f)] = ""
        out.findings.append(f)
    out.findings.sort(key=lambda f: (f.path, f.line))
    for rel, text in texts.items():
        mine = [f for f in out.findings if f.path == rel]
        if not mine:
            continue
        pf = parsed(rel)
        assert pf is not None
        theirs = tuple(r for sp in argo.splices.pop(rel, []) for r in sp.removes)
        out.splices[rel] = [_changed_span(pf.text, text, mine, theirs)]
    return out
