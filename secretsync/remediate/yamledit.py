"""Line-level edits of block-style YAML that the scalar splices of rewrite.py cannot express:
add a key under a mapping, append an item to a block sequence, delete a key, replace a whole
document. Each returns a `Splice` (text plus the scalars it removes and adds, so rewrite's
re-parse check still proves the file means what was intended). New text holds names only.

Only block style is handled (what GitOps manifests use); anything else returns None and the
caller turns the place into a follow-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from secretsync.detection import KeyPath
from secretsync.documents import Document, ParsedFile, Scalar
from secretsync.rewrite import Splice, line_prefix, newline_of

_KEY = re.compile(r"^( *)(?:- +)?([^\s#'\"][^:#]*?|'[^']*'|\"[^\"]*\"):(?:[ \t]|$)")


@dataclass(frozen=True, slots=True)
class Block:
    key_end: int
    """Offset just after `key:`."""
    child_indent: int
    end: int
    """Offset just after the block's last line (its newline included)."""
    seq: bool
    line_end: int
    """Offset of the end of the key's own line (before its newline)."""


def _lines(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(offset, offset after the newline, line without newline) for lines in [start, end)."""
    out = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos)
        stop = len(text) if nl < 0 else nl + 1
        out.append((pos, stop, text[pos:stop].rstrip("\r\n")))
        pos = stop
    return out


def _blank(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#") or s in ("---", "...")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _unquote(k: str) -> str:
    return k[1:-1] if len(k) >= 2 and k[0] == k[-1] and k[0] in "'\"" else k


def locate(text: str, doc: Document, path: KeyPath) -> Block | None:
    """The block of mapping key `path` (strings only) in `doc`; None if absent or not block
    style. `()` is the document's top level."""
    lines = _lines(text, doc.start, doc.end)
    lo, hi, indent = 0, len(lines), 0
    key_end = doc.start
    line_end = doc.start
    for depth, p in enumerate(path):
        found = None
        for i in range(lo, hi):
            _s, _e, line = lines[i]
            if _blank(line) or _indent(line) != indent:
                continue
            m = _KEY.match(line)
            if m and not line.lstrip().startswith("- ") and _unquote(m.group(2).strip()) == p:
                found = i
                break
        if found is None:
            return None
        start, _e, line = lines[found]
        colon = _KEY.match(line)
        assert colon is not None
        key_end = start + colon.end(0) - (1 if colon.group(0).endswith((" ", "\t")) else 0)
        line_end = start + len(line)
        rest = line[colon.end(0):].split("#", 1)[0].strip()
        if rest:
            return None  # flow style or a scalar: not a block
        j = found + 1
        child = None
        seq = False
        while j < hi:
            ln = lines[j][2]
            if _blank(ln):
                j += 1
                continue
            ind = _indent(ln)
            if child is None:
                if ind < indent or (ind == indent and not ln.lstrip().startswith("- ")):
                    break
                child = ind
                seq = ln.lstrip().startswith("- ")
            elif (ind < child or (ind == child and not seq and ln.lstrip().startswith("- "))
                  or (ind == indent and not (seq and ln.lstrip().startswith("- ")))):
                break
            j += 1
        if child is None:
            return None
        # Trailing blank/comment lines belong to what follows.
        while j > found + 1 and _blank(lines[j - 1][2]):
            j -= 1
        lo, hi, indent = found + 1, j, child
        if depth == len(path) - 1:
            return Block(key_end, child, lines[j - 1][1], seq, line_end)
    if not path:
        real = [ln for ln in lines if not _blank(ln[2])]
        if not real:
            return None
        return Block(doc.start, _indent(real[0][2]), real[-1][1], False, doc.start)
    return None


def emit(obj: Any, indent: int, nl: str) -> list[str]:
    """Block YAML lines for names-only data (mappings, lists of mappings, plain scalars)."""
    from secretsync.manifests import _scalar

    pad = " " * indent
    out: list[str] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if isinstance(v, Mapping | list) and v:
                out.append(f"{pad}{k}:")
                out.extend(emit(v, indent + 2, nl))
            elif isinstance(v, Mapping):
                out.append(f"{pad}{k}: {{}}")
            else:
                out.append(f"{pad}{k}: {_plain(v)}")
    else:
        for item in obj:
            sub = emit(item, indent + 2, nl) if isinstance(item, Mapping) else [
                f"{pad}  {_scalar(item)}"]
            first = sub[0]
            out.append(f"{pad}- {first[indent + 2:]}")
            out.extend(sub[1:])
    return out


def _plain(v: Any) -> str:
    from secretsync.manifests import _scalar

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return _scalar(v)


def flatten(obj: Any, prefix: KeyPath) -> list[tuple[KeyPath, str]]:
    """(key path, scalar text as parsed) for every scalar in names-only data."""
    out: list[tuple[KeyPath, str]] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            out.extend(flatten(v, (*prefix, str(k))))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(flatten(v, (*prefix, i)))
    elif isinstance(obj, bool):
        out.append((prefix, "true" if obj else "false"))
    else:
        out.append((prefix, str(obj)))
    return out


def insert_key(pf: ParsedFile, doc: Document, parent: KeyPath, key: str, value: Any,
               *, first: bool = False) -> Splice | None:
    """Add `key: value` at the end of the block mapping `parent` (`first`: at its start, so
    that it never meets another insertion at the end of a nested mapping)."""
    b = locate(pf.text, doc, parent)
    if b is None or b.seq:
        return None
    nl = newline_of(pf.text)
    lines = emit({key: value}, b.child_indent, nl)
    new = nl.join(lines) + nl
    at = b.end
    if first and parent:
        eol = pf.text.find("\n", b.line_end)
        at = len(pf.text) if eol < 0 else eol + 1
    if at > 0 and pf.text[at - 1] != "\n":
        new = nl + new
    adds = tuple((doc.index, kp, v) for kp, v in flatten(value, (*parent, key)))
    return Splice(at, at, new, (), adds)


def append_items(pf: ParsedFile, doc: Document, seq_path: KeyPath, have: int,
                 items: Sequence[Any]) -> Splice | None:
    """Append `items` to the block sequence at `seq_path`, which holds `have` items."""
    b = locate(pf.text, doc, seq_path)
    if b is None or not b.seq:
        return None
    nl = newline_of(pf.text)
    lines = emit(list(items), b.child_indent, nl)
    new = nl.join(lines) + nl
    at = b.end
    if at > 0 and pf.text[at - 1] != "\n":
        new = nl + new
    adds: list[tuple[int, KeyPath, str]] = []
    for i, item in enumerate(items):
        adds.extend((doc.index, kp, v) for kp, v in flatten(item, (*seq_path, have + i)))
    return Splice(at, at, new, (), tuple(adds))


def delete_keys(pf: ParsedFile, doc: Document, targets: Sequence[Scalar]) -> list[Splice] | None:
    """Remove each `key: value` (single-line scalars) of `targets` from the block mappings that
    hold them. A mapping left empty becomes `{}` (so Helm does not read null over the chart's
    defaults); a list item's first key hands its `- ` to the next key that stays."""
    by_parent: dict[KeyPath, list[Scalar]] = {}
    for sc in targets:
        by_parent.setdefault(sc.ctx.key_path[:-1], []).append(sc)
    out: list[Splice] = []
    text = pf.text
    for parent, scs in by_parent.items():
        children = {p for p in doc.paths if len(p) == len(parent) + 1 and p[:-1] == parent}
        gone = {sc.ctx.key_path for sc in scs}
        for sc in scs:
            if sc.key_start is None:
                return None
            eol = text.find("\n", _end(text, sc))
            eol = len(text) if eol < 0 else eol
            if text[sc.end:eol].split("#", 1)[0].strip():
                return None  # a multi-line value or flow style: not handled
        if children <= gone and parent and isinstance(parent[-1], str):
            sp = empty_mapping(pf, doc, parent, sorted(gone, key=str))
            if sp is None:
                return None
            out.append(sp)
            continue
        first = min(scs, key=lambda s: s.key_start or 0)
        assert first.key_start is not None
        prefix = line_prefix(text, first.key_start)
        if prefix.strip() == "-":
            sp = _delete_in_item(pf, first, gone, len(prefix))
            if sp is None:
                return None
            out.append(sp)
            rest = [s for s in scs if s is not first and not (sp.start <= (s.key_start or 0)
                                                              < sp.end)]
        else:
            rest = list(scs)
        for sc in rest:
            assert sc.key_start is not None
            pre = line_prefix(text, sc.key_start)
            if pre.strip():
                return None
            eol = text.find("\n", _end(text, sc))
            stop = len(text) if eol < 0 else eol + 1
            out.append(Splice(sc.key_start - len(pre), stop, "", ((sc.doc, sc.ctx.key_path),)))
    return out


def _end(text: str, sc: Scalar) -> int:
    """Where the scalar's text ends: a block scalar's span runs on over the blank lines
    after it, up to the next key."""
    if sc.style not in ("literal", "folded"):
        return sc.end
    return sc.start + len(text[sc.start:sc.end].rstrip())


def _delete_in_item(pf: ParsedFile, first: Scalar, gone: set[KeyPath], col: int
                    ) -> Splice | None:
    """Delete the first key of a `- key: v` item and every later key of the item in `gone`
    up to the first key that stays."""
    text = pf.text
    assert first.key_start is not None
    parent = first.ctx.key_path[:-1]
    removes: list[tuple[int, KeyPath]] = [(first.doc, first.ctx.key_path)]
    pos = text.find("\n", first.end)
    while pos >= 0:
        line_start = pos + 1
        nl = text.find("\n", line_start)
        line = text[line_start: len(text) if nl < 0 else nl].rstrip("\r")
        if _blank(line):
            pos = nl
            continue
        ind = _indent(line)
        if ind < col or (ind == col - 2 and line.lstrip().startswith("- ")):
            # The item ends: every key was removed.
            return Splice(first.key_start, _eol(text, first.end), "{}", tuple(removes))
        if ind > col:
            return None  # a multi-line value: not handled
        m = _KEY.match(line)
        if m is None:
            return None
        key = _unquote(m.group(2).strip())
        if (*parent, key) not in gone:
            return Splice(first.key_start, line_start + col, "", tuple(removes))
        removes.append((first.doc, (*parent, key)))
        pos = nl
    return Splice(first.key_start, _eol(text, first.end), "{}", tuple(removes))


def _eol(text: str, pos: int) -> int:
    e = text.find("\n", pos)
    e = len(text) if e < 0 else e
    return e - 1 if e > 0 and text[e - 1] == "\r" else e


def empty_mapping(pf: ParsedFile, doc: Document, path: KeyPath, removes: Sequence[KeyPath]
                  ) -> Splice | None:
    """Replace the whole block mapping at `path` by `{}` (every key in it is removed)."""
    b = locate(pf.text, doc, path)
    if b is None or b.seq:
        return None
    end = b.end
    nl_len = 2 if pf.text[end - 2:end] == "\r\n" else (1 if pf.text[end - 1:end] == "\n" else 0)
    return Splice(b.key_end, end - nl_len, " {}", tuple((doc.index, kp) for kp in removes))
