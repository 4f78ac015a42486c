"""Parse each file once into scalars that know their key path, line, column and exact span.

YAML goes through ruamel.yaml's event stream (its C parser when installed): no node graph is
built and aliases are never expanded, so an alias bomb costs nothing and a value is reported
where it is written. Block scalars that hold another format (cloudflared YAML, JSON, HCL, INI,
dotenv) are looked into, each inner value mapped back to its real place in the file. A Helm
template, or a file that does not parse, falls back to text lines: never to silence.

All offsets are character offsets into `ParsedFile.text` (the decoded file without its BOM).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from secretsync.detection import Context, KeyPath

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UPPER_ENV_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
MAX_DEPTH = 100
"""Deeper YAML is read as text lines (real GitOps files nest a dozen levels)."""
_STYLES = {None: "plain", "": "plain", "'": "single", '"': "double", "|": "literal", ">": "folded"}


@dataclass(frozen=True, slots=True)
class Scalar:
    """One value in a file. `text[start:end]` is its token as written (quotes included)."""

    value: str = field(repr=False)
    ctx: Context
    start: int
    end: int
    line: int
    column: int
    style: str
    """plain, single, double, literal, folded; `embedded` inside a block scalar; `text` from a
    file read as lines; `comment` for the text of a YAML comment; `key` for a mapping key."""
    doc: int = 0
    key_start: int | None = None
    """Span of the mapping key token this value belongs to (for rewrites)."""
    key_end: int | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    index: int
    kind: str | None
    api_version: str | None
    name: str | None
    start: int
    end: int
    paths: frozenset[KeyPath]
    """Every key path written in the document, containers included."""
    seq_paths: frozenset[KeyPath]
    """The key paths that hold a sequence (Helm and JSON merge replace these whole)."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    rel: str
    text: str = field(repr=False)
    bom: bool
    scalars: tuple[Scalar, ...]
    documents: tuple[Document, ...]
    fallback: str | None = None
    """Why the file was read as text lines instead of YAML, if it was."""
    keys: tuple[Scalar, ...] = ()
    """Mapping keys that could hold a value (`<tunnel-id>.json`, `grafana.<tailnet>.ts.net`):
    scanned like values, kept apart from `scalars` (which the rewrite and verify walk)."""

    def lines(self) -> list[str]:
        return self.text.split("\n")


class LineIndex:
    """Offset <-> (line, column), both 1-based."""

    __slots__ = ("starts",)

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def pos(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1


def decode(data: bytes) -> tuple[str, bool, str | None]:
    """Text, whether a UTF-8 BOM was there, and a warning when the bytes were not UTF-8."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        return data.decode("utf-8"), bom, None
    except UnicodeDecodeError:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                return data.decode("utf-16"), False, "UTF-16 file read as text"
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1"), bom, "not valid UTF-8; read as Latin-1 text"


# A value scalar as the event walk first sees it: value, key path, token span, style, tag,
# key token span, and its parent frame (for siblings such as an env entry's `name`).
_Record = tuple[str, KeyPath, int, int, str, "str | None", "tuple[int, int] | None", "_Frame"]


class _Frame:
    __slots__ = ("entries", "expect_key", "index", "is_key", "key_span", "kind", "path",
                 "pending", "pending_span")

    def __init__(self, kind: str, path: KeyPath, is_key: bool = False) -> None:
        self.kind = kind
        self.path = path
        self.is_key = is_key
        self.expect_key = True
        self.pending: str | None = None
        self.pending_span: tuple[int, int] | None = None
        self.index = 0
        self.entries: dict[str, str] = {}
        self.key_span: tuple[int, int] | None = None


# `&anchor` and `!tag` properties (any order, any count) before a node's token.
_PROPERTIES = re.compile(r"(?:[&!][^\s,\[\]{}]*[ \t]+(?:\r?\n[ \t]*)?)+")

# A mapping key worth scanning: long enough, and not a bare identifier (`replicaCount`).
_KEYLIKE = re.compile(r"[.:/@\-0-9]")
_MIN_KEY = 8

_CParser: Any
try:
    from ruamel.yaml import cyaml

    _CParser = cyaml.CParser  # type: ignore[attr-defined]
except ImportError:  # no ruamel.yaml.clib: the pure-Python parser, same events
    _CParser = None


def events(text: str) -> Iterator[Any]:
    """The YAML event stream of `text`. ruamel.yaml.clib's C parser is used directly when it
    is installed: `YAML.parse` builds a loader class per call and wraps each event in a
    generator step, which cost as much as the parsing itself (same events, same errors)."""
    if _CParser is None:
        yield from YAML(typ="safe", pure=True).parse(text)
        return
    parser = _CParser(text)
    try:
        yield from iter(parser.get_event, None)  # None after the stream's end
    finally:
        parser.dispose()


def parse_yaml(rel: str, text: str, bom: bool = False) -> ParsedFile:
    """Parse YAML text. Raises ruamel's YAMLError when it does not parse."""
    idx = LineIndex(text)
    scalars: list[Scalar] = []
    docs: list[Document] = []
    # Per document: raw records, resolved into Scalars once `kind` and siblings are known.
    records: list[_Record] = []
    stack: list[_Frame] = []
    paths: set[KeyPath] = set()
    seq_paths: set[KeyPath] = set()
    doc_index = -1
    doc_start = 0

    def child_path(top: _Frame) -> KeyPath:
        if top.kind == "map":
            return (*top.path, top.pending if top.pending is not None else "?")
        return (*top.path, top.index)

    def after_value(top: _Frame) -> None:
        if top.kind == "map":
            top.expect_key = True
            top.pending = None
            top.pending_span = None
        else:
            top.index += 1

    for ev in events(text):
        if isinstance(ev, ScalarEvent):
            top = stack[-1] if stack else None
            if top is not None and top.kind == "map" and top.expect_key:
                top.pending = ev.value
                top.pending_span = (ev.start_mark.index, ev.end_mark.index)
                top.expect_key = False
                if len(ev.value) >= _MIN_KEY and _KEYLIKE.search(ev.value) and ev.anchor is None:
                    records.append((ev.value, top.path, ev.start_mark.index, ev.end_mark.index,
                                    "key", ev.tag, None, top))
                continue
            if top is not None and top.is_key:
                continue
            path: KeyPath = child_path(top) if top is not None else ()
            paths.add(path)
            if top is not None and top.kind == "map" and top.pending is not None:
                top.entries[top.pending] = ev.value
            start = ev.start_mark.index
            if ev.anchor is not None or (ev.tag is not None and text[start:start + 1] == "!"):
                # The event starts at its properties (`&anchor`, `!tag`); the span is the
                # value's token alone, so a rewrite keeps the anchor and the tag.
                m = _PROPERTIES.match(text, start, ev.end_mark.index)
                if m:
                    start = m.end()
            records.append((ev.value, path, start, ev.end_mark.index,
                            _STYLES.get(ev.style, "plain"), ev.tag,
                            top.pending_span if top is not None and top.kind == "map" else None,
                            top if top is not None else _Frame("map", ())))
            if top is not None:
                after_value(top)
        elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                # Key paths grow with depth: unbounded nesting costs quadratic time and memory.
                raise MarkedYAMLError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                      problem_mark=ev.start_mark)
            kind = "map" if isinstance(ev, MappingStartEvent) else "seq"
            top = stack[-1] if stack else None
            if top is not None and (top.is_key or (top.kind == "map" and top.expect_key)):
                # A complex key: its contents are never values we report.
                stack.append(_Frame(kind, (), is_key=True))
                continue
            path = child_path(top) if top is not None else ()
            paths.add(path)
            if kind == "seq":
                seq_paths.add(path)
            frame = _Frame(kind, path)
            if top is not None and top.kind == "map":
                frame.key_span = top.pending_span
            stack.append(frame)
        elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
            done = stack.pop()
            top = stack[-1] if stack else None
            if done.is_key:
                if top is not None and not top.is_key and top.kind == "map" and top.expect_key:
                    top.pending = "?"
                    top.expect_key = False
                continue
            if top is not None and not top.is_key:
                after_value(top)
            elif top is None:
                root = done
                _finish_doc(rel, text, idx, doc_index, doc_start, ev.end_mark.index, root,
                            records, scalars, docs, paths, seq_paths)
                records = []
                paths = set()
                seq_paths = set()
        elif isinstance(ev, AliasEvent):
            top = stack[-1] if stack else None
            if top is None or top.is_key:
                continue
            if top.kind == "map" and top.expect_key:
                top.pending = "*"
                top.expect_key = False
                continue
            after_value(top)
        elif isinstance(ev, DocumentStartEvent):
            doc_index += 1
            doc_start = ev.start_mark.index
        elif isinstance(ev, DocumentEndEvent) and records:
            # A document that is a lone scalar.
            _finish_doc(rel, text, idx, doc_index, doc_start, ev.end_mark.index, _Frame("map", ()),
                        records, scalars, docs, paths, seq_paths)
            records = []
            paths = set()
            seq_paths = set()
    keys = [s for s in scalars if s.style == "key"]
    scalars = [s for s in scalars if s.style != "key"]
    scalars.extend(_comments(rel, text, idx, scalars))
    return ParsedFile(rel, text, bom, tuple(scalars), tuple(docs), keys=tuple(keys))


def _finish_doc(
    rel: str,
    text: str,
    idx: LineIndex,
    doc_index: int,
    doc_start: int,
    doc_end: int,
    root: _Frame,
    records: list[_Record],
    out: list[Scalar],
    docs: list[Document],
    paths: set[KeyPath],
    seq_paths: set[KeyPath],
) -> None:
    kind = root.entries.get("kind")
    api = root.entries.get("apiVersion")
    name = None
    for value, path, _s, _e, style, *_ in records:
        if path == ("metadata", "name") and style != "key":
            name = value
            break
    docs.append(Document(doc_index, kind, api, name, doc_start, doc_end,
                         frozenset(paths), frozenset(seq_paths)))
    for value, path, start, end, style, tag, kspan, frame in records:
        key = next((k for k in reversed(path) if isinstance(k, str)), None)
        env_name = entry_name = None
        if style == "key":
            pass  # a key names no environment variable
        elif key == "value" and frame.kind == "map":
            n = frame.entries.get("name")
            if n is not None and ENV_NAME_RE.match(n):
                env_name = n
            elif n:
                entry_name = n
        elif key is not None and UPPER_ENV_RE.match(key) and path and path[-1] == key:
            env_name = key
        ctx = Context(key=key, key_path=path, env_name=env_name, kind=kind, api_version=api,
                      path=rel, entry_name=entry_name)
        line, col = idx.pos(start)
        out.append(Scalar(value, ctx, start, end, line, col, style, doc_index,
                          kspan[0] if kspan else None, kspan[1] if kspan else None, tag))
        if style in ("literal", "folded") or (style in ("single", "double") and "\n" in value):
            out.extend(_embedded(value, ctx, start, end, text, idx, doc_index, style))


# Inner `key: value`, `key = "value"`, `KEY=value`, `"key": "value"` lines of a block scalar,
# commented out too (`# password: x` in an nginx or HCL config is still a leaked value), and an
# INI key of two words (`api key = ...` in Netdata's stream.conf).
_INNER = re.compile(
    r"""(?m)^[ \t]*(?:(?:\#|//|;)[ \t]*)?(?:-[ \t]+)?(?:export[ \t]+)?
        (?:"(?P<qk>[^"\n]{1,100})"|(?P<k>[A-Za-z_][A-Za-z0-9_.\-/]{0,100})
          |(?P<k2>[A-Za-z_][A-Za-z0-9_]{0,50}[ ][A-Za-z_][A-Za-z0-9_]{0,50})(?=[ \t]*=))
        [ \t]*(?P<op>[:=])[ \t]*
        (?:"(?P<dq>(?:[^"\\\n]|\\.){1,2000})"|'(?P<sq>[^'\n]{1,2000})'|(?P<bare>[^\s"'#;,{}\[\]][^\s#;,{}\[\]]{0,2000}))""",
    re.X,
)
_JSON_PAIR = re.compile(
    r'"(?P<k>[^"\n]{1,100})"[ \t]*:[ \t]*'
    r'(?:"(?P<v>(?:[^"\\\n]|\\.){1,2000})"|(?P<n>-?\d{5,20}))'
)


def _embedded_format(value: str, key: str | None) -> str:
    head = value.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    # [ \t], not \s: a whitespace class that crosses lines makes these quadratic on blank lines.
    if re.search(r"(?m)^[ \t]*\[[^\]\n]+\][ \t]*\r?$", value):
        return "ini"
    if (re.search(r'(?m)^[ \t]*[A-Za-z_][\w.]*+[ \t]*=[ \t]*"', value)
            or re.search(r"(?m)\{[ \t]*\r?$", value)):
        return "hcl"
    if re.search(r"(?m)^(?:export[ \t]+)?[A-Z_][A-Z0-9_]*+=", value):
        return "dotenv"
    if (key and "cloudflared" in key.lower()) or re.search(r"(?m)^tunnel:\s", value):
        return "cloudflared"
    return "yaml"


def _embedded(
    value: str,
    outer: Context,
    start: int,
    end: int,
    text: str,
    idx: LineIndex,
    doc: int,
    style: str,
) -> Iterator[Scalar]:
    fmt = _embedded_format(value, outer.key)
    seen: set[int] = set()
    vlines = value.split("\n")
    vstarts = [0]
    for ln in vlines[:-1]:
        vstarts.append(vstarts[-1] + len(ln) + 1)
    header_line = idx.pos(start)[0] - 1  # 0-based line of the `|` indicator

    def locate(off: int, length: int) -> int:
        """File offset of value[off:off+length]."""
        if style == "literal":
            i = bisect.bisect_right(vstarts, off) - 1
            fl_no = header_line + 1 + i
            if fl_no + 1 < len(idx.starts) + 1 and fl_no < len(idx.starts):
                ls = idx.starts[fl_no]
                le = idx.starts[fl_no + 1] - 1 if fl_no + 1 < len(idx.starts) else len(text)
                fl = text[ls:le].rstrip("\r")
                vl = vlines[i]
                if vl and fl.endswith(vl):
                    return ls + len(fl) - len(vl) + (off - vstarts[i])
        found = text.find(value[off : off + length], start, end)
        return found if found >= 0 else start

    matches: list[tuple[str, int, int]] = []
    for m in _INNER.finditer(value):
        k = m.group("qk") or m.group("k") or m.group("k2")
        for g in ("dq", "sq", "bare"):
            if m.group(g) is not None:
                matches.append((k, m.start(g), m.end(g)))
                break
    if fmt == "json":
        for m in _JSON_PAIR.finditer(value):
            g = "v" if m.group("v") is not None else "n"
            matches.append((m.group("k"), m.start(g), m.end(g)))
        if '"templating"' in value:
            # First: a value's place is taken once, and the variable's name says more.
            matches[:0] = list(_dashboard_variables(value))
    for k, s, e in matches:
        if s in seen:
            continue
        seen.add(s)
        inner_value = value[s:e]
        env = k if fmt == "dotenv" or UPPER_ENV_RE.match(k) else None
        ctx = Context(key=k, key_path=(*outer.key_path, k), env_name=env, kind=outer.kind,
                      api_version=outer.api_version, path=outer.path, embedded=fmt)
        fs = locate(s, e - s)
        line, col = idx.pos(fs)
        yield Scalar(inner_value, ctx, fs, fs + (e - s), line, col, "embedded", doc)


def _dashboard_variables(value: str) -> Iterator[tuple[str, int, int]]:
    """A Grafana dashboard's variables, each value keyed by the variable's name: a constant
    `accountTag` variable holds the account id under `query`, `current.value` and `options`,
    where a key alone says nothing."""
    try:
        doc = json.loads(value)
    except ValueError:
        return
    templating = doc.get("templating") if isinstance(doc, dict) else None
    variables = templating.get("list") if isinstance(templating, dict) else None
    for var in variables if isinstance(variables, list) else ():
        name = var.get("name") if isinstance(var, dict) else None
        if not isinstance(name, str) or not name:
            continue
        current = var.get("current")
        options = var.get("options")
        held = [var.get("query"), *(current.values() if isinstance(current, dict) else ()),
                *(o.get("value") for o in (options if isinstance(options, list) else ())
                  if isinstance(o, dict))]
        for text in {h for h in held if isinstance(h, str) and len(h) >= 4}:
            token = json.dumps(text)
            pos = value.find(token)
            while pos >= 0:
                yield name, pos + 1, pos + len(token) - 1
                pos = value.find(token, pos + 1)


# `#` at a line's start or after a blank; the check looks back from after the `#` so that re
# can skip from one `#` to the next (a pattern that starts with a look-behind is tried at
# every position of the file).
_COMMENT = re.compile(r"#(?<![^ \t\n]#)(?P<body>[^\n]*)")


def _comments(rel: str, text: str, idx: LineIndex, scalars: list[Scalar]) -> Iterator[Scalar]:
    """The text of YAML comments: old values are often commented out, not removed."""
    if "#" not in text:
        return
    spans = sorted((s.start, s.end) for s in scalars if s.style != "embedded")
    starts = [s for s, _ in spans]
    for m in _COMMENT.finditer(text):
        pos = m.start()
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and spans[i][0] <= pos < spans[i][1]:
            continue  # a `#` inside a scalar
        body = m.group("body")
        stripped = body.strip()
        if len(stripped) < 6 or stripped.startswith("secretsync:"):
            continue
        bstart = m.start("body") + (len(body) - len(body.lstrip()))
        key = None
        km = re.match(r"([A-Za-z_][\w.\-]*)\s*[:=]\s*", stripped)
        if km and km.end() < len(stripped):
            # `# password: x` holds `x` under `password`: the key is context, not value.
            key = km.group(1)
            bstart += km.end()
            stripped = stripped[km.end():]
            if len(stripped) > 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
                # `# token: "x"`: the value is what the quotes hold, as it would be uncommented.
                stripped = stripped[1:-1]
                bstart += 1
        line, col = idx.pos(bstart)
        ctx = Context(key=key, key_path=(key,) if key else (), path=rel, embedded="comment")
        yield Scalar(stripped, ctx, bstart, bstart + len(stripped), line, col, "comment")


# Text fallback: `key: value` lines, keys nested by indentation, list items as one more level.
# Possessive quantifiers and no lazy group before a whitespace run: linear on any line
# (`- - - ... x` once cost quadratic time); trailing blanks are stripped by the caller.
_TEXT_LINE = re.compile(
    r"""^(?P<indent>[ \t]*+(?:-[ \t]+)*+)"""
    r"""(?P<key>[^\s:#"'{}][^:#]*+|"[^"]+"[ \t]*+|'[^']+'[ \t]*+):(?:[ \t]++(?P<val>.*))?\r?$"""
)


_TEMPLATE_LITERAL = re.compile(r'"([^"\\{}\n]{6,})"')


def parse_text(rel: str, text: str, bom: bool, reason: str) -> ParsedFile:
    """Read a file as lines. Context comes from `key: value` shapes and indentation."""
    idx = LineIndex(text)
    out: list[Scalar] = []
    stack: list[tuple[int, str]] = []
    names: dict[int, str] = {}
    offset = 0
    for raw in text.split("\n"):
        line_start = offset
        offset += len(raw) + 1
        m = _TEXT_LINE.match(raw)
        if not m:
            body = raw.strip()
            if len(body) >= 6:
                lead = len(raw) - len(raw.lstrip())
                if body.startswith("- "):
                    body = body[2:].strip()
                    lead = raw.index(body, lead)
                pos = line_start + lead
                line, col = idx.pos(pos)
                path = tuple(k for _, k in stack)
                ctx = Context(key=stack[-1][1] if stack else None, key_path=path, path=rel,
                              text_fallback=True)
                out.append(Scalar(body, ctx, pos, pos + len(body), line, col, "text"))
            continue
        indent = len(m.group("indent"))
        key = m.group("key").strip().strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        val = m.group("val")
        if val is not None:
            val = val.removesuffix("\r").rstrip(" \t")
        path = (*(k for _, k in stack), key)
        if key == "name" and val:
            names[indent] = val.strip("\"'")
        if not val or (val.startswith(("|", ">")) and len(val) <= 3):
            if len(stack) < MAX_DEPTH:  # deeper keys keep the path so far (bounded cost)
                stack.append((indent, key))
            continue
        vstart = line_start + m.start("val")
        comment = re.search(r"[ \t]#", val)
        if comment and not val.startswith(("'", '"')):
            val = val[: comment.start()].rstrip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
            vstart += 1
        env = names.get(indent) if key == "value" else (key if UPPER_ENV_RE.match(key) else None)
        ctx = Context(key=key, key_path=path, env_name=env, path=rel, text_fallback=True)
        line, col = idx.pos(vstart)
        out.append(Scalar(val, ctx, vstart, vstart + len(val), line, col, "text"))
        if "{{" in val:
            # String literals inside a template expression (`default "..."`) are literals.
            for lit in _TEMPLATE_LITERAL.finditer(val):
                ls = vstart + lit.start(1)
                line, col = idx.pos(ls)
                out.append(Scalar(lit.group(1), ctx, ls, ls + len(lit.group(1)), line, col,
                                  "text"))
    return ParsedFile(rel, text, bom, tuple(out), (), fallback=reason)


def yaml_problem(exc: YAMLError) -> str:
    """A parse error described without echoing file content (it may hold a secret)."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, DuplicateKeyError):
            problem = "duplicate key"  # ruamel's message quotes both values
        return f"{problem}{where}"
    return type(exc).__name__


def parse(rel: str, data: bytes, *, template: bool = False) -> tuple[ParsedFile, list[str]]:
    """Parse a file's bytes. Returns the parsed file and warnings (never holding content)."""
    warnings: list[str] = []
    text, bom, enc_warning = decode(data)
    if enc_warning:
        warnings.append(f"{rel}: {enc_warning}")
        return parse_text(rel, text, bom, enc_warning), warnings
    if template:
        return parse_text(rel, text, bom, "Helm template"), warnings
    try:
        return parse_yaml(rel, text, bom), warnings
    except YAMLError as exc:
        reason = f"does not parse as YAML ({yaml_problem(exc)}); scanned as text lines"
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        reason = f"does not parse as YAML ({type(exc).__name__}); scanned as text lines"
    warnings.append(f"{rel}: {reason}")
    return parse_text(rel, text, bom, reason), warnings
