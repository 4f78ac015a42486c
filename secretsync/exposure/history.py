"""What git history still gives away: every distinct value the detectors find in any version of
any YAML file that the history (all refs, or a rev range) holds.

1. `git log --raw` lists, per commit, the blobs it put at each path (against its first parent).
2. Each distinct blob of a scanned path is read once, through one `git cat-file --batch`, and
   scanned with scan's own `scan_file` (same detectors, same gates) in a pool of workers, with a
   bounded number of blobs in flight.
3. The commits are replayed in topological order, each tree reduced to the paths that hold a
   blob with findings, to know which commits held each value: the first and the last.
4. HEAD (and, for a range, the commits the range grows from) are searched for every value.

Values stay in memory; what leaves this module holds previews and fingerprints only.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from secretsync import workers as lifetime
from secretsync.exposure import git
from secretsync.exposure.delta import Gates, Scanned, scan_versions
from secretsync.exposure.rotation import Rotation, classify
from secretsync.group import group
from secretsync.models import Finding, dotted
from secretsync.redact import preview
from secretsync.walk import DEFAULT_MAX_BYTES, SKIP_DIRS, TEMPLATE_SUFFIXES, YAML_SUFFIXES


@dataclass(frozen=True, slots=True)
class ExposureOptions:
    rev_range: str | None = None
    """`A..B`: only the commits of the range (what a pull request adds); None: every commit
    reachable from the repository's refs."""
    excludes: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 0
    """Worker processes; 0 means one per available core."""
    names: dict[str, str] = field(default_factory=dict)
    """Key-path regex -> Doppler name (`.secretsync.yaml` names), as scan uses them."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """A commit as the report shows it: id and committer date, never who."""

    sha: str
    date: str


@dataclass(frozen=True, slots=True)
class Place:
    path: str
    line: int
    column: int
    key_path: str | None
    detector: str
    commit: Stamp
    """The first commit that held the value at this place."""


@dataclass(frozen=True, slots=True)
class DopplerName:
    """Where the value lives in Doppler now, as the tree's references (and Doppler) say."""

    name: str
    project: str | None
    config: str | None
    source: str
    """`reference`: the place now holds a reference to this name; `doppler`: Doppler holds
    this very value under this name."""
    holds_value: bool | None = None
    """Doppler holds this exact value under the name (None: Doppler not asked); False means it
    holds another one: rotated already."""


@dataclass(frozen=True, slots=True)
class Exposed:
    """One distinct value found in history."""

    id: str
    name: str
    """The Doppler name scan gives it (from its key path, or `.secretsync.yaml` names)."""
    detector: str
    rotation: Rotation
    preview: str
    fingerprint: str
    """From the first commit and place, never from the value."""
    first: Stamp
    last: Stamp
    in_head: bool
    added: bool
    """Not held by the commits a range grows from: the range adds it (always True without a
    range)."""
    places: tuple[Place, ...]
    value: str = field(repr=False, compare=False)
    doppler: DopplerName | None = None


@dataclass(frozen=True, slots=True)
class ExposureReport:
    root: str
    rev_range: str | None
    head: Stamp | None
    commits: int
    blobs_scanned: int
    bytes_scanned: int
    secrets: tuple[Exposed, ...]
    warnings: tuple[str, ...]


def scanned_path(rel: str, excludes: Sequence[str] = ()) -> tuple[bool, bool]:
    """(scan it, it is a Helm template): the walk's rules for a path in history."""
    parts = rel.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return False, False
    if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*")
           for pat in excludes):
        return False, False
    template = "templates" in parts[:-1] and rel.endswith(TEMPLATE_SUFFIXES)
    return template or rel.endswith(YAML_SUFFIXES), template


# -- scanning blobs in workers -----------------------------------------------------------------
_Job = tuple[str, str, bool, bytes, bytes | None]
"""(blob, path, is a template, bytes, the predecessor's bytes at that path or None)"""
_BATCH_BYTES = 1 << 20
_BATCH_BLOBS = 256
_worker_gates: Gates | None = None


def _worker_init() -> None:
    global _worker_gates
    from secretsync.detectors import load_detectors

    _worker_gates = Gates(load_detectors())


def _scan_jobs(batch: Sequence[_Job]) -> list[Scanned]:
    assert _worker_gates is not None
    return scan_versions(batch, _worker_gates)


def _cores(jobs: int) -> int:
    if jobs > 0:
        return jobs
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _batches(jobs: Iterable[_Job]) -> Iterator[list[_Job]]:
    batch: list[_Job] = []
    size = 0
    for job in jobs:
        batch.append(job)
        size += len(job[3]) + len(job[4] or b"")
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_BLOBS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """Forked scan workers, started before the history is read (so they do not inherit it and
    no thread exists when they fork); None when one process does it all."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        _worker_init()
        yield None
        return
    # The detectors are built here first: the forked workers share their modules' pages with
    # this process (which needs them later anyway) instead of each importing its own copy.
    _worker_init()
    ctx = multiprocessing.get_context("fork")
    # Workers hold values from the history: they die with this process, SIGKILL included.
    with ProcessPoolExecutor(workers, mp_context=ctx,
                             initializer=lifetime.initializer(_worker_init)) as pool:
        pool.submit(os.getpid).result()  # with fork, every worker starts on the first task
        yield pool


def _scan_all(jobs: Iterable[_Job], pool: ProcessPoolExecutor | None,
              workers: int) -> Iterator[tuple[_Job, Scanned]]:
    """Every blob scanned, in the order of `jobs`, with at most two batches per worker in
    flight (memory stays bounded however long the history)."""
    if pool is None:
        for batch in _batches(jobs):
            yield from zip(batch, _scan_jobs(batch), strict=True)
        return
    pending: deque[tuple[list[_Job], Future[list[Scanned]]]] = deque()
    for batch in _batches(jobs):
        pending.append((batch, pool.submit(_scan_jobs, batch)))
        if len(pending) >= 2 * workers:
            done, fut = pending.popleft()
            yield from zip(done, fut.result(), strict=True)
    while pending:
        done, fut = pending.popleft()
        yield from zip(done, fut.result(), strict=True)


_LIVE_BYTES = 64 << 20
"""A budget for the blobs kept as a later version's predecessor (each is kept from its reading
to its last use; onedr0p/home-ops needs 2.6 MB at most). Over it, the oldest is dropped and
its successors are scanned in full: slower, never wrong."""


class _Predecessors:
    """Each blob that a later blob follows (its predecessor at a path), from its reading to
    its last use as a predecessor; nothing else."""

    def __init__(self, order: Iterable[tuple[str, str | None]], budget: int) -> None:
        last: dict[str, int] = {}
        for i, (_, old) in enumerate(order):
            if old is not None:
                last[old] = i
        self._last = last
        self._kept: dict[str, bytes] = {}
        self._budget = budget
        self._size = 0

    def keep(self, i: int, sha: str, data: bytes) -> None:
        """Keep the `i`th blob if a later one follows it."""
        if self._last.get(sha, -1) <= i:
            return
        self._kept[sha] = data
        self._size += len(data)
        while self._size > self._budget and len(self._kept) > 1:
            dropped = self._kept.pop(next(iter(self._kept)))
            self._size -= len(dropped)

    def take(self, i: int, old: str | None) -> bytes | None:
        """The predecessor's bytes for the `i`th blob, dropped after its last use."""
        if old is None:
            return None
        if self._last.get(old) == i:
            data = self._kept.pop(old, None)
            self._size -= len(data or b"")
            return data
        return self._kept.get(old)


# -- the run -----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Seen:
    """A value's representative finding per place, with the first commit holding it there."""

    finding: Finding
    order: tuple[int, int]
    commit: git.Commit


@dataclass(slots=True)
class _Span:
    first: tuple[int, int] = (1 << 62, 0)
    first_commit: git.Commit | None = None
    last: tuple[int, int] = (-1, 0)
    last_commit: git.Commit | None = None

    def add(self, c: git.Commit, order: tuple[int, int]) -> None:
        if order < self.first:
            self.first, self.first_commit = order, c
        if order > self.last:
            self.last, self.last_commit = order, c


def run_exposure(path: Path, opts: ExposureOptions) -> ExposureReport:
    root = git.repo_root(path)
    if opts.rev_range is not None:
        git.check_range(root, opts.rev_range)
    workers = _cores(opts.jobs)
    wanted: dict[str, tuple[bool, bool]] = {}

    def want(rel: str) -> tuple[bool, bool]:
        hit = wanted.get(rel)
        if hit is None:
            hit = wanted[rel] = scanned_path(rel, opts.excludes)
        return hit

    with _pool(workers) as pool:
        history = git.commits(root, [opts.rev_range] if opts.rev_range else ["--all"],
                              keep=lambda rel: want(rel)[0])
        head_sha = git.head(root)
        secrets, stats, warnings = _run(root, history, head_sha, opts, pool, workers, want)
    head_stamp = None
    if head_sha is not None:
        head_stamp = Stamp(head_sha, git.commit_date(root, head_sha))
    return ExposureReport(str(root), opts.rev_range, head_stamp, len(history), stats[0],
                          stats[1], tuple(secrets), tuple(warnings))


def _run(
    root: Path, history: Sequence[git.Commit], head_sha: str | None, opts: ExposureOptions,
    pool: ProcessPoolExecutor | None, workers: int, want: Callable[[str], tuple[bool, bool]],
) -> tuple[list[Exposed], list[int], list[str]]:
    # Each blob once, under the first path that held it, in history order.
    to_scan: dict[str, tuple[str, bool, str | None]] = {}
    for c in history:
        for ch in c.changes:
            if ch.blob is not None and ch.blob not in to_scan:
                ok, template = want(ch.path)
                if ok:
                    to_scan[ch.blob] = (ch.path, template, ch.old)
    warnings: list[str] = []
    stats = [0, 0]
    with git.BlobReader(root) as reader:
        blobs = reader.read(to_scan, opts.max_bytes)

        def jobs() -> Iterator[_Job]:
            too_big: set[str] = set()
            preds = _Predecessors(((sha, old) for sha, (_, _, old) in to_scan.items()),
                                  _LIVE_BYTES)
            for i, (sha, data, size) in enumerate(blobs):
                rel, template, old = to_scan[sha]
                pred = preds.take(i, old)
                if data is None:
                    if size > opts.max_bytes and rel not in too_big:
                        too_big.add(rel)
                        warnings.append(f"{rel}: a version larger than the {opts.max_bytes} "
                                        "byte limit (--max-file-size) was skipped")
                    continue
                stats[0] += 1
                stats[1] += size
                preds.keep(i, sha, data)
                yield sha, rel, template, data, pred

        found: dict[str, tuple[Finding, ...]] = {}
        for job, scanned in _scan_all(jobs(), pool, workers):
            _resolve(found, scanned, to_scan[job[0]][2], job[3])
        secrets = _secrets(root, history, found, head_sha, opts, reader, want)
    return secrets, stats, warnings


def _resolve(found: dict[str, tuple[Finding, ...]], r: Scanned, old: str | None,
             data: bytes) -> None:
    """Record the findings of one blob, its predecessor's already recorded (results come in
    history order). A version that was not scanned holds its predecessor's findings whose
    values it still has: those on removed lines are looked up in its bytes."""
    if r.findings is not None:
        if r.findings:
            found[r.sha] = r.findings
        return
    inherited = found.get(old or "", ())
    if not inherited:
        return
    removed = r.removed
    gone = {f.value for f in inherited
            if removed is None or any(f.value.encode() in line for line in removed)}
    gone = {v for v in gone if v.encode() not in data}
    kept = tuple(f for f in inherited if f.value not in gone)
    if kept:
        found[r.sha] = kept


def _replay(
    history: Sequence[git.Commit],
    interesting: dict[str, frozenset[str]],
    start_states: dict[str, dict[str, str]],
    want: Callable[[str], tuple[bool, bool]],
) -> tuple[dict[str, _Span], dict[tuple[str, str], tuple[git.Commit, tuple[int, int]]]]:
    """Which commits hold each value: trees replayed parent to child, each reduced to the paths
    holding a blob with findings. Returns the span per value and, per (path, blob), the first
    commit that held it there."""
    index = {c.sha: i for i, c in enumerate(history)}
    children: dict[str, int] = {}
    for c in history:
        for p in c.parents[:1]:
            children[p] = children.get(p, 0) + 1
    states: dict[str, dict[str, str]] = dict(start_states)
    spans: dict[str, _Span] = {}
    placed: dict[tuple[str, str], tuple[git.Commit, tuple[int, int]]] = {}
    empty: dict[str, str] = {}
    for c in history:
        parent = c.parents[0] if c.parents else None
        state = states.get(parent, empty) if parent is not None else empty
        touched = [ch for ch in c.changes if want(ch.path)[0]
                   and (ch.path in state or (ch.blob is not None and ch.blob in interesting))]
        if touched:
            state = dict(state)
            for ch in touched:
                if ch.blob is not None and ch.blob in interesting:
                    state[ch.path] = ch.blob
                else:
                    state.pop(ch.path, None)
        order = (c.time, index[c.sha])
        for rel, blob in state.items():
            if (rel, blob) not in placed:
                placed[(rel, blob)] = (c, order)
            for value in interesting[blob]:
                span = spans.get(value)
                if span is None:
                    span = spans[value] = _Span()
                span.add(c, order)
        if children.get(c.sha):
            states[c.sha] = state
        if parent is not None and parent in children:
            children[parent] -= 1
            if children[parent] == 0 and parent in index:
                states.pop(parent, None)
    return spans, placed


_WORD = rb"[A-Za-z0-9_]"


def _held(values: Iterable[str], blobs: Iterable[bytes]) -> set[str]:
    """The values that stand, as whole tokens, in any of the blobs (scan's second-pass rule: the
    same value anywhere, even where no detector would recognise it)."""
    todo = {v: re.compile(rb"(?<!" + _WORD + rb")" + re.escape(v.encode()) + rb"(?!" + _WORD
                          + rb")") for v in values}
    out: set[str] = set()
    for data in blobs:
        for v, pattern in list(todo.items()):
            if v.encode() in data and pattern.search(data):
                out.add(v)
                del todo[v]
        if not todo:
            break
    return out


def _tree_blobs(
    root: Path, commit: str, reader: git.BlobReader, want: Callable[[str], tuple[bool, bool]],
    max_bytes: int,
) -> Iterator[bytes]:
    shas = sorted({b for rel, b in git.tree(root, commit).items() if want(rel)[0]})
    for _, data, _ in reader.read(shas, max_bytes):
        if data is not None:
            yield data


def _secrets(
    root: Path, history: Sequence[git.Commit], found: dict[str, tuple[Finding, ...]],
    head_sha: str | None, opts: ExposureOptions, reader: git.BlobReader,
    want: Callable[[str], tuple[bool, bool]],
) -> list[Exposed]:
    interesting = {sha: frozenset(f.value for f in fs) for sha, fs in found.items()}
    start_states: dict[str, dict[str, str]] = {}
    bases: list[str] = []
    if opts.rev_range is not None:
        bases = git.boundary(root, opts.rev_range)
        for b in bases:
            start_states[b] = {rel: blob for rel, blob in git.tree(root, b).items()
                               if blob in interesting and want(rel)[0]}
    spans, placed = _replay(history, interesting, start_states, want)
    seen = _places(placed, found)
    values = [v for v in spans if v in seen]
    in_head: set[str] = set()
    if head_sha is not None and values:
        in_head = _held(values, _tree_blobs(root, head_sha, reader, want, opts.max_bytes))
    held_before: set[str] = set()
    for b in bases:
        held_before |= _held([v for v in values if v not in held_before],
                             _tree_blobs(root, b, reader, want, opts.max_bytes))
    from secretsync.detectors import is_dev_value

    reps = [s.finding for v in values for s in seen[v].values()]
    _, groups = group(reps, is_dev_value, opts.names)
    by_value = {g.value: g for g in groups}
    out: list[Exposed] = []
    sorted_places = {v: sorted(seen[v].values(), key=_place_order) for v in values}
    # Ties (two values first held by one commit) are broken by their first place, not by the
    # order of a set, so the report is the same from run to run.
    for v in sorted(values, key=lambda v: (spans[v].first, by_value[v].name,
                                           _place_order(sorted_places[v][0]))):
        g = by_value[v]
        span = spans[v]
        assert span.first_commit is not None and span.last_commit is not None
        places = sorted_places[v]
        first_place = places[0].finding
        raw = (f"secretsync-exposure/v1\0{span.first_commit.sha}\0{first_place.path}\0"
               f"{dotted(first_place.key_path) or first_place.context}\0{g.detector}")
        out.append(Exposed(
            id=f"secret-{len(out) + 1}", name=g.name, detector=g.detector,
            rotation=classify(g.detector), preview=preview(v),
            fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:32],
            first=_stamp(span.first_commit), last=_stamp(span.last_commit),
            in_head=v in in_head, added=v not in held_before,
            places=tuple(Place(s.finding.path, s.finding.line, s.finding.column,
                               dotted(s.finding.key_path), s.finding.detector, _stamp(s.commit))
                         for s in places),
            value=v,
        ))
    return out


def _places(
    placed: dict[tuple[str, str], tuple[git.Commit, tuple[int, int]]],
    found: dict[str, tuple[Finding, ...]],
) -> dict[str, dict[tuple[str, str, str], _Seen]]:
    """Per value, one representative finding per (path, key path, detector): from the first
    blob that put it there."""
    seen: dict[str, dict[tuple[str, str, str], _Seen]] = {}
    for (rel, blob), (commit, order) in placed.items():
        for f in found[blob]:
            key = (rel, dotted(f.key_path) or f"~{f.context}", f.detector)
            per = seen.setdefault(f.value, {})
            if key not in per or order < per[key].order:
                fixed = f if f.path == rel else replace(f, path=rel)
                per[key] = _Seen(fixed, order, commit)
    return seen


def _place_order(s: _Seen) -> tuple[tuple[int, int], str, int, int, str]:
    f = s.finding
    return s.order, f.path, f.line, f.column, f.detector


def _stamp(c: git.Commit) -> Stamp:
    return Stamp(c.sha, c.date)
