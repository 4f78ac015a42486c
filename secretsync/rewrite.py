"""Surgical rewrites: splice new text into the original at parser spans, check, write atomically.

As pre-commit's yaml_rewrite does, the original text is edited in place (never round-tripped
through a dumper), edits applied from the end backwards so earlier offsets stay valid. Every edited
file is parsed again and must hold exactly the scalars intended. Files are written through a temp
file and `os.replace` with their mode kept; if anything fails every file is restored.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from secretsync.detection import KeyPath
from secretsync.documents import ParsedFile, Scalar, decode, parse_yaml
from secretsync.errors import RewriteError

_BLOCK_PREFIX = re.compile(r"^[ \t]*(?:-[ \t]+)*$")


@dataclass(frozen=True, slots=True)
class Splice:
    """Replace `text[start:end]` (character offsets) with `new`. `new` never holds a value."""

    start: int
    end: int
    new: str
    removes: tuple[tuple[int, KeyPath], ...] = ()
    """(document, key path) of scalars this edit removes."""
    adds: tuple[tuple[int, KeyPath, str], ...] = ()
    """(document, key path, value) of scalars it adds."""


def newline_of(text: str) -> str:
    """The file's line ending: CRLF when its first line ending is one."""
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def line_prefix(text: str, pos: int) -> str:
    """Text between the start of `pos`'s line and `pos`."""
    return text[text.rfind("\n", 0, pos) + 1 : pos]


def _block_ok(text: str, key_start: int) -> bool:
    """Can a block mapping start at this key? Only when the key begins its line (after `- `)."""
    return bool(_BLOCK_PREFIX.match(line_prefix(text, key_start)))


def _indent(text: str, key_start: int) -> str:
    return " " * len(line_prefix(text, key_start).expandtabs(1))


def ref_splice(text: str, sc: Scalar, key: str, fields: Mapping[str, str], *, doc: int) -> Splice:
    """Replace `key: <value>` by `key:` holding a nested mapping of `fields`.

    `fields` maps dotted sub-paths (`secretKeyRef.name`) to plain-safe strings (names only).
    Block style when the key starts its line, flow style inside flow collections.
    """
    if sc.key_start is None or sc.key_end is None:
        raise RewriteError(f"{sc.ctx.path}:{sc.line}: the value has no key to rewrite")
    tree: dict[str, object] = {}
    for dotted_path, val in fields.items():
        node = tree
        parts = dotted_path.split(".")
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            assert isinstance(child, dict)
            node = child
        node[parts[-1]] = val
    nl = newline_of(text)
    if _block_ok(text, sc.key_start):
        pad = _indent(text, sc.key_start)
        lines = [f"{key}:"]

        def emit(node: Mapping[str, object], depth: int) -> None:
            for k, v in node.items():
                if isinstance(v, Mapping):
                    lines.append(f"{pad}{'  ' * depth}{k}:")
                    emit(v, depth + 1)
                else:
                    lines.append(f"{pad}{'  ' * depth}{k}: {v}")

        emit(tree, 1)
        new = nl.join(lines)
    else:
        def flow(node: Mapping[str, object]) -> str:
            return "{" + ", ".join(
                f"{k}: {flow(v) if isinstance(v, Mapping) else v}" for k, v in node.items()
            ) + "}"

        new = f"{key}: {flow(tree)}"
    parent = sc.ctx.key_path[:-1]
    adds = tuple((doc, (*parent, key, *p.split(".")), v) for p, v in fields.items())
    return Splice(sc.key_start, sc.end, new, ((doc, sc.ctx.key_path),), adds)


def apply_splices(text: str, splices: Sequence[Splice]) -> str:
    """Edit `text` at every splice, from the end backwards; overlapping splices are a bug."""
    ordered = sorted(splices, key=lambda s: (s.start, s.end))
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise RewriteError("two edits overlap in one file; nothing was changed")
    out = text
    for s in reversed(ordered):
        out = out[: s.start] + s.new + out[s.end :]
    return out


def _meaning(pf: ParsedFile) -> Counter[tuple[int, KeyPath, str]]:
    return Counter(
        (s.doc, s.ctx.key_path, s.value)
        for s in pf.scalars
        if s.style not in ("embedded", "comment", "text")
    )


MAX_ALIAS_NODES = 1_000_000
"""Nodes the aliases of one file may stand for once resolved (scan never resolves them)."""


def check_aliases(rel: str, text: str) -> None:
    """Compose the documents as a loader would, without building them: every alias must name an
    anchor defined before it in its document, and the nodes aliases stand for are counted, so an
    alias bomb fails fast (the event walk that checks meaning never resolves aliases)."""
    size: dict[str, int] = {}
    opened: list[tuple[str | None, int]] = []
    nodes = via_alias = 0
    try:
        for ev in YAML(typ="safe", pure=True).parse(text):
            if isinstance(ev, DocumentStartEvent):
                size.clear()
            elif isinstance(ev, AliasEvent):
                if ev.anchor not in size:
                    raise RewriteError(f"{rel}: the edited file would use an alias whose anchor "
                                       "it no longer defines; nothing was changed")
                nodes += size[ev.anchor]
                via_alias += size[ev.anchor]
                if via_alias > MAX_ALIAS_NODES:
                    raise RewriteError(f"{rel}: the edited file's aliases stand for more than "
                                       f"{MAX_ALIAS_NODES} nodes; nothing was changed")
            elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
                opened.append((ev.anchor, nodes))
                nodes += 1
            elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)) and opened:
                anchor, first = opened.pop()
                if anchor is not None:
                    size[anchor] = nodes - first
            elif isinstance(ev, ScalarEvent):
                nodes += 1
                if ev.anchor is not None:
                    size[ev.anchor] = 1
    except YAMLError:
        raise RewriteError(f"{rel}: the edited file would not parse as YAML; nothing was changed"
                           ) from None


def check_meaning(rel: str, before: ParsedFile, after_text: str, splices: Sequence[Splice]) -> None:
    """The edited text must compose (every alias resolved, within limits) and hold the original
    scalars minus the removed plus the added. Messages name places, never values."""
    check_aliases(rel, after_text)
    try:
        after = parse_yaml(rel, after_text)
    except YAMLError:
        raise RewriteError(f"{rel}: the edited file would not parse as YAML; nothing was changed"
                           ) from None
    removed = {(d, kp) for s in splices for d, kp in s.removes}
    expected = Counter(
        {k: n for k, n in _meaning(before).items() if (k[0], k[1]) not in removed}
    )
    for s in splices:
        for d, kp, v in s.adds:
            expected[(d, kp, v)] += 1
    got = _meaning(after)
    if got != expected:
        diff = sorted({".".join(map(str, k[1])) for k in (got - expected) + (expected - got)})
        raise RewriteError(
            f"{rel}: the edited file does not mean what was intended (at {', '.join(diff[:5])}); "
            "nothing was changed"
        )


def encode(text: str, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def edit_bytes(rel: str, data: bytes, before: ParsedFile, splices: Sequence[Splice]) -> bytes:
    """The file's new bytes, checked. `before` is the parse of `data`."""
    text, bom, warning = decode(data)
    if warning:
        raise RewriteError(f"{rel}: not UTF-8; not rewritten")
    after = apply_splices(text, splices)
    check_meaning(rel, before, after, [s for s in splices if s.removes or s.adds])
    return encode(after, bom)


@dataclass(frozen=True, slots=True)
class FileChange:
    """New content for `rel` (relative to the root); `new_file` when it must not exist yet."""

    rel: str
    data: bytes
    new_file: bool = False


_TEMP_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0))


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A new, empty, private file beside `name` in `directory`: a random name, created with
    O_EXCL and O_NOFOLLOW, so nothing planted there (a file, a symlink) is ever written through."""
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(8)}.secretsync"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(directory))


def atomic_write(path: Path, data: bytes, mode: int | None = 0o644) -> None:
    """Replace `path` by `data` all at once: a temp file in its directory, fsync, rename.
    `mode=None` keeps the temp file private (0600)."""
    fd, tmp = _create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_atomic_write = atomic_write  # write_all's writer, looked up per call (tests fault it)


def write_all(root: Path, changes: Iterable[FileChange]) -> None:
    """Write every change or none: on any failure restore each file already written (and remove
    new ones), then re-raise."""
    changes = list(changes)
    saved: list[tuple[Path, bytes | None, int | None]] = []
    real_root = root.resolve()
    for ch in changes:
        path = root / ch.rel
        if not path.parent.resolve().is_relative_to(real_root):
            raise RewriteError(f"{ch.rel}: its directory is a symlink out of the tree; "
                               "nothing was changed")
        if ch.new_file:
            if path.exists():
                raise RewriteError(f"{ch.rel} already exists; nothing was changed")
            saved.append((path, None, None))
        else:
            st = path.stat()
            saved.append((path, path.read_bytes(), st.st_mode & 0o7777))
    done: list[tuple[Path, bytes | None, int | None]] = []
    try:
        for ch, (path, old, mode) in zip(changes, saved, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            done.append((path, old, mode))
            _atomic_write(path, ch.data, mode if mode is not None else 0o644)
    except BaseException:
        for path, old, mode in reversed(done):
            try:
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    _atomic_write(path, old, mode)
            except OSError:
                pass
        raise


def unified_diff(rel: str, before: bytes, after: bytes) -> str:
    """A reviewable diff of one file (the caller guarantees `after` holds no value)."""
    import difflib

    a = before.decode("utf-8", "replace").splitlines(keepends=True)
    b = after.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, f"a/{rel}" if before else "/dev/null", f"b/{rel}", n=2)
    return "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines)
