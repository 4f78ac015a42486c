"""argo-recipe: a value an Argo CD Application feeds to a third-party chart that its recipe
says the chart also reads from a fixed-name Secret, which an ExternalSecret of the tree already
produces (same namespace, same key, same Doppler name): the inline value is removed, with every
app-of-apps template line that feeds it, so the chart reads the Secret (INJECTION.md §4, §6).

    apps/values.yaml          global: {tailscale: {clientId: k3r7...}}  ->  tailscale: {}
    templates/.../ts.yaml     helm.values: oauth: {clientId: {{ .Values.global... }}}
                                                                         ->  oauth: {}
    helm-values/ts.yaml       oauth: {clientId: k3r7...}                 ->  oauth: {}
    (ExternalSecret operator-oauth, ns tailscale: client_id <- TAILSCALE_OAUTH_CLIENT_ID)

A map left empty becomes `{}`, never null (null would delete the chart's default map, and its
templates would fail on a nil map). A place is taken only when every reader of it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretsync.detection import KeyPath
from secretsync.documents import ParsedFile
from secretsync.models import Finding
from secretsync.remediate.argocd import ArgoGraph, ValueRead
from secretsync.remediate.names import produced
from secretsync.remediate.recipebook import fill, recipes, split_path
from secretsync.rewrite import Splice

NAME = "argo-recipe"


@dataclass(slots=True)
class Removals:
    splices: dict[str, list[Splice]] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    """Template -> its new text."""
    texts: dict[str, str] = field(default_factory=dict)
    """Values file -> its new text."""
    deleted: dict[str, list[int]] = field(default_factory=dict)
    """File -> the (original) line numbers deleted from it, so a later place's line is known."""
    taken: set[int] = field(default_factory=set)
    """id() of the findings removed."""
    why: dict[int, str] = field(default_factory=dict)
    secret: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    """The findings removed."""

    def at(self, rel: str, line: int) -> int | None:
        """Where original `line` of `rel` is now (None: deleted already)."""
        gone = self.deleted.get(rel, [])
        return None if line in gone else line - sum(1 for d in gone if d < line)


def _values_docs(root: Path, files: Sequence[str]) -> list[Mapping[str, Any]] | None:
    """The mappings of the values files (None: one cannot be read, so nothing is known)."""
    from secretsync import reading

    loaded: list[Mapping[str, Any]] = []
    for rel in files:
        try:
            docs = reading.load_all(reading.read_text(root / rel, root=root))
        except Exception:
            return None
        loaded.extend(d for d in docs if isinstance(d, Mapping))
    return loaded


def _at(doc: Mapping[str, Any], keys: Sequence[str]) -> Any:
    node: Any = doc
    for k in keys:
        node = node.get(k) if isinstance(node, Mapping) else None
    return node


def _settings_hold(root: Path, files: Sequence[str], settings: Mapping[str, Any],
                   secret: str) -> bool:
    """Every field the hook sets (`config.existingSecret: {secret}`) already holds that value
    in one of the Application's values files (then removing the inline value is enough)."""
    loaded = _values_docs(root, files)
    return loaded is not None and all(
        any(_at(doc, split_path(str(path))) == fill(want, secret) for doc in loaded)
        for path, want in settings.items())


def _remote(es: Mapping[tuple[str | None, str], Mapping[str, str]], chart: str,
            path: Sequence[object], ns: str | None, root: Path | None = None,
            files: Sequence[str] = (), version: str | None = None) -> tuple[str, str] | None:
    """(Secret, Doppler name) when the chart's recipe, checked for `version`, reads `path` from
    a fixed-name Secret that an ExternalSecret in `ns` produces (a hook that also sets fields:
    only when the Application's values files already set them)."""
    r = recipes().get(chart)
    if r is not None and not r.covers(version):
        return None
    hook = r.hook(path) if r is not None else None
    keys: Any = hook.raw.get("keys") if hook is not None else None
    if r is None or not isinstance(keys, Mapping) or hook is None:
        return None
    sets = hook.raw.get("set")
    if sets and (root is None or not _settings_hold(root, files, sets, r.secret_of(hook))):
        return None
    key = keys.get(".".join(str(p) for p in path))
    remote = (es.get((ns, r.secret)) or {}).get(str(key)) if key else None
    return (r.secret, remote) if remote else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _delete_line(text: str, line: int) -> str | None:
    """Remove `key: value` on 1-based `line`; a parent left empty becomes `{}`. None when the
    layout is not that simple (then the place stays a follow-up)."""
    lines = text.split("\n")
    i = line - 1
    if i <= 0 or i >= len(lines):
        return None
    child = lines[i]
    if not re.match(r"^ *[^\s#:][^:]*:[ \t]+[^\s|>]", child):
        return None  # not a one-line `key: value`
    indent = _indent(child)
    siblings = False
    for nxt in lines[i + 1:]:
        if not nxt.strip() or nxt.lstrip().startswith("#"):
            continue
        if _indent(nxt) > indent:
            return None  # the value goes on: not one line
        siblings = _indent(nxt) == indent and not nxt.lstrip().startswith("- ")
        break
    prev = lines[i - 1]
    parent = re.match(r"^( *)([^\s:#][^:#]*):\s*(#.*)?$", prev)
    if parent is not None and len(parent.group(1)) < indent and not siblings:
        lines[i - 1] = f"{parent.group(1)}{parent.group(2)}: {{}}"
    elif not (siblings or indent == 0 or (prev.strip() and _indent(prev) == indent)):
        return None  # a top-level key has no parent to empty
    del lines[i]
    return "\n".join(lines)


_PARAM = re.compile(r"^( *)- name:[ \t]*['\"]?[\w.-]+['\"]?[ \t]*$")


def _delete_read(text: str, line: int) -> tuple[str, tuple[int, ...]] | None:
    """Remove the template line of a read: a `key: value` line, or a `helm.parameters` item
    (`- name: x` with its `value:` line; a list left empty becomes `[]`). With the lines
    removed, relative to `line`."""
    edited = _delete_line(text, line)
    if edited is not None:
        return edited, (0,)
    lines = text.split("\n")
    i = line - 1
    item = _PARAM.match(lines[i - 1]) if 1 <= i < len(lines) else None
    if item is None or _indent(lines[i]) != len(item.group(1)) + 2 or \
            not lines[i].lstrip().startswith("value:"):
        return None
    nxt = next((x for x in lines[i + 1:] if x.strip() and not x.lstrip().startswith("#")), "")
    if _indent(nxt) > len(item.group(1)) + (0 if nxt.lstrip().startswith("- ") else 1):
        return None  # the item goes on
    head = re.match(r"^( *)parameters:\s*$", lines[i - 2]) if i >= 2 else None
    if head is not None and not (_indent(nxt) == len(item.group(1)) and
                                 nxt.lstrip().startswith("- ")):
        lines[i - 2] = f"{head.group(1)}parameters: []"
    del lines[i - 1:i + 1]
    return "\n".join(lines), (-1, 0)


def plan(g: ArgoGraph, root: Path, rels: Sequence[str], findings: Sequence[Finding],
         parsed: Callable[[str], ParsedFile | None],
         fed: Mapping[tuple[str, tuple[str, ...]], tuple[str, str]] | None = None,
         prior: Removals | None = None) -> Removals:
    """`fed`: (values file, chart values path) -> (Secret, ESO composition) of what argo-chart
    now feeds the chart from a Secret (a template line setting the same field would override
    it); `prior`: the removals of an earlier pass, to extend."""
    es = produced(root, rels)
    out = prior if prior is not None else Removals()
    for f in sorted(findings, key=lambda x: (x.path, -x.line)):
        if id(f) in out.taken or not f.whole or f.style != "plain" or not f.key_path or \
                f.kind is not None:
            continue
        found = _take(g, es, f, root, rels, fed or {})
        pf = parsed(f.path) if found is not None else None
        line = out.at(f.path, f.line)
        if found is None or pf is None or line is None:
            continue
        reads, why, secret = found
        new_text = _delete_line(out.texts.get(f.path, pf.text), line)
        staged: dict[str, str] = {}
        gone: list[tuple[str, int]] = []
        for r in sorted(reads, key=lambda r: -r.line):
            at = out.at(r.template, r.line)
            base = staged.get(r.template) or out.templates.get(r.template) or \
                (root / r.template).read_text(encoding="utf-8")
            edited = _delete_read(base, at) if at is not None else None
            if edited is None:
                break
            staged[r.template] = edited[0]
            gone.extend((r.template, r.line + d) for d in edited[1])
        else:
            if new_text is None:
                continue
            out.texts[f.path] = new_text
            out.deleted.setdefault(f.path, []).append(f.line)
            for rel, ln in gone:
                out.deleted.setdefault(rel, []).append(ln)
            out.templates.update(staged)
            out.taken.add(id(f))
            out.why[id(f)] = why
            out.secret[id(f)] = secret
            out.findings.append(f)
    for rel, text in out.texts.items():
        pf = parsed(rel)
        assert pf is not None
        removed = [f for f in out.findings if f.path == rel]
        out.splices[rel] = [_changed_span(pf.text, text, removed)]
    return out


def _changed_span(old: str, text: str, removed: Sequence[Finding],
                  also: tuple[tuple[int, KeyPath], ...] = ()) -> Splice:
    """Only the span that changes (a saved plan's digest keeps covering the rest); `also`:
    scalars another edit folded into this one removes."""
    a = 0
    while a < min(len(old), len(text)) and old[a] == text[a]:
        a += 1
    b = 0
    while b < min(len(old), len(text)) - a and old[-1 - b] == text[-1 - b]:
        b += 1
    return Splice(a, len(old) - b, text[a:len(text) - b],
                  also + tuple((f.doc, f.key_path) for f in removed))


_ACTION = re.compile(r"\{\{-?\s*\.Values((?:\.[A-Za-z_][\w-]*)+)\s*-?\}\}")


def _fed_env(fed: Mapping[tuple[str, tuple[str, ...]], tuple[str, str]], root: Path,
             r: ValueRead, vf: str) -> tuple[str, str] | None:
    """What the Secret feeds the variable the chart's recipe says stands for the field the
    read sets (oauth2-proxy `extraArgs.whitelist-domain` is OAUTH2_PROXY_WHITELIST_DOMAINS),
    when no values file of the source sets that field (it would win once the line is gone)."""
    assert r.source is not None and r.chart_key is not None
    rec = recipes().get(r.source.chart or "")
    hook = rec.hook(r.chart_key) if rec is not None else None
    var = ((hook.raw.get("env") or {}) if hook is not None else {}).get(".".join(r.chart_key))
    hit = fed.get((vf, ("env", str(var)))) if var else None
    loaded = _values_docs(root, r.source.value_files) if hit is not None else None
    if loaded is None or any(_at(doc, r.chart_key) is not None for doc in loaded):
        return None
    return hit


def _fed_by(fed: Mapping[tuple[str, tuple[str, ...]], tuple[str, str]], root: Path,
            r: ValueRead, name: str) -> tuple[str, str] | None:
    """(Secret, values file) when a values file of the read's source now feeds the same chart
    field from a Secret with the same composition as the template line (`https://{{ .NAME }}/`
    both), or the variable the app reads for that field: removing the line leaves the chart
    reading the same value."""
    if r.source is None or r.chart_key is None:
        return None
    for vf in r.source.value_files:
        hit = fed.get((vf, tuple(r.chart_key))) or _fed_env(fed, root, r, vf)
        if hit is None:
            continue
        lines = (root / r.template).read_text(encoding="utf-8").split("\n")
        m = re.match(r"^\s*[^\s:#][^:#]*:[ \t]+(.*?)\s*$", lines[r.line - 1]) \
            if r.line <= len(lines) else None
        if m is None:
            return None
        text = _ACTION.sub(lambda a: "{{ ." + name + " }}" if a.group(1)[1:] == ".".join(
            r.values_path) else a.group(0), m.group(1))
        if "{{ .Values" in text or text.count("{{") != text.count("{{ ." + name + " }}") or \
                text[:1] in ("'", '"'):
            return None
        return (hit[0], vf) if text == hit[1] else None
    return None


def _dead(root: Path, rels: Sequence[str], r: ValueRead) -> bool:
    """The read feeds a chart of the tree whose templates never read that value."""
    from secretsync.remediate import unread

    assert r.source is not None and r.chart_key is not None
    return bool(r.source.paths) and not r.source.chart and all(
        not unread._chart_reads(root, rels, p, r.chart_key)
        and not unread._opaque_chart(root, rels, p) for p in r.source.paths)


def _take(g: ArgoGraph, es: Mapping[tuple[str | None, str], Mapping[str, str]], f: Finding,
          root: Path, rels: Sequence[str],
          fed: Mapping[tuple[str, tuple[str, ...]], tuple[str, str]],
          ) -> tuple[list[ValueRead], str, str] | None:
    """The template reads to remove with `f`, and what reads it instead; None: not this kind."""
    for app, src in g.consumers(f.path):
        if src.chart:
            hit = _remote(es, src.chart, f.key_path, app.namespace, root, src.value_files,
                          src.version)
            if hit is not None and hit[1] == f.suggested_name:
                return [], (f"chart {src.chart} reads Secret {hit[0]} (ExternalSecret in "
                            f"{app.namespace}, Doppler {hit[1]})"), hit[0]
            return None
    chart = g.app_chart_of(f.path)
    if chart is None:
        return None
    reads = g.reads_of(chart, f.key_path)
    if not reads or g.template_reads(chart, f.key_path):
        return None
    whys: list[str] = []
    secret = ""
    for r in reads:
        if r.values_path != tuple(str(k) for k in f.key_path) or r.source is None or \
                r.chart_key is None:
            return None
        if _dead(root, rels, r):
            whys.append(f"{r.template}:{r.line} feeds {r.source.label} value "
                        f"{'.'.join(r.chart_key)}, which no template of that chart reads")
            continue
        if not r.source.chart:
            return None
        via = _fed_by(fed, root, r, f.suggested_name)
        if via is not None:
            whys.append(f"{via[1]} now feeds chart {r.source.chart} value "
                        f"{'.'.join(r.chart_key)} from Secret {via[0]}; {r.template}:{r.line} "
                        "no longer overrides it")
            secret = via[0]
            continue
        if not r.whole:
            return None
        ns = next((a.namespace for a in g.apps if a.name == r.app and a.file == r.template),
                  None)
        hit = _remote(es, r.source.chart, r.chart_key, ns, root, r.source.value_files,
                      r.source.version)
        if hit is None or hit[1] != f.suggested_name:
            return None
        whys.append(f"chart {r.source.chart} reads Secret {hit[0]} (ExternalSecret in {ns}, "
                    f"Doppler {hit[1]}); {r.template}:{r.line} no longer feeds it")
        secret = hit[0]
    return reads, "; ".join(whys), secret
