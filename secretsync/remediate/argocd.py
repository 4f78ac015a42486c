"""Argo CD in the deploy graph: Applications and ApplicationSets, plain or rendered by an
app-of-apps chart, and who reads each value.

What is modelled (argo-cd docs/user-guide: helm.md, multiple_sources.md, directory.md):

- every source of an Application (`source` or `sources`): `chart` (a third-party chart) or
  `path` (a directory of the tree: a chart, a kustomization or plain manifests, recursive only with
  `directory.recurse`), `helm.valueFiles` (relative to the source's path, or `$<ref>/...` from a
  `ref:` source: multi-source Applications), `helm.values` (a YAML string), `helm.valuesObject`,
  `helm.parameters`; `destination.namespace`;
- an Application that an app-of-apps chart renders: its templates are read as text. Each
  `{{ ... }}` action becomes a token so the rest parses as YAML; the `.Values.x.y` a field takes
  is then known by the field's path, and for Helm values by the chart values path it feeds.
  An ApplicationSet's own placeholders (`{{`{{ .env }}`}}`, goTemplate) become wildcards
  over the files the tree holds.

Argo CD has no way to put Secret data into Helm values (INJECTION.md §4): a value an Application
feeds to a chart's values stays in Git unless the chart itself can read it from a Secret.
Nothing here reads a value: only names, paths, the shape of templates, and line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import reading

ARGO_API = "argoproj.io/"
APP_KINDS = ("Application", "ApplicationSet")
_TOKEN = "__ss{}__"
_TOKEN_RE = re.compile(r"__ss(\d+)__")
_APPSET = re.compile(r"\{\{-?\s*`(.*?)`\s*-?\}\}", re.S)
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][\w-]*)+)")
_MAX_BYTES = 1 << 20
"""Applications and their charts' templates are small; a larger file is not read for them."""
_VALUES_NAME = re.compile(r"values(?:[-_.].+)?\.ya?ml")


@dataclass(frozen=True, slots=True)
class Source:
    """One source of an Application."""

    repo_url: str | None
    chart: str | None
    """A chart from a Helm repository (third-party), by name."""
    version: str | None
    paths: tuple[str, ...]
    """The tree directories the source deploys (resolved; several for an ApplicationSet)."""
    ref: str | None
    value_files: tuple[str, ...] = ()
    """Values files of the tree the source reads (resolved, `/`-separated, tree-relative)."""
    recurse: bool = False

    @property
    def label(self) -> str:
        if self.chart:
            return f"chart {self.chart}" + (f" {self.version}" if self.version else "")
        return f"chart {', '.join(self.paths)}" if self.paths else "a source"


@dataclass(frozen=True, slots=True)
class App:
    kind: str
    name: str
    """metadata.name; an ApplicationSet's generated names keep their `*` wildcards."""
    file: str
    namespace: str | None
    """destination.namespace (None when templated)."""
    sources: tuple[Source, ...]
    rendered_by: str | None = None
    """The app-of-apps chart directory whose templates render it (None: a plain manifest)."""


@dataclass(frozen=True, slots=True)
class ValueRead:
    """A template reading `.Values.<values_path>` into one field of an Application."""

    template: str
    line: int
    column: int
    chart_dir: str
    """The app-of-apps chart whose values it reads."""
    values_path: tuple[str, ...]
    app: str
    field: str
    """Where in the Application (dotted), e.g. `spec.sources[0].helm.values`."""
    source: Source | None
    """The source whose Helm values the field feeds (None: another field of the spec)."""
    chart_key: tuple[str, ...] | None
    """The path in that source's chart values (for helm.values/valuesObject/parameters)."""
    whole: bool
    """The field is exactly this value (not `https://{{ ... }}/`)."""

    @property
    def expr(self) -> str:
        return ".Values." + ".".join(self.values_path)


@dataclass(slots=True)
class ArgoGraph:
    apps: list[App] = field(default_factory=list)
    reads: list[ValueRead] = field(default_factory=list)
    app_charts: set[str] = field(default_factory=set)
    """Directories of app-of-apps charts (charts whose templates render Applications)."""
    other_reads: dict[str, list[tuple[str, int, int, tuple[str, ...]]]] = field(
        default_factory=dict)
    """Chart dir -> (template, line, column, values path) of every `.Values` read outside an
    Application (a chart's own templates): a value no one reads is never rewritten."""

    def consumers(self, rel: str) -> list[tuple[App, Source]]:
        """The Applications (and their source) that read the values file `rel`."""
        return [(a, s) for a in self.apps for s in a.sources if rel in s.value_files]

    def deploying(self, d: str) -> list[tuple[App, Source]]:
        """The Applications whose `path:` source is the directory `d`."""
        return [(a, s) for a in self.apps for s in a.sources if d in s.paths]

    def reads_of(self, chart_dir: str, values_path: Sequence[object]) -> list[ValueRead]:
        """Reads of `values_path` or of a map above it (`toYaml .Values.global`) or below it."""
        vp = tuple(str(p) for p in values_path)
        return [r for r in self.reads if r.chart_dir == chart_dir and _related(r.values_path, vp)]

    def template_reads(self, chart_dir: str, values_path: Sequence[object]
                       ) -> list[tuple[str, int, int, tuple[str, ...]]]:
        vp = tuple(str(p) for p in values_path)
        return [x for x in self.other_reads.get(chart_dir, []) if _related(x[3], vp)]

    def app_chart_of(self, rel: str) -> str | None:
        """The app-of-apps chart whose values file `rel` is."""
        p = PurePosixPath(rel)
        d = str(p.parent)
        return d if d in self.app_charts and _VALUES_NAME.fullmatch(p.name) else None


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


# -- templates as text ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Token:
    expr: str
    line: int
    column: int
    appset: bool


def tokenize(text: str) -> tuple[str, list[_Token]]:
    """Replace each template action by a token (`__ssN__`) and drop lines that hold nothing but
    actions (`{{- range }}`, `{{- toYaml ... | nindent 4 }}`): the rest parses as YAML."""
    tokens: list[_Token] = []

    def pos(i: int) -> tuple[int, int]:
        return text.count("\n", 0, i) + 1, i - text.rfind("\n", 0, i)

    spans: list[tuple[int, int, str, bool]] = []
    for m in _APPSET.finditer(text):
        spans.append((m.start(), m.end(), m.group(1).strip("{} \t-"), True))
    taken = [(s, e) for s, e, _, _ in spans]
    for m in _ACTION.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        spans.append((m.start(), m.end(), m.group(1).strip(), False))
    spans.sort()
    out: list[str] = []
    last = 0
    for start, end, expr, appset in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(_TOKEN.format(len(tokens)))
        line, col = pos(start)
        tokens.append(_Token(expr, line, col, appset))
        last = end
    out.append(text[last:])
    lines = []
    for ln in "".join(out).split("\n"):
        # A line of actions only is control flow; blank it (keeping line numbers).
        lines.append("" if ln.strip() and not _TOKEN_RE.sub("", ln).strip() else ln)
    return "\n".join(lines), tokens


def _walk(node: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], Any]]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))
    else:
        yield path, node


def _dotted(path: Sequence[object]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _load(text: str) -> list[Any]:
    try:
        return reading.load_all(text)  # the scan's size, depth and alias limits
    except Exception:  # a template that does not parse even tokenized: nothing to model
        return []


# -- building ---------------------------------------------------------------------------------
class _Builder:
    def __init__(self, root: Path, rels: Sequence[str]) -> None:
        self.git_dirs: tuple[str, ...] = ()
        self.dirs: list[str] = []
        self.tokens: Mapping[int, _Token] = {}
        self.root = root
        self.rels = sorted(rels)
        self.relset = set(rels)
        self.g = ArgoGraph()

    def text(self, rel: str) -> str:
        try:
            return reading.read_text(self.root / rel, root=self.root, max_bytes=_MAX_BYTES)
        except (OSError, UnicodeDecodeError):
            return ""

    def build(self) -> ArgoGraph:
        for rel in self.rels:
            if not rel.endswith((".yaml", ".yml")):
                continue
            head = self.text(rel)
            if ARGO_API not in head or not any(f"kind: {k}" in head for k in APP_KINDS):
                continue
            parts = rel.split("/")
            if "templates" in parts[:-1]:
                i = len(parts) - 1 - parts[::-1].index("templates")
                chart = "/".join(parts[:i]) or "."
                if (f"{chart}/Chart.yaml" if chart != "." else "Chart.yaml") in self.relset:
                    self.template(rel, chart, head)
                continue
            for doc in _load(head):
                if isinstance(doc, Mapping):
                    app = self.app(doc, rel, {}, None)
                    if app is not None:
                        self.g.apps.append(app)
        for chart in sorted(self.g.app_charts):
            self.chart_reads(chart)
        return self.g

    def template(self, rel: str, chart: str, text: str) -> None:
        tokenized, tokens = tokenize(text)
        for doc in _load(tokenized):
            if not isinstance(doc, Mapping):
                continue
            app = self.app(doc, rel, {i: t for i, t in enumerate(tokens)}, chart)
            if app is None:
                continue
            self.g.apps.append(app)
            self.g.app_charts.add(chart)
            self.reads(doc, rel, chart, app, tokens)

    def reads(self, doc: Mapping[str, Any], rel: str, chart: str, app: App,
              tokens: Sequence[_Token]) -> None:
        spec_at: tuple[object, ...] = ("spec", "template", "spec") \
            if app.kind == "ApplicationSet" else ("spec",)
        for path, value in _walk(doc):
            if not isinstance(value, str) or "__ss" not in value:
                continue
            src, chart_key, fld = self.helm_target(doc, path, spec_at, app)
            if chart_key == ("__values__",):
                self.block_reads(value, rel, chart, app, src, fld, tokens)
                continue
            for m in _TOKEN_RE.finditer(value):
                t = tokens[int(m.group(1))]
                whole = value.strip() == m.group(0)
                for vp in _VALUES_REF.findall(t.expr):
                    self.g.reads.append(ValueRead(rel, t.line, t.column, chart,
                                                  tuple(vp[1:].split(".")), app.name, fld, src,
                                                  chart_key, whole and not t.appset))

    def block_reads(self, value: str, rel: str, chart: str, app: App, src: Source | None,
                    fld: str, tokens: Sequence[_Token]) -> None:
        """`helm.values: |`: a YAML document inside a string, itself read by path."""
        docs = _load(value)
        inner = docs[0] if docs else None
        for ipath, ivalue in _walk(inner):
            if not isinstance(ivalue, str):
                continue
            for m in _TOKEN_RE.finditer(ivalue):
                t = tokens[int(m.group(1))]
                whole = ivalue.strip() == m.group(0)
                for vp in _VALUES_REF.findall(t.expr):
                    self.g.reads.append(ValueRead(
                        rel, t.line, t.column, chart, tuple(vp[1:].split(".")), app.name, fld,
                        src, tuple(str(p) for p in ipath), whole))

    def helm_target(self, doc: Mapping[str, Any], path: tuple[object, ...],
                    spec_at: tuple[object, ...], app: App
                    ) -> tuple[Source | None, tuple[str, ...] | None, str]:
        """For a field of the Application: its source, the chart values path it sets (None:
        not a Helm value; `("__values__",)`: the `helm.values` string), its dotted path."""
        fld = _dotted(path)
        if path[: len(spec_at)] != spec_at:
            return None, None, fld
        rest = path[len(spec_at):]
        if rest[:1] == ("source",):
            idx, rest = 0, rest[1:]
        elif rest[:1] == ("sources",) and len(rest) > 1 and isinstance(rest[1], int):
            idx, rest = rest[1], rest[2:]
        else:
            return None, None, fld
        src = app.sources[idx] if isinstance(idx, int) and idx < len(app.sources) else None
        if rest[:2] == ("helm", "values") and len(rest) == 2:
            return src, ("__values__",), fld
        if rest[:2] == ("helm", "valuesObject"):
            return src, tuple(str(p) for p in rest[2:]), fld
        if rest[:2] == ("helm", "parameters") and len(rest) == 4 and rest[3] == "value":
            params = _get(doc, (*path[:-1], "name"))
            if isinstance(params, str):
                return src, tuple(params.split(".")), fld
        return src, None, fld

    def app(self, doc: Mapping[str, Any], rel: str, tokens: Mapping[int, _Token],
            chart: str | None) -> App | None:
        kind = doc.get("kind")
        if kind not in APP_KINDS or not str(doc.get("apiVersion", "")).startswith(ARGO_API):
            return None
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
        if kind == "ApplicationSet":
            tpl = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
            assert isinstance(tpl, Mapping)
            tmeta = tpl.get("metadata") if isinstance(tpl.get("metadata"), Mapping) else {}
            assert isinstance(tmeta, Mapping)
            name = _wild(str(tmeta.get("name") or meta.get("name") or ""))
            spec = tpl.get("spec") if isinstance(tpl.get("spec"), Mapping) else {}
            assert isinstance(spec, Mapping)
        else:
            name = _wild(str(meta.get("name") or ""))
        self.git_dirs = _git_dirs(doc) if kind == "ApplicationSet" else ()
        self.tokens = tokens
        raw: list[Any] = spec["sources"] if isinstance(spec.get("sources"), list) else \
            [spec.get("source")]
        refs: dict[str, str] = {}
        for s in raw:
            if isinstance(s, Mapping) and isinstance(s.get("ref"), str):
                refs[s["ref"]] = str(s.get("path") or "")
        sources = tuple(self.source(s, rel, refs) for s in raw if isinstance(s, Mapping))
        dest = spec.get("destination") if isinstance(spec.get("destination"), Mapping) else {}
        assert isinstance(dest, Mapping)
        ns = dest.get("namespace")
        namespace = ns if isinstance(ns, str) and ns and "__ss" not in ns else None
        return App(str(kind), name, rel, namespace, sources, chart)

    def source(self, s: Mapping[str, Any], rel: str, refs: Mapping[str, str]) -> Source:
        helm = s.get("helm") if isinstance(s.get("helm"), Mapping) else {}
        directory = s.get("directory") if isinstance(s.get("directory"), Mapping) else {}
        assert isinstance(helm, Mapping) and isinstance(directory, Mapping)
        path = s.get("path") if isinstance(s.get("path"), str) else None
        tree_dirs = self.resolve_dir(rel, self.generated(path)) if path else []
        files: list[str] = []
        for vf in helm.get("valueFiles") or []:
            if not isinstance(vf, str):
                continue
            if vf.startswith("$"):
                ref, _, tail = self.generated(vf)[1:].partition("/")
                base = refs.get(ref, "")
                files.extend(self.resolve_file(rel, f"{base}/{tail}" if base else tail))
            else:
                for d in tree_dirs:
                    files.extend(self.match(f"{d}/{vf}" if d != "." else vf))
        chart = _wild(s["chart"]) if isinstance(s.get("chart"), str) else None
        version = s.get("targetRevision")
        return Source(
            s.get("repoURL") if isinstance(s.get("repoURL"), str) else None, chart,
            version if isinstance(version, str) and "__ss" not in version else None,
            tuple(tree_dirs),
            s.get("ref") if isinstance(s.get("ref"), str) else None,
            tuple(dict.fromkeys(files)), directory.get("recurse") is True)

    def generated(self, path: str) -> str:
        """`{{ .path.path }}` of an ApplicationSet's git generator is one of its directories."""
        if not self.git_dirs:
            return path

        def sub(m: re.Match[str]) -> str:
            t = self.tokens.get(int(m.group(1)))
            if t is not None and t.appset and t.expr.strip() in (".path.path", ".path"):
                return self.git_dirs[0] if len(self.git_dirs) == 1 else m.group(0)
            return m.group(0)

        return _TOKEN_RE.sub(sub, path)

    # Paths in an Application are relative to its repository's root, which the tree does not
    # name: take the nearest ancestor of the Application's file under which the path exists.
    def resolve_file(self, rel: str, path: str) -> list[str]:
        for base in _ancestors(rel):
            found = self.match(f"{base}/{path}" if base != "." else path)
            if found:
                return found
        return []

    def resolve_dir(self, rel: str, path: str) -> list[str]:
        pattern = _pattern(_wild(path).strip("/"))
        if not self.dirs:
            self.dirs = sorted({str(p) for r in self.rels for p in PurePosixPath(r).parents})
        for base in _ancestors(rel):
            prefix = "" if base == "." else base + "/"
            dirs = [d for d in self.dirs if d.startswith(prefix)
                    and pattern.fullmatch(d[len(prefix):])]
            if dirs:
                return dirs
        return []

    def match(self, path: str) -> list[str]:
        path = _wild(path)
        if "*" not in path:
            return [path] if path in self.relset else []
        pattern = _pattern(path)
        return [r for r in self.rels if pattern.fullmatch(r)]

    def chart_reads(self, chart: str) -> None:
        """Every other `.Values` read of an app-of-apps chart's templates."""
        prefix = f"{chart}/templates/" if chart != "." else "templates/"
        app_lines = {(r.template, r.line, r.column) for r in self.g.reads}
        out = self.g.other_reads.setdefault(chart, [])
        for rel in self.rels:
            if not rel.startswith(prefix):
                continue
            text = self.text(rel)
            for m in _VALUES_REF.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - text.rfind("\n", 0, m.start())
                start = text.rfind("{{", 0, m.start())
                key = (rel, line, start - text.rfind("\n", 0, start))
                if key not in app_lines:
                    out.append((rel, line, col, tuple(m.group(1)[1:].split("."))))


def _get(doc: Any, path: Sequence[object]) -> Any:
    for p in path:
        if isinstance(p, int) and isinstance(doc, list) and p < len(doc):
            doc = doc[p]
        elif isinstance(p, str) and isinstance(doc, Mapping):
            doc = doc.get(p)
        else:
            return None
    return doc


def _git_dirs(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The directories an ApplicationSet's git generators yield, as wildcard patterns."""
    out: list[str] = []
    for path, value in _walk(doc.get("spec")):
        if not isinstance(value, str) or "git" not in path or path[-1] != "path":
            continue
        if "directories" in path:
            out.append(value.strip("/"))
        elif "files" in path:
            out.append(str(PurePosixPath(value).parent))
    return tuple(dict.fromkeys(out))


def _wild(s: str) -> str:
    """An ApplicationSet placeholder (a token from an escaped `{{ }}`) is any text."""
    return _TOKEN_RE.sub("*", s)


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("[^/]+".join(re.escape(p) for p in path.split("*")))


def _ancestors(rel: str) -> list[str]:
    parents = [str(p) for p in PurePosixPath(rel).parents]
    return parents  # nearest first, "." last


def build(root: Path, rels: Sequence[str]) -> ArgoGraph:
    """The Argo CD part of the deploy graph of the tree at `root`."""
    return _Builder(root.resolve(), rels).build()


# -- judging a place ------------------------------------------------------------------------
_NO_INJECTION = "Argo CD cannot put Secret data into Helm values (INJECTION.md §4)"


def _where(r: ValueRead) -> str:
    into = f"{r.source.label} value {'.'.join(r.chart_key)}" if r.source and r.chart_key \
        else r.field
    part = "" if r.whole else " (part of a longer string)"
    return f"{r.template}:{r.line} reads {r.expr} into Application {r.app}: {into}{part}"


def _unblock(r: ValueRead) -> str:
    from secretsync.remediate.recipebook import hook_for, limit_for

    src = r.source
    if src is not None and src.chart and r.chart_key:
        hook = hook_for(src.chart, r.chart_key, src.version)
        limit = limit_for(src.chart, r.chart_key, src.version)
        if limit is not None:
            return limit
        if hook is not None:
            return (f"the {src.chart} recipe reads it from a Secret ({hook}): remove it here, "
                    f"at {r.template}:{r.line} and in the chart's values files together")
        return (f"a recipe for chart {src.chart} (if the chart can read it from a Secret), a "
                "chart feature, or moving the Application to Flux (HelmRelease valuesFrom)")
    if src is not None and src.paths:
        return (f"make chart {src.paths[0]} read it from a Secret (a chart feature), or move "
                "the Application to Flux")
    return "keep it in Git (an identifier), or move the Application to Flux (postBuild)"


def reason(g: ArgoGraph, rel: str, values_path: Sequence[object], whole: bool,
           in_env_list: bool) -> str | None:
    """Why a value in a file Argo CD reads must stay (None: nothing Argo-specific blocks the
    usual rewrite). A value is rewritten only with everything that reads it; Argo CD has no
    mechanism for most readers, so the reason names the reader and what would unblock it."""
    chart = g.app_chart_of(rel)
    if chart is not None:
        reads = g.reads_of(chart, values_path)
        other = g.template_reads(chart, values_path)
        if not reads and not other:
            return (f"no template of the app-of-apps chart {chart} reads .Values."
                    f"{'.'.join(str(p) for p in values_path)}: nothing deploys this value; "
                    "delete it by hand once Doppler holds it (not rewritten: a reference no "
                    "one reads changes nothing)")
        if not reads:
            t, line, _, _ = other[0]
            return (f"{t}:{line} reads it outside an Application: rewrite that template with it "
                    "(not rewritten alone: the template would render an empty value)")
        first = reads[0]
        more = f" (and {len(reads) - 1} more reader(s))" if len(reads) > 1 else ""
        return f"{_where(first)}{more}; {_NO_INJECTION}; to unblock: {_unblock(first)}"
    consumers = g.consumers(rel)
    third = [(a, s) for a, s in consumers if s.chart]
    if third:
        a, s = third[0]
        if in_env_list and whole:
            return None
        from secretsync.remediate.recipebook import hook_for, limit_for

        key = tuple(values_path)  # list indexes stay ints (recipe patterns say `[*]`)
        hook = hook_for(s.chart or "", key, s.version)
        limit = limit_for(s.chart or "", key, s.version)
        ns = f", namespace {a.namespace}" if a.namespace else ""
        head = f"values file of Argo CD Application {a.name} ({s.label}{ns}): {_NO_INJECTION}"
        if limit is not None:
            return f"{head}; {limit}"
        if hook is not None:
            return (f"{head}; the {s.chart} recipe reads it from a Secret instead ({hook}): "
                    "apply the recipe by hand (remove the inline value and create that Secret "
                    "with an ExternalSecret in the Application's namespace)")
        return (f"{head}; to unblock: a recipe for chart {s.chart} (if it can read this field "
                "from a Secret), a chart feature, or moving the Application to Flux "
                "(HelmRelease valuesFrom)")
    return None


def _chart_template_reads(g: ArgoGraph, root: Path, rels: Sequence[str], chart: str,
                          values_path: Sequence[object]) -> list[tuple[str, int]]:
    vp = tuple(str(p) for p in values_path)
    if not vp or not all(isinstance(p, str) for p in values_path):
        return []
    prefix = f"{chart}/templates/" if chart != "." else "templates/"
    out: list[tuple[str, int]] = []
    for rel in rels:
        if not rel.startswith(prefix):
            continue
        try:
            text = reading.read_text(root / rel, root=root)
        except (OSError, UnicodeDecodeError):
            continue
        out.extend((rel, text.count("\n", 0, m.start()) + 1) for m in _VALUES_REF.finditer(text)
                   if _related(tuple(m.group(1)[1:].split(".")), vp))
    return out


def reason_for(g: ArgoGraph, root: Path, rels: Sequence[str], f: Any) -> str | None:
    """The follow-up for a finding in a file Argo CD reads, when the usual rewrite would leave a
    consumer reading nothing (None: the usual path applies)."""
    if f.kind in APP_KINDS or not f.key_path:
        return None
    in_env = (f.env_name is not None and f.key_path[-1] == "value" and len(f.key_path) >= 2
              and isinstance(f.key_path[-2], int))
    whole = f.whole and f.style not in ("literal", "folded", "embedded", "text", "comment")
    why = reason(g, f.path, f.key_path, whole, in_env)
    if why is not None or in_env or not whole:
        return why
    p = PurePosixPath(f.path)
    chart = str(p.parent)
    if not _VALUES_NAME.fullmatch(p.name) or not g.deploying(chart):
        return None
    app = g.deploying(chart)[0][0]
    key = ".".join(str(k) for k in f.key_path)
    reads = _chart_template_reads(g, root, rels, chart, f.key_path)
    if not reads:
        override = [r for r in g.reads if r.source is not None and chart in r.source.paths
                    and r.chart_key is not None and tuple(r.chart_key) == tuple(
                        str(k) for k in f.key_path)]
        by = (f" (Application {override[0].app} sets it from {override[0].expr} at "
              f"{override[0].template}:{override[0].line})") if override else ""
        return (f"no template of chart {chart} reads .Values.{key}{by}: not rewritten (a "
                "reference no one reads changes nothing); delete it by hand once Doppler holds it")
    t, line = reads[0]
    return (f"{t}:{line} reads .Values.{key} (chart {chart}, deployed by Argo CD Application "
            f"{app.name}): not rewritten alone (the template would render an empty value); make "
            "the chart read it from a Secret, then rewrite both")


def render_reads(text: str, values: Any) -> dict[tuple[int, int], str | None]:
    """A text-level render of a template's `.Values.x.y` reads: (line, column) of each action
    that reads a value -> what it renders (None: a key no longer holding a value). Enough to
    show that a rewrite left no field of a rendered Application empty."""
    out: dict[tuple[int, int], str | None] = {}
    _, tokens = tokenize(text)
    for t in tokens:
        if t.appset:
            continue
        for vp in _VALUES_REF.findall(t.expr):
            node = _get(values, vp[1:].split("."))
            ok = node is not None and not (isinstance(node, Mapping) and not node) \
                and node != ""
            out[(t.line, t.column)] = str(node) if ok else None
    return out


def rendered_exprs(text: str, values: Any) -> list[tuple[str, str | None]]:
    """(`.Values.x.y`, what it renders) for each read of a template, in order."""
    _, tokens = tokenize(text)
    out: list[tuple[str, str | None]] = []
    for t in tokens:
        if t.appset:
            continue
        for vp in _VALUES_REF.findall(t.expr):
            out.append((".Values" + vp, render_reads("{{ .Values" + vp + " }}", values)
                        .get((1, 1))))
    return out
