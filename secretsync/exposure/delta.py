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
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.detection import Detector, Searcher, could_fire, requirements
from secretsync.exclusions import sealed_ciphertext
from secretsync.models import Finding
from secretsync.scan import is_binary, scan_file
from secretsync.walk import SourceFile

MULTILINE = frozenset({"private-key"})


@dataclass(frozen=True, slots=True)
class Scanned:
    sha: str
    findings: tuple[Finding, ...] | None
    """None: not scanned, it holds what its predecessor held (minus `removed`)."""
    removed: frozenset[bytes] | None = frozenset()
    """Lines of the predecessor that this version no longer has; None when too many to keep
    (then the caller looks in the version itself)."""


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" "))


# Re-encrypting a file (SOPS, SealedSecret) changes every ciphertext line and nothing scan can
# report: a scalar that is SOPS or SealedSecret ciphertext is skipped whole
# (`exclusions.skip_value`), and so is every scalar under `encryptedData` (`skip_context`), before
# any detector sees it. An added line that equals a removed line once such a value is blanked in
# both is therefore not a change. Only a scalar's start counts (after `key: ` or `- `), so a
# block scalar's content line is never taken for one, and it must end the scalar; the rest of the
# line (key, comment) must be unchanged.
_CIPHERTEXT = re.compile(
    rb"""((?::|^[ \t]*-)[ \t]+["']?)"""
    rb"""(ENC\[[A-Z0-9_]+,data:[^\]\n]*\]|A[QYg][A-D][A-Za-z0-9+/=]{198,})"""
    rb"""(?=["']?[ \t]*(?:\#.*)?$)""")


def _skipped_anywhere(ciphertext: bytes) -> bool:
    """Scan skips this value wherever it stands (`skip_value`): SOPS, or a whole Sealed Secrets
    ciphertext (its header checked); anything else that looks sealed only under `encryptedData`."""
    return ciphertext.startswith(b"ENC[") or sealed_ciphertext(ciphertext.decode("ascii"))


def _blank_ciphertext(line: bytes) -> bytes:
    return _CIPHERTEXT.sub(rb"\1<ciphertext>", line)


def _under_encrypted_data(lines: list[bytes], i: int) -> bool:
    indent = _indent(lines[i])
    for j in range(i - 1, -1, -1):
        if indent == 0:
            return False
        line = lines[j]
        body = line.lstrip(b" ")
        if body and not body.startswith(b"#") and len(line) - len(body) < indent:
            indent = len(line) - len(body)
            key = body.lstrip(b"- ").split(b":", 1)[0].strip(b"\"' ")
            if key.lower() == b"encrypteddata":
                return True
    return False


def _only_ciphertext_skipped(lines: list[bytes], i: int) -> bool:
    """Scan skips every ciphertext value of line `i`."""
    return all(_skipped_anywhere(m.group(2)) or _under_encrypted_data(lines, i)
               for m in _CIPHERTEXT.finditer(lines[i]))


def _re_encrypted(lines: list[bytes], new: list[int],
                  removed: frozenset[bytes]) -> tuple[list[int], frozenset[bytes]]:
    """The added lines and the removed ones, less the pairs that only differ in ciphertext."""
    if not any(b"ENC[" in line or b"Ag" in line or b"AQ" in line or b"AY" in line
               for line in (lines[i] for i in new)):
        return new, removed
    before = {_blank_ciphertext(line) for line in removed}
    after: set[bytes] = set()
    kept = []
    for i in new:
        plain = _blank_ciphertext(lines[i])
        if plain != lines[i] and plain in before and _only_ciphertext_skipped(lines, i):
            after.add(plain)
        else:
            kept.append(i)
    if len(kept) == len(new):
        return new, removed
    return kept, frozenset(r for r in removed if _blank_ciphertext(r) not in after)


def changed_context(data: bytes, pred: bytes) -> tuple[list[bytes] | None, frozenset[bytes]]:
    """(the added lines with every line they nest under, or None when nothing was added; the
    removed lines). Lines that only differ from a removed line in ciphertext count as neither."""
    old = set(pred.split(b"\n"))
    lines = data.split(b"\n")
    new = [i for i, line in enumerate(lines) if line not in old]
    removed = frozenset(old.difference(lines))
    new, removed = _re_encrypted(lines, new, removed)
    if not new:
        return None, removed
    keep = set(new)
    for i in new:
        indent = _indent(lines[i])
        j = i - 1
        # Up to the nearest line with a smaller indent (the parent), then its parent, ...; a
        # kept line on the way has its own parents kept already (new lines come in order).
        while indent > 0 and j >= 0 and j not in keep:
            line = lines[j]
            body = line.lstrip(b" ")
            if body and not body.startswith(b"#") and len(line) - len(body) < indent:
                keep.add(j)
                indent = len(line) - len(body)
            j -= 1
    return [lines[i] for i in sorted(keep)], removed


_CACHE_LINES = 50_000
_REMOVED_BYTES = 4096


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

    def learn(self, lines: Iterable[bytes]) -> None:
        """Remember which patterns each new line matches: one search per pattern over all of
        them (a batch of versions at once), then one pass over the text per pattern that hit."""
        todo = list({line: None for line in lines if line not in self._lines})
        if not todo:
            return
        if len(self._lines) > _CACHE_LINES:
            self._lines.clear()
        text = b"\n".join(todo).decode("utf-8", errors="surrogateescape")
        found = [0] * len(todo)
        split: list[str] | None = None
        starts: list[int] | None = None
        for bit, p in enumerate(self._patterns):
            if p.search(text) is None:
                continue
            split = split if split is not None else text.split("\n")
            if isinstance(p, re.Pattern):
                if starts is None:
                    starts = [0, *itertools.accumulate(map((1).__add__, map(len, split)))]
                for m in p.finditer(text):
                    found[bisect.bisect_right(starts, m.start()) - 1] |= 1 << bit
                continue
            for k, part in enumerate(split):
                if p.search(part) is not None:
                    found[k] |= 1 << bit
        self._lines.update(zip(todo, found, strict=True))

    def _near(self, lines: list[bytes]) -> int:
        """The patterns that match any of the lines, as a bit mask."""
        self.learn(lines)
        mask = 0
        for line in lines:
            mask |= self._lines.get(line, 0)
        return mask

    def needs_scan(self, data: bytes, context: list[bytes]) -> bool:
        """Some detector has a gate that matches the changed lines, and all of its gates match
        the whole file (scan's own condition)."""
        full = data.decode("utf-8", errors="surrogateescape")
        memo: dict[tuple[str, int], bool] = {}
        near = self._near(context)
        return any((d.id in MULTILINE or mask & near) and could_fire(d, full, memo)
                   for d, mask in self._masks)


def scan_versions(
    batch: Sequence[tuple[str, str, bool, bytes, bytes | None]], gates: Gates,
) -> list[Scanned]:
    """`(blob, path, is a template, bytes, predecessor's bytes or None)` each scanned, or found
    not to need it."""
    changes: list[tuple[list[bytes] | None, frozenset[bytes]] | None] = []
    for _, _, _, data, pred in batch:
        usable = pred is not None and not is_binary(data) and not is_binary(pred)
        changes.append(changed_context(data, pred) if pred is not None and usable else None)
    gates.learn(line for c in changes if c is not None and c[0] for line in c[0])
    out = []
    for (sha, rel, template, data, _), change in zip(batch, changes, strict=True):
        if change is not None:
            context, removed = change
            if context is None or not gates.needs_scan(data, context):
                small = sum(map(len, removed)) <= _REMOVED_BYTES
                out.append(Scanned(sha, None, removed if small else None))
                continue
        fs = scan_file(SourceFile(Path(rel), rel, template, len(data)), data, gates.detectors)
        out.append(Scanned(sha, fs.findings))
    return out
