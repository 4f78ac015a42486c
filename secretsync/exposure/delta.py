"""Scanning a version of a file that differs little from the previous one.

Most blobs in a history are the previous version of the same file with a few lines changed (a
chart bumped, an image digest renewed). Such a version is scanned in full, with scan's own
`scan_file`, only when its changes could hold a new finding: some detector has a gate that
matches the changed lines (taken together with the lines they nest under, so that a key or an
env var's `- name:` counts) and every gate of that detector matches the whole file, as scan
asks. Otherwise it holds the values its predecessor held, minus those whose lines are gone:
the caller resolves that from the removed lines this returns. A detector whose value spans
lines (a PEM private key) is checked on the whole file whenever anything changed.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.detection import Detector, Searcher, could_fire, requirements
from secretsync.models import Finding
from secretsync.scan import is_binary, scan_file
from secretsync.walk import SourceFile

MULTILINE = frozenset({"private-key"})


@dataclass(frozen=True, slots=True)
class Scanned:
    sha: str
    findings: tuple[Finding, ...] | None
    """None: not scanned, it holds what its predecessor held (minus `removed`)."""
    removed: frozenset[bytes] = frozenset()
    """Lines of the predecessor that this version no longer has."""


@functools.cache
def _parent_re(indent: int) -> re.Pattern[bytes]:
    """In the REVERSED text: a line's first non-blank character (not a comment's `#`) with
    fewer than `indent` blanks before it, i.e. the nearest line above with a smaller indent."""
    return re.compile(rb"[^ \t\r\n#] {0,%d}(?:\n|\Z)" % (indent - 1))


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" "))


_WINDOW = 8192


def changed_context(
    data: bytes, pred: bytes,
) -> tuple[list[bytes] | None, frozenset[bytes], bool]:
    """(the added lines with every line they nest under, or None when nothing was added; the
    removed lines; True when a line's parent is too far up to look for, so the caller must
    gate the whole file)."""
    old = set(pred.split(b"\n"))
    lines = data.split(b"\n")
    new = [i for i, line in enumerate(lines) if line not in old]
    removed = frozenset(old.difference(lines))
    if not new:
        return None, removed, False
    # starts[i]: the offset of line i. C-level sums: this runs on every line of every version.
    starts = [0, *itertools.accumulate(map((1).__add__, map(len, lines)))]
    rev = data[::-1]
    size = len(data)
    keep = set(new)
    far = False
    for i in new:
        at, indent = i, _indent(lines[i])
        while indent > 0:
            begin = size - starts[at]
            m = _parent_re(indent).search(rev, begin, begin + _WINDOW)
            if m is None:
                far = far or begin + _WINDOW < size
                break
            at = bisect.bisect_right(starts, size - 1 - m.start()) - 1
            if at in keep:
                break  # its own ancestors are kept already
            keep.add(at)
            indent = _indent(lines[at])
    return [lines[i] for i in sorted(keep)], removed, far


_CACHE_LINES = 400_000


class Gates:
    """Every detector's gate patterns. Which patterns a line matches is remembered per distinct
    line: the lines around a change recur in version after version."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        index: dict[tuple[str, int], int] = {}
        self._patterns: list[Searcher] = []
        self._masks: list[tuple[Detector, int]] = []
        for d in self.detectors:
            mask = 0
            for p in (d.prefilter, *requirements(d)):
                k = (p.pattern, p.flags)
                if k not in index:
                    index[k] = len(self._patterns)
                    self._patterns.append(p)
                mask |= 1 << index[k]
            self._masks.append((d, mask))
        self._lines: dict[bytes, int] = {}

    def _near(self, lines: list[bytes]) -> int:
        """The patterns that match any of the lines, as a bit mask."""
        mask = 0
        todo = []
        for line in lines:
            hits = self._lines.get(line)
            if hits is None:
                todo.append(line)
            else:
                mask |= hits
        if not todo:
            return mask
        if len(self._lines) > _CACHE_LINES:
            self._lines.clear()
        text = b"\n".join(todo).decode("utf-8", errors="surrogateescape")
        found = dict.fromkeys(todo, 0)
        split: list[str] | None = None
        for bit, p in enumerate(self._patterns):
            if p.search(text) is None:
                continue
            split = split if split is not None else text.split("\n")
            for raw, part in zip(todo, split, strict=True):
                if p.search(part) is not None:
                    found[raw] |= 1 << bit
                    mask |= 1 << bit
        self._lines.update(found)
        return mask

    def needs_scan(self, data: bytes, context: list[bytes], far: bool = False) -> bool:
        """Some detector has a gate that matches the changed lines, and all of its gates match
        the whole file (scan's own condition). `far`: the context may lack a parent line, so
        scan's condition alone decides."""
        full = data.decode("utf-8", errors="surrogateescape")
        memo: dict[tuple[str, int], bool] = {}
        if far:
            return any(could_fire(d, full, memo) for d in self.detectors)
        near = self._near(context)
        return any((d.id in MULTILINE or mask & near) and could_fire(d, full, memo)
                   for d, mask in self._masks)


def scan_version(
    sha: str, rel: str, template: bool, data: bytes, pred: bytes | None,
    gates: Gates,
) -> Scanned:
    if pred is not None and not is_binary(data) and not is_binary(pred):
        context, removed, far = changed_context(data, pred)
        if context is None or not gates.needs_scan(data, context, far):
            return Scanned(sha, None, removed)
    fs = scan_file(SourceFile(Path(rel), rel, template, len(data)), data, gates.detectors)
    return Scanned(sha, fs.findings)
