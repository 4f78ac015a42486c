"""argo-chart: a value an Argo CD Application feeds to a third-party chart through a values file
of the tree, which the chart's recipe says it can read from a Secret (INJECTION.md §4, §5).
Argo CD cannot put Secret data into Helm values, but the chart can read a Secret itself, so:

    helm-values/monitoring/kube-prometheus-stack.yaml
      grafana:                                 grafana:
        adminPassword: Gr4...          ->        admin:
        admin:                                     existingSecret: kube-prometheus-stack-doppler
          existingSecret: ""                       userKey: admin-user ...
        grafana.ini:                             grafana.ini:
          server:                                  server: {}
            root_url: https://grafana.t...       envFromSecret: grafana-env-doppler
    manifests/credentials/secretsync-kube-prometheus-stack-doppler.yaml  (new ExternalSecret)
    manifests/credentials/secretsync-grafana-env-doppler.yaml  (GF_SERVER_ROOT_URL, templated)
    manifests/credentials/kustomization.yaml                    (+ resources entries)

The ExternalSecret goes where the tree's own ExternalSecrets already go: a directory that an
Application of the same app-of-apps deploys (`path:` source) and that holds ExternalSecrets (the
`credentials` Application of the examples, sync-wave 5, before every chart that reads them).
A Secret that an ExternalSecret of the tree already makes gets the missing keys appended to it.
Its namespace is the Application's destination namespace; its store is the one the tree's
ExternalSecrets in that directory use (else the environment's store). A part of a longer value
becomes an ESO template (`https://{{ .AUTH0_DOMAIN }}/authorize`) or, for Loki, `${VAR}`; a
quoted string of Alloy's configuration becomes `sys.env("NAME")`, and a line of oauth2-proxy's
`oauth2_proxy.cfg` leaves the file for an `OAUTH2_PROXY_<KEY>` variable.

Every hook field is written exactly as the chart reads it (recipes/*.yaml, verified per chart
version); a hook whose Secret would miss a key the chart then reads (`requires`) is not applied,
and the place stays with the reason. Nothing here prints or stores a value: values are replaced
by Doppler names before any text is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import manifests, reading
from secretsync.config import StoreRef
from secretsync.detection import KeyPath
from secretsync.documents import Document, ParsedFile, Scalar
from secretsync.errors import RewriteError
from secretsync.models import Finding
from secretsync.remediate import yamledit
from secretsync.remediate.argocd import App, ArgoGraph, Source
from secretsync.remediate.recipebook import (
    CFG_LINE,
    Hook,
    Recipe,
    dotted,
    fill,
    recipes,
    secret_key,
    split_path,
)
from secretsync.rewrite import FileChange, Splice, newline_of

NAME = "argo-chart"
_TOKENS = ("plain", "single", "double")
_CFG_LINE = CFG_LINE


@dataclass(frozen=True, slots=True)
class _Existing:
    """An ExternalSecret of the tree."""

    rel: str
    doc: int
    name: str
    namespace: str | None
    keys: Mapping[str, str]
    """Secret key -> Doppler name (remoteRef.key)."""
    store: tuple[str, str] | None
    template: bool
    generated: bool


@dataclass(frozen=True, slots=True)
class _Key:
    """A key the Secret must hold: from one Doppler secret, an ESO template, or fixed text."""

    remote: str | None = None
    template: str | None = None


@dataclass(slots=True)
class Wired:
    splices: dict[str, list[Splice]] = field(default_factory=dict)
    new_files: list[FileChange] = field(default_factory=list)
    manifests: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]] = field(
        default_factory=list)
    """(path, Secret, environments, stores, action, content) of each ExternalSecret written."""
    edits: list[tuple[str, int, int, str, str | None, str | None, str | None, Finding | None]] = \
        field(default_factory=list)
    """(path, line, column, description, key path, Secret, key, finding)."""
    taken: set[int] = field(default_factory=set)
    fed: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = field(default_factory=dict)
    """(values file, chart values path) -> (Secret, ESO composition of the value it now
    feeds): a template line of an app-of-apps that set the same field can go (argo-recipe).
    A variable the app now reads from the Secret is keyed ("env", NAME)."""
    touched: set[str] = field(default_factory=set)
    """ExternalSecret files already edited or written (one edit each per run)."""
    followups: dict[int, str] = field(default_factory=dict)
    """id(finding) -> why the recipe could not be applied here (replaces the generic reason)."""


@dataclass(slots=True)
class _Secret:
    namespace: str
    name: str
    keys: dict[str, _Key] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    rel: str
    doc: int
    app: App
    src: Source
    recipe: Recipe
    items: list[tuple[Finding, Hook]] = field(default_factory=list)


@dataclass(slots=True)
class _Edits:
    """What one values document's rewrite needs, collected before anything is built."""

    namespace: str
    values: Mapping[str, Any]
    recipe: Recipe
    scalars: list[tuple[Scalar, list[Finding], Hook]]
    pf: ParsedFile
    secrets: dict[str, _Secret] = field(default_factory=dict)
    river: dict[int, tuple[Scalar, list[tuple[Scalar, str, str]]]] = field(default_factory=dict)
    """Block scalar (by start) -> the quoted strings of its configuration text to replace."""
    lines: dict[int, tuple[Scalar, list[tuple[int, int, str]]]] = field(default_factory=dict)
    """Block scalar (by start) -> the lines of its configuration text to remove."""
    deletes: list[Scalar] = field(default_factory=list)
    splices: list[Splice] = field(default_factory=list)
    sets: dict[KeyPath, Any] = field(default_factory=dict)
    appends: dict[KeyPath, list[Any]] = field(default_factory=dict)
    used: list[Hook] = field(default_factory=list)
    env_fed: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Variable the app reads -> (Secret, ESO composition of its value) (cfg_env lines)."""


class _Skip(Exception):
    """This group cannot be wired: the message is the follow-up for its places."""


def plan(g: ArgoGraph, root: Path, rels: Sequence[str], findings: Sequence[Finding],
         parsed: Callable[[str], ParsedFile | None], stores: Mapping[str, StoreRef],
         schema_dir: Path | None) -> Wired:
    out = Wired()
    existing = _existing(rels, parsed)
    groups: dict[tuple[str, int, str, int], _Group] = {}
    for f in findings:
        found = _candidate(g, f)
        if found is None:
            continue
        app, src, r, h = found
        key = (f.path, f.doc, app.file + "#" + app.name, app.sources.index(src))
        groups.setdefault(key, _Group(f.path, f.doc, app, src, r)).items.append((f, h))
    dirs: dict[str, list[str]] = {}
    for key in sorted(groups):
        grp = groups[key]
        try:
            _Wire(g, root, rels, parsed, stores, schema_dir, existing, out, dirs,
                  findings).run(grp)
        except _Skip as e:
            for f, _h in grp.items:
                out.followups[id(f)] = _head(grp) + str(e)
    _list_new(parsed, set(rels), dirs, out)
    return out


def _head(grp: _Group) -> str:
    ns = f", namespace {grp.app.namespace}" if grp.app.namespace else ""
    return (f"values file of Argo CD Application {grp.app.name} ({grp.src.label}{ns}): the "
            f"{grp.recipe.chart} recipe cannot be applied here: ")


def _candidate(g: ArgoGraph, f: Finding) -> tuple[App, Source, Recipe, Hook] | None:
    if not f.key_path or f.kind is not None or f.style not in (*_TOKENS, "embedded", "literal"):
        return None
    cons = [(a, s) for a, s in g.consumers(f.path) if s.chart]
    if not cons:
        return None
    app, src = cons[0]
    if any((s.chart, s.version, a.namespace) != (src.chart, src.version, app.namespace)
           for a, s in cons[1:]):
        return None
    r = recipes().get(src.chart or "")
    if r is None or not r.covers(src.version):
        return None
    h = r.hook(f.key_path)
    never = r.never_reads(f.key_path) if h is None else None
    if never is not None:
        # Nothing to feed: the value goes (like unread.py does in the tree's own charts).
        h = Hook(f"chart {r.chart} never reads it", (), {"unread": never})
    if h is None or not h.covers(src.version):
        return None
    if never is not None:
        return app, src, r, h
    if (f.style == "embedded") != bool(h.raw.get("river_env")) or \
            (f.style == "literal") != bool(h.raw.get("cfg_env")):
        return None
    if h.raw.get("env_list") and f.key_path[-1] == "value":
        return None  # an env list entry: the usual env-ref rewrite
    return app, src, r, h


def _existing(rels: Sequence[str], parsed: Callable[[str], ParsedFile | None]
              ) -> list[_Existing]:
    out: list[_Existing] = []
    for rel in rels:
        if not rel.endswith((".yaml", ".yml")) or "/templates/" in f"/{rel}":
            continue
        pf = parsed(rel)
        if pf is None or "ExternalSecret" not in pf.text:
            continue
        docs = _load(pf.text)
        for d in pf.documents:
            loaded = docs[d.index] if d.index < len(docs) else None
            if d.kind != "ExternalSecret" or not isinstance(loaded, Mapping):
                continue
            meta = loaded.get("metadata") or {}
            spec = loaded.get("spec") or {}
            target = spec.get("target") or {}
            name = target.get("name") or meta.get("name")
            if not isinstance(name, str):
                continue
            keys: dict[str, str] = {}
            for item in spec.get("data") or []:
                ref = item.get("remoteRef") if isinstance(item, Mapping) else None
                if isinstance(ref, Mapping):
                    keys[str(item.get("secretKey"))] = str(ref.get("key"))
            tpl = target.get("template") if isinstance(target, Mapping) else None
            for k in (tpl or {}).get("data") or {}:
                keys[str(k)] = ""
            ref = spec.get("secretStoreRef") or {}
            store = (str(ref.get("kind")), str(ref.get("name"))) if ref.get("name") else None
            ns = meta.get("namespace")
            out.append(_Existing(
                rel, d.index, name, ns if isinstance(ns, str) else None, keys, store,
                tpl is not None, pf.text.startswith(manifests.GENERATED_MARK)))
    return out


def _load(text: str) -> list[Any]:
    try:
        return reading.load_all(text)
    except Exception:  # not YAML: nothing to wire
        return []


def _get(values: Any, path: Sequence[object]) -> Any:
    for p in path:
        if isinstance(values, Mapping) and isinstance(p, str):
            values = values.get(p)
        elif isinstance(values, list) and isinstance(p, int) and p < len(values):
            values = values[p]
        else:
            return None
    return values


def _split(dotted_path: str) -> KeyPath:
    return tuple(split_path(dotted_path))


def _template(text: str, parts: Sequence[Finding]) -> str:
    """`text` with each found value as `{{ .NAME }}` and every other `{{` escaped."""
    marks: dict[str, str] = {}
    for i, f in enumerate(sorted(parts, key=lambda x: -len(x.value))):
        mark = f"\x00{i}\x00"
        text = text.replace(f.value, mark)
        marks[mark] = "{{ ." + f.suggested_name + " }}"
    text = text.replace("{{", '{{ "{{" }}')
    for mark, action in marks.items():
        text = text.replace(mark, action)
    return text


def _literal(text: str) -> str:
    return text.replace("{{", '{{ "{{" }}')


def _scalar_text(value: str, style: str) -> str:
    """A token for `value` (names and `${VAR}` only) in the scalar's own quoting."""
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    return manifests._scalar(value)


class _Wire:
    """Wire one (values file document, Application source)."""

    def __init__(self, g: ArgoGraph, root: Path, rels: Sequence[str],
                 parsed: Callable[[str], ParsedFile | None], stores: Mapping[str, StoreRef],
                 schema_dir: Path | None, existing: Sequence[_Existing],
                 out: Wired, dirs: dict[str, list[str]], findings: Sequence[Finding]) -> None:
        self.g, self.root, self.rels, self.parsed = g, root, rels, parsed
        self.stores, self.schema_dir, self.everything = stores, schema_dir, existing
        self.existing: dict[tuple[str | None, str], _Existing] = {}
        self.dirs_of: dict[str, list[_Existing]] = {}
        self.out, self.dirs, self.all = out, dirs, findings

    def _scope(self, grp: _Group) -> None:
        """The ExternalSecrets deployed by Applications of the same app-of-apps (another copy
        of the tree has its own), by (namespace, name) and by deploying directory."""
        for app in self.g.apps:
            if app.rendered_by != grp.app.rendered_by or (
                    app.rendered_by is None and PurePosixPath(app.file).parent !=
                    PurePosixPath(grp.app.file).parent):
                continue
            for s in app.sources:
                for d in ([] if s.chart else s.paths):
                    held = [e for e in self.everything
                            if str(PurePosixPath(e.rel).parent) == d or
                            (s.recurse and e.rel.startswith(d + "/"))]
                    if held:
                        self.dirs_of[d] = held
                    for e in held:
                        self.existing.setdefault((e.namespace, e.name), e)

    def run(self, grp: _Group) -> None:
        self._scope(grp)
        pf = self.parsed(grp.rel)
        doc = next((d for d in pf.documents if d.index == grp.doc), None) if pf else None
        docs = _load(pf.text) if pf is not None else []
        if pf is None or doc is None or grp.doc >= len(docs) or \
                not isinstance(docs[grp.doc], Mapping):
            raise _Skip("the values file could not be read again: move it by hand")
        values = docs[grp.doc]
        chart = f"chart {grp.src.chart} {grp.src.version or ''}".strip()
        if grp.app.namespace is None:
            raise _Skip(f"Application {grp.app.name}'s destination namespace is templated: "
                        f"create the Secret {chart} reads by hand")
        # A path several hooks take (one per deployment mode): the one these values select.
        grp.items[:] = [(f, (grp.recipe.hook(f.key_path, values) or h)
                         if h in grp.recipe.hooks else h) for f, h in grp.items]
        for _f, h in grp.items:
            if not h.holds(values):
                raise _Skip(f"the hook ({h.how}) needs {h.raw.get('when') or {}} and none of "
                            f"{h.raw.get('unless') or []} in this values file: move it by hand")
        ed = _Edits(grp.app.namespace, values, grp.recipe, self._scalars(pf, grp), pf)
        for sc, parts, h in ed.scalars:
            self._move(ed, sc, parts, h)
        for h in ed.used:
            self._settings(ed, h, chart)
        failed: dict[int, str] = {}
        for name, sec in ed.secrets.items():
            hooks = [h for h in ed.used if self._secret_name(values, grp.recipe, h) == name]
            try:
                self._requires(chart, sec, self.existing.get((sec.namespace, name)), hooks)
            except _Skip as e:
                failed.update((id(f), str(e)) for f in sec.findings)
        if failed:
            # The other Secrets of this values file do not depend on this one: go on without.
            for f, _h in grp.items:
                if id(f) in failed:
                    self.out.followups[id(f)] = _head(grp) + failed[id(f)]
            rest = [(f, h) for f, h in grp.items if id(f) not in failed]
            try:
                if rest:
                    self.run(_Group(grp.rel, grp.doc, grp.app, grp.src, grp.recipe, rest))
            except _Skip as e:
                for f, _h in rest:
                    self.out.followups[id(f)] = _head(grp) + str(e)
            return
        # Everything checked: build the edits (a failure below still leaves no partial plan).
        file_splices = self._values_edits(pf, doc, ed)
        planned = [self._secret(grp, sec) for _n, sec in sorted(ed.secrets.items())]
        self._commit(grp, ed, file_splices, planned)

    def _move(self, ed: _Edits, sc: Scalar, parts: list[Finding], h: Hook) -> None:
        """What moving one scalar's value(s) through hook `h` edits and needs in the Secret."""
        if h.raw.get("unread"):
            ed.deletes.append(sc)
            return
        if h not in ed.used:
            ed.used.append(h)
        name = self._secret_name(ed.values, ed.recipe, h)
        sec = ed.secrets.setdefault(name, _Secret(ed.namespace, name))
        sec.findings.extend(parts)
        kp = sc.ctx.key_path
        whole = len(parts) == 1 and parts[0].whole and parts[0].value == sc.value
        key = secret_key(h, kp, parts[0].suggested_name)
        raw = h.raw
        if raw.get("cfg_env"):
            self._cfg_lines(ed, sec, sc, parts, h)
            return
        if raw.get("river_env"):
            # An embedded string is never `whole` (it is part of the block): the string is.
            self._river(ed, sec, sc, parts[0], len(parts) == 1 and parts[0].value == sc.value,
                        _split(str(raw["river_env"])))
            return
        if raw.get("expand_env"):
            if "$" in sc.value:
                raise _Skip(f"{dotted(kp)} already holds a `$`: Loki's -config.expand-env "
                            "would expand it; move it by hand")
            new = sc.value
            for f in sorted(parts, key=lambda x: -len(x.value)):
                new = new.replace(f.value, "${" + f.suggested_name + "}")
                sec.keys[f.suggested_name] = _Key(remote=f.suggested_name)
            ed.splices.append(Splice(sc.start, sc.end, _scalar_text(new, sc.style),
                                     ((sc.doc, kp),), ((sc.doc, kp, new),)))
            return
        if not raw.get("template"):
            sec.keys[key] = _Key(remote=parts[0].suggested_name) if whole else \
                _Key(template=_template(sc.value, parts))
        elif not whole:
            raise _Skip(f"{dotted(kp)} is part of a longer value, and the chart reads it inside "
                        f"{', '.join(raw['template'])}: move it by hand")
        if raw.get("files"):
            fname = str(raw["files"].get(kp[-1], f"{kp[-1]}_file"))
            path = f"/etc/alertmanager/secrets/{name}/{key}"
            if sc.key_start is None:
                raise _Skip(f"{dotted(kp)}: no key to rename: move it by hand")
            ed.splices.append(Splice(sc.key_start, sc.end, f"{fname}: {path}", ((sc.doc, kp),),
                                     ((sc.doc, (*kp[:-1], fname), path),)))
        else:
            ed.deletes.append(sc)
        if raw.get("env_list"):
            ed.appends.setdefault(_split(str(raw["env_list"])), []).append(
                {"name": str((raw.get("env") or {}).get(dotted(kp)) or key),
                 "valueFrom": {"secretKeyRef": {"name": name, "key": key}}})

    @staticmethod
    def _river(ed: _Edits, sec: _Secret, sc: Scalar, f: Finding, whole: bool,
               block_kp: KeyPath) -> None:
        """A whole quoted string of the Alloy configuration text becomes sys.env("NAME")."""
        text = ed.pf.text
        blk = next((s for s in ed.pf.scalars if s.doc == sc.doc and s.ctx.key_path == block_kp
                    and s.style == "literal" and s.start <= sc.start < s.end), None)
        quoted = '"' + f.value + '"'
        if blk is None or not whole or text[sc.start - 1:sc.end + 1] != quoted or \
                blk.value.count(quoted) != 1:
            raise _Skip(f"{dotted(sc.ctx.key_path)} is not a whole quoted string of the "
                        f"configuration block {dotted(block_kp)} (written once): move it by hand")
        sec.keys[f.suggested_name] = _Key(remote=f.suggested_name)
        ed.river.setdefault(blk.start, (blk, []))[1].append((sc, f.suggested_name, quoted))

    @staticmethod
    def _cfg_lines(ed: _Edits, sec: _Secret, blk: Scalar, parts: list[Finding], h: Hook) -> None:
        """A `key = "value"` (or `key = [ "value" ]`) line of a configuration block goes; the
        app reads the same setting from <prefix><KEY> (oauth2-proxy: env over the file)."""
        text = ed.pf.text
        by_line: dict[int, list[Finding]] = {}
        for f in parts:
            by_line.setdefault(text.rfind("\n", 0, f.start) + 1, []).append(f)
        for ls, fs in sorted(by_line.items()):
            le = text.find("\n", ls)
            le = len(text) if le < 0 else le
            line = text[ls:le]
            m = _CFG_LINE.fullmatch(line)
            inside = m is not None and all(
                ls + m.start("v") <= f.start and f.end <= ls + m.end("v") for f in fs)
            if m is None or not inside or bool(m.group("open")) != bool(m.group("close")) or \
                    [x for x in blk.value.split("\n") if x.strip() == line.strip()] != \
                    [line.strip()]:
                raise _Skip(f"a line of {dotted(blk.ctx.key_path)} is not `key = \"...\"` (or a "
                            "one-item list) written once: move it by hand")
            var = str(h.raw["cfg_env"]) + m.group("key").upper()
            sec.keys[var] = _Key(template=_template(m.group("v"), fs)) if (
                len(fs) > 1 or fs[0].value != m.group("v")) else _Key(remote=fs[0].suggested_name)
            ed.env_fed[var] = (sec.name, _template(m.group("v"), fs))
            ed.lines.setdefault(blk.start, (blk, []))[1].append((ls, le, line.strip()))
            ed.appends.setdefault(_split(str(h.raw["env_list"])), []).append(
                {"name": var, "valueFrom": {"secretKeyRef": {"name": sec.name, "key": var}}})

    def _settings(self, ed: _Edits, h: Hook, chart: str) -> None:
        """The hook's fixed keys and the values fields it sets (`{secret}` filled in)."""
        name = self._secret_name(ed.values, ed.recipe, h)
        sec = ed.secrets[name]
        self._templated(h, sec, ed.scalars, chart)
        for k, text in (h.raw.get("literal") or {}).items():
            sec.keys.setdefault(str(k), _Key(template=_literal(str(text))))
        for path, v in (h.raw.get("set") or {}).items():
            kp = _split(str(path))
            value = fill(v, name)
            if isinstance(value, list):
                ed.appends.setdefault(kp, []).extend(value)
            else:
                ed.sets[kp] = value

    def _commit(self, grp: _Group, ed: _Edits, file_splices: list[Splice],
                planned: Sequence[tuple[str, str, Any]]) -> None:
        self.out.splices.setdefault(grp.rel, []).extend(file_splices)
        for kind, rel, payload in planned:
            if payload:
                self.out.touched.add(rel)
            if kind == "append":
                self.out.splices.setdefault(rel, []).extend(payload)
            elif kind == "new":
                d, fname, content, secret, store = payload
                self.dirs.setdefault(d, []).append(fname)
                envs = tuple(sorted({e for f in ed.secrets[secret].findings
                                     for e in f.environments}))
                self.out.new_files.append(FileChange(rel, content.encode(), new_file=True))
                self.out.manifests.append((rel, secret, envs, (store,), "add", content))
        for var, fed in ed.env_fed.items():
            self.out.fed[(grp.rel, ("env", var))] = fed
        for sc, parts, h in ed.scalars:
            # A value the chart never reads is only deleted: no Secret, nothing fed.
            name = None if h.raw.get("unread") else self._secret_name(ed.values, ed.recipe, h)
            key = secret_key(h, sc.ctx.key_path, parts[0].suggested_name) if name else ""
            if name is not None:
                self.out.fed[(grp.rel, tuple(str(k) for k in sc.ctx.key_path))] = (
                    name, _template(sc.value, parts))
            for f in parts:
                self.out.taken.add(id(f))
                text = (f"{f.key_path_dotted} deleted (Doppler {f.suggested_name}; "
                        f"{h.raw['unread']})" if name is None else
                        f"{f.key_path_dotted} -> Secret {ed.namespace}/{name} key {key} "
                        f"({h.how.replace('{secret}', name)})")
                self.out.edits.append((f.path, f.line, f.column, text, f.key_path_dotted, name,
                                       f.suggested_name, f))

    # -- checks -------------------------------------------------------------------------
    def _scalars(self, pf: ParsedFile, grp: _Group) -> list[tuple[Scalar, list[Finding], Hook]]:
        """Each scalar with the findings in it; every finding in a scalar must be moved."""
        out: list[tuple[Scalar, list[Finding], Hook]] = []
        by_kp: dict[KeyPath, list[tuple[Finding, Hook]]] = {}
        for f, h in grp.items:
            by_kp.setdefault(f.key_path, []).append((f, h))
        for kp, items in sorted(by_kp.items(), key=lambda kv: kv[1][0][0].start):
            if items[0][1].raw.get("unread"):
                out.append(self._unread(pf, grp, [f for f, _h in items], items[0][1]))
                continue
            river = bool(items[0][1].raw.get("river_env"))
            cfg = bool(items[0][1].raw.get("cfg_env"))
            sc = next((s for s in pf.scalars if s.doc == grp.doc and s.ctx.key_path == kp
                       and (s.style in _TOKENS or (river and s.style == "embedded"
                                                   and s.start == items[0][0].start)
                            or (cfg and s.style == "literal"))), None)
            if sc is None or ("\n" in sc.value and not cfg):
                raise _Skip(f"{dotted(kp)} is not a one-line value: move it by hand")
            others = [f for f in self.all if f.path == grp.rel and f.doc == grp.doc
                      and f.key_path == kp and all(f is not g for g, _h in items)]
            if others:
                raise _Skip(f"{dotted(kp)} also holds a value this recipe does not move")
            parts = [f for f, _h in items]
            if any(f.value not in sc.value or not f.suggested_name for f in parts):
                raise _Skip(f"{dotted(kp)}: the value is not written as found: move it by hand")
            out.append((sc, parts, items[0][1]))
        return out

    def _unread(self, pf: ParsedFile, grp: _Group, parts: list[Finding], h: Hook
                ) -> tuple[Scalar, list[Finding], Hook]:
        """The value of the values file that holds `parts` (a configuration text the chart
        never reads goes whole, with every value in it)."""
        f = parts[0]
        sc = next((s for s in pf.scalars if s.doc == grp.doc and s.style in (*_TOKENS, "literal",
                                                                             "folded")
                   and s.start <= f.start < s.end + (s.style in _TOKENS)
                   and s.ctx.key_path == f.key_path[:len(s.ctx.key_path)]), None)
        if sc is None or not sc.ctx.key_path or grp.recipe.never_reads(sc.ctx.key_path) is None:
            raise _Skip(f"{dotted(f.key_path)} is not a value of the file: delete it by hand")
        inside = [g for g in self.all if g.path == grp.rel and g.doc == grp.doc
                  and sc.start <= g.start < sc.end + 1]
        if any(all(g is not p for p in parts) for g in inside):
            raise _Skip(f"{dotted(sc.ctx.key_path)} also holds a value not planned with it")
        return sc, parts, h

    def _templated(self, h: Hook, sec: _Secret,
                   scalars: Sequence[tuple[Scalar, list[Finding], Hook]], chart: str) -> None:
        """Keys a hook renders from several values (cloudflare credentials.json): kept when an
        ExternalSecret of the tree already makes them, else templated from Doppler names."""
        have = self.existing.get((sec.namespace, sec.name))
        moved = {dotted(sc.ctx.key_path): parts[0].suggested_name
                 for sc, parts, hh in scalars if hh is h}
        for k, tpl in (h.raw.get("template") or {}).items():
            if have is not None and str(k) in have.keys:
                continue
            text = str(tpl)
            for path, remote in moved.items():
                text = text.replace("{{ ." + path + " }}", "{{ ." + remote + " }}")
            left = [p for p in h.patterns if "{{ ." + p + " }}" in text]
            if left:
                raise _Skip(f"{chart} reads {k} of Secret {sec.namespace}/{sec.name} "
                            f"({h.how.replace('{secret}', sec.name)}), which also needs "
                            f"{', '.join(left)}; this values file does not hold them: create "
                            "that Secret by hand")
            sec.keys[str(k)] = _Key(template=text)

    def _secret_name(self, values: Mapping[str, Any], r: Recipe, h: Hook) -> str:
        """The Secret the values already name in the hook's field, else the recipe's."""
        for path, v in (h.raw.get("set") or {}).items():
            if v == "{secret}":
                have = _get(values, _split(str(path)))
                if isinstance(have, str) and have and "{{" not in have:
                    return have
        return r.secret_of(h)

    def _requires(self, chart: str, sec: _Secret, have: _Existing | None,
                  hooks: Sequence[Hook]) -> None:
        for h in hooks:
            need = [str(k) for k in h.raw.get("requires") or ()]
            held = set(sec.keys) | set(have.keys if have else {}) | \
                {str(k) for k in h.raw.get("literal") or {}}
            missing = [k for k in need if k not in held]
            if missing:
                raise _Skip(f"{chart} then reads keys {', '.join(missing)} of Secret "
                            f"{sec.namespace}/{sec.name} ({h.how.replace('{secret}', sec.name)}), "
                            "and neither this values file nor an ExternalSecret of the tree "
                            "provides them: create that Secret by hand")
        if have is None:
            return
        for k, v in sec.keys.items():
            if k in have.keys and (v.remote is None or have.keys[k] != v.remote):
                raise _Skip(f"ExternalSecret {have.rel} already makes key {k} of Secret "
                            f"{sec.namespace}/{sec.name} from another source: reconcile by hand")
        if have.template and any(v.template is not None for v in sec.keys.values()):
            raise _Skip(f"ExternalSecret {have.rel} renders a template: add the keys "
                        f"{', '.join(sorted(sec.keys))} by hand")

    # -- edits -------------------------------------------------------------------------
    def _values_edits(self, pf: ParsedFile, doc: Document, ed: _Edits) -> list[Splice]:
        values, deletes, sets, appends = ed.values, ed.deletes, ed.sets, ed.appends
        out = list(ed.splices)
        for blk, gone in ed.lines.values():
            kept = [x for x in blk.value.split("\n") if x.strip() not in {g for *_, g in gone}]
            if not any(x.strip() for x in kept):
                raise _Skip(f"{dotted(blk.ctx.key_path)} would be left empty: move it by hand")
            for i, (ls, le, _g) in enumerate(sorted(gone)):
                out.append(Splice(ls, min(le + 1, len(pf.text)), "",
                                  ((blk.doc, blk.ctx.key_path),),
                                  ((blk.doc, blk.ctx.key_path, "\n".join(kept)),) if i == 0
                                  else ()))
        for blk, subs in ed.river.values():
            new = blk.value
            for _sc, name, quoted in subs:
                new = new.replace(quoted, f'sys.env("{name}")')
            for i, (sc, name, _q) in enumerate(sorted(subs, key=lambda x: x[0].start)):
                out.append(Splice(sc.start - 1, sc.end + 1, f'sys.env("{name}")',
                                  ((blk.doc, blk.ctx.key_path),),
                                  ((blk.doc, blk.ctx.key_path, new),) if i == 0 else ()))
        if deletes:
            sps = yamledit.delete_keys(pf, doc, deletes)
            if sps is None:
                raise _Skip("the inline value could not be removed (not block style): move it "
                            "by hand")
            out.extend(sps)
        inserts: dict[KeyPath, dict[str, Any]] = {}
        for kp, value in sets.items():
            have = _get(values, kp)
            if have == value:
                continue
            if have is not None and not isinstance(have, Mapping | list):
                held = next((s for s in pf.scalars if s.doc == doc.index
                             and s.ctx.key_path == kp and s.style in _TOKENS), None)
                if held is None:
                    raise _Skip(f"{dotted(kp)} is not a plain value: set it by hand")
                out.append(Splice(held.start, held.end, _scalar_text(str(value), held.style),
                                  ((held.doc, kp),), ((held.doc, kp, str(value)),)))
                continue
            if have is not None:
                raise _Skip(f"{dotted(kp)} holds a mapping or list: set it by hand")
            self._nest(values, kp, value, inserts)
        for kp, items in appends.items():
            have = _get(values, kp)
            todo = [i for i in dict.fromkeys(_freeze(x) for x in items)]
            todo_items = [_thaw(x) for x in todo if have is None or _thaw(x) not in have]
            if not todo_items:
                continue
            if isinstance(have, list):
                sp = yamledit.append_items(pf, doc, kp, len(have), todo_items) if have else None
                if sp is None:
                    raise _Skip(f"{dotted(kp)} is not a block list: add the entries by hand")
                out.append(sp)
            elif have is None:
                self._nest(values, kp, todo_items, inserts)
            else:
                raise _Skip(f"{dotted(kp)} is not a list: add the entries by hand")
        out.extend(self._inserts(pf, doc, inserts))
        return out

    @staticmethod
    def _inserts(pf: ParsedFile, doc: Document, inserts: Mapping[KeyPath, dict[str, Any]]
                 ) -> list[Splice]:
        """One splice per mapping that gains keys (they all land at its end)."""
        out: list[Splice] = []
        for parent, tree in sorted(inserts.items()):
            merged: Splice | None = None
            for k, v in tree.items():
                sp = yamledit.insert_key(pf, doc, parent, k, v)
                if sp is None:
                    raise _Skip(f"{dotted(parent) or 'the top level'} is not a block mapping: "
                                f"set {k} by hand")
                if merged is None:
                    merged = sp
                else:
                    nl = newline_of(pf.text)
                    merged = Splice(merged.start, merged.end,
                                    merged.new + sp.new.lstrip(nl) if sp.new.startswith(nl)
                                    and merged.new.endswith(nl) else merged.new + sp.new,
                                    (), merged.adds + sp.adds)
            if merged is not None:
                out.append(merged)
        return out

    @staticmethod
    def _nest(values: Mapping[str, Any], kp: KeyPath, value: Any,
              inserts: dict[KeyPath, dict[str, Any]]) -> None:
        """Plan `kp: value` under the deepest mapping of `kp` that exists."""
        i = len(kp) - 1
        while i > 0 and not isinstance(_get(values, kp[:i]), Mapping):
            i -= 1
        node = inserts.setdefault(kp[:i], {})
        for k in kp[i:-1]:
            node = node.setdefault(str(k), {})
        node[str(kp[-1])] = value

    # -- ExternalSecrets ------------------------------------------------------------------
    def _secret(self, grp: _Group, sec: _Secret) -> tuple[str, str, Any]:
        have = self.existing.get((sec.namespace, sec.name))
        if have is not None:
            todo = {k: v for k, v in sec.keys.items() if k not in have.keys}
            if not todo:
                return "append", have.rel, []
            if have.rel in self.out.touched:
                raise _Skip(f"{have.rel} already gets other keys in this run: plan again after "
                            "apply")
            pf = self.parsed(have.rel)
            doc = next((d for d in pf.documents if d.index == have.doc), None) if pf else None
            docs = _load(pf.text) if pf else []
            if pf is None or doc is None:
                raise _Skip(f"{have.rel} could not be read again: add the keys by hand")
            data = (docs[have.doc].get("spec") or {}).get("data") or []
            items = [{"secretKey": k, "remoteRef": {"key": v.remote}} for k, v in
                     sorted(todo.items())]
            sp = yamledit.append_items(pf, doc, ("spec", "data"), len(data), items) if data \
                else None
            if sp is None:
                raise _Skip(f"ExternalSecret {have.rel}: spec.data is not a block list: add "
                            f"{', '.join(sorted(todo))} by hand")
            changed = dict(docs[have.doc])
            changed["spec"] = dict(changed["spec"])
            changed["spec"]["data"] = [*data, *items]
            self._check(changed, have.rel)
            return "append", have.rel, [sp]
        d, store = self._place(grp, sec)
        fname = f"secretsync-{sec.name}.yaml"
        rel = f"{d}/{fname}" if d != "." else fname
        if (self.root / rel).exists() or rel in self.out.touched:
            raise _Skip(f"{rel} already exists: add the ExternalSecret by hand")
        es = _external_secret(sec, store)
        self._check(es, rel)
        content = manifests.render(es, comment=f"Secret {sec.namespace}/{sec.name} that chart "
                                   f"{grp.src.chart} reads (Argo CD Application {grp.app.name}), "
                                   "from Doppler")
        return "new", rel, (d, fname, content, sec.name, f"{store.kind}/{store.name}")

    def _check(self, doc: Mapping[str, Any], where: str) -> None:
        problems = manifests.validate_manifest(doc, self.schema_dir)
        if problems:
            raise RewriteError(f"{where}: generated ExternalSecret is invalid: "
                               + "; ".join(problems))

    def _place(self, grp: _Group, sec: _Secret) -> tuple[str, StoreRef]:
        """The directory of ExternalSecrets an Application of the same app-of-apps deploys,
        and the store those ExternalSecrets read."""
        best: tuple[tuple[int, int, str], str, list[_Existing]] | None = None
        for d, held in self.dirs_of.items():
            same_ns = sum(1 for e in held if e.namespace == sec.namespace)
            rank = (-same_ns, -len(held), d)
            if best is None or rank < best[0]:
                best = (rank, d, held)
        if best is None:
            raise _Skip(f"no directory that an Application of {grp.app.rendered_by or 'the tree'}"
                        " deploys holds ExternalSecrets: add one (a `path:` source, e.g. "
                        "manifests/credentials) or create the Secret "
                        f"{sec.namespace}/{sec.name} by hand")
        _rank, d, held = best
        used = {e.store for e in held if e.store}
        if len(used) == 1:
            kind, name = next(iter(used))
            return d, StoreRef(kind, name)
        envs = {e for f in sec.findings for e in f.environments}
        refs = {self.stores[e] for e in envs if e in self.stores}
        if len(refs) == 1 and len(envs) == len([e for e in envs if e in self.stores]):
            return d, next(iter(refs))
        raise _Skip(f"the ExternalSecrets in {d} read different stores, and the environments "
                    f"{', '.join(sorted(envs)) or '(none)'} do not name one: create the Secret "
                    f"{sec.namespace}/{sec.name} by hand")


def _freeze(x: Any) -> Any:
    if isinstance(x, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, list):
        return ("__list__", tuple(_freeze(v) for v in x))
    return x


def _thaw(x: Any) -> Any:
    if isinstance(x, tuple) and x and x[0] == "__list__":
        return [_thaw(v) for v in x[1]]
    if isinstance(x, tuple):
        return {k: _thaw(v) for k, v in x}
    return x


def _external_secret(sec: _Secret, store: StoreRef) -> dict[str, Any]:
    remotes = sorted({v.remote for v in sec.keys.values() if v.remote} |
                     {f.suggested_name for f in sec.findings
                      if any(v.template and "{{ ." + f.suggested_name + " }}" in v.template
                             for v in sec.keys.values())})
    target: dict[str, Any] = {"name": sec.name, "creationPolicy": "Owner"}
    if any(v.template is not None for v in sec.keys.values()):
        # Every key through the template, so the Secret holds exactly what the chart reads.
        target["template"] = {"engineVersion": "v2", "data": {
            k: (v.template if v.template is not None else "{{ ." + str(v.remote) + " }}")
            for k, v in sorted(sec.keys.items())}}
        data = [{"secretKey": r, "remoteRef": {"key": r}} for r in remotes]
    else:
        data = [{"secretKey": k, "remoteRef": {"key": str(v.remote)}}
                for k, v in sorted(sec.keys.items())]
    return {
        "apiVersion": manifests.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": sec.name, "namespace": sec.namespace},
        "spec": {"refreshInterval": "1h",
                 "secretStoreRef": {"kind": store.kind, "name": store.name},
                 "target": target, "data": data},
    }


def _list_new(parsed: Callable[[str], ParsedFile | None], rels: set[str],
              dirs: Mapping[str, list[str]], out: Wired) -> None:
    """List new manifests in their directory's kustomization (a plain directory needs none)."""
    from secretsync.walk import KUSTOMIZATION_NAMES

    for d, names in sorted(dirs.items()):
        kust = next((k for n in KUSTOMIZATION_NAMES
                     if (k := (f"{d}/{n}" if d != "." else n)) in rels), None)
        if kust is None:
            continue
        pf = parsed(kust)
        assert pf is not None
        docs = _load(pf.text)
        loaded = docs[0] if docs and isinstance(docs[0], Mapping) else {}
        have = [str(x) for x in loaded.get("resources") or []]
        todo = [n for n in names if n not in have]
        if not todo or not pf.documents:
            continue
        doc = pf.documents[0]
        sp = (yamledit.append_items(pf, doc, ("resources",), len(have), todo) if have
              else yamledit.insert_key(pf, doc, (), "resources", todo))
        if sp is None:
            raise RewriteError(f"{kust}: cannot list {', '.join(todo)} in resources (not block "
                               "style)")
        out.splices.setdefault(kust, []).append(sp)
        out.edits.append((kust, 1, 1, f"resources += {', '.join(todo)}", None,
                          ", ".join(todo), None, None))
