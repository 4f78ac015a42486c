"""Every read of a tree file and every whole-YAML load outside the scan goes through here, with
the scan's limits: the size limit (`walk.DEFAULT_MAX_BYTES`), regular files only, symlinks only
to targets inside the tree, and for YAML the nesting limit (`documents.MAX_DEPTH`) plus a bound
on what aliases and merge keys expand to (an alias bomb costs the scan nothing because it never
expands aliases; a loader that does must refuse one before building it).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)

from secretsync.documents import MAX_DEPTH
from secretsync.walk import DEFAULT_MAX_BYTES

MAX_EXPANDED_NODES = 100_000
"""Nodes a file may hold once its aliases are expanded, beyond twice the nodes written."""


class UnsafeFile(OSError):
    """A file the tree must not make us read: too large, not a regular file, or a symlink out
    of the tree. An OSError, so every caller that copes with an unreadable file copes."""


class YAMLLimit(YAMLError):
    """YAML refused before it is built: too large, too deep, or aliases expanding too far."""


def read_bytes(path: str | os.PathLike[str], *, root: Path | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A regular file's bytes, at most `max_bytes`; with `root`, only if it resolves inside."""
    if root is not None:
        real, top = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, top]) != top:
            raise UnsafeFile(errno.EACCES, "a symlink pointing outside the tree")
    # O_NONBLOCK: opening a fifo must not wait for a writer; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(errno.EINVAL, "not a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFile(errno.EFBIG, f"larger than the {max_bytes} byte limit")
        chunks: list[bytes] = []
        left = max_bytes + 1  # a file that grew since fstat is caught here
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise UnsafeFile(errno.EFBIG, f"larger than the {max_bytes} byte limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
              encoding: str = "utf-8-sig") -> str:
    """`read_bytes`, decoded (UnicodeDecodeError as usual)."""
    return read_bytes(path, root=root, max_bytes=max_bytes).decode(encoding)


_EVENTS = YAML(typ="safe", pure=False)


def check_yaml(text: str) -> None:
    """Raise YAMLLimit if loading `text` whole would build too much: measured on the event
    stream (linear, nothing expanded), each anchor's expanded size and height remembered so an
    alias costs what it would cost once built."""
    if len(text) > DEFAULT_MAX_BYTES:
        raise YAMLLimit(f"larger than the {DEFAULT_MAX_BYTES} byte limit")
    anchors: dict[str, tuple[int, int]] = {}
    open_anchors: set[str] = set()
    # Open collections: [expanded nodes, height below, anchor].
    stack: list[list[Any]] = []
    written = expanded = 0
    for ev in _EVENTS.parse(text):
        if isinstance(ev, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise YAMLLimit(f"nested deeper than {MAX_DEPTH} levels")
            stack.append([1, 0, ev.anchor])
            if ev.anchor is not None:
                open_anchors.add(ev.anchor)
            written += 1
            continue
        if isinstance(ev, ScalarEvent):
            nodes, height, anchor = 1, 0, ev.anchor
            written += 1
        elif isinstance(ev, AliasEvent):
            if ev.anchor in open_anchors:
                raise YAMLLimit("an alias inside its own anchor (a recursive structure)")
            nodes, height = anchors.get(ev.anchor, (1, 0))
            anchor = None
        elif isinstance(ev, CollectionEndEvent):
            nodes, height, anchor = stack.pop()
            if anchor is not None:
                open_anchors.discard(anchor)
        else:
            continue
        if anchor is not None:
            anchors[anchor] = (nodes, height)
        if len(stack) + height > MAX_DEPTH:
            raise YAMLLimit(f"aliases nest deeper than {MAX_DEPTH} levels")
        if stack:
            parent = stack[-1]
            parent[0] += nodes
            parent[1] = max(parent[1], height + 1)
            if parent[0] > MAX_EXPANDED_NODES + 2 * written:
                raise YAMLLimit("aliases expand past the node limit (an alias bomb)")
        else:
            expanded += nodes
            if expanded > MAX_EXPANDED_NODES + 2 * written:
                raise YAMLLimit("aliases expand past the node limit (an alias bomb)")


def load_all(text: str) -> list[Any]:
    """Every document of `text` (None for empty ones), after `check_yaml`. Raises YAMLError."""
    check_yaml(text)
    return list(YAML(typ="safe", pure=False).load_all(text))


def load(text: str) -> Any:
    """The single document of `text`, after `check_yaml`. Raises YAMLError."""
    check_yaml(text)
    return YAML(typ="safe", pure=False).load(text)
