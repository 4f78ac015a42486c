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
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
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
    ctx = multiprocessing.get_context("fork")
    # Workers hold values from the history: they die with this process, SIGKILL included.
    with ProcessPoolExecutor(workers, mp_context=ctx,
                             initializer=lifetime.initializer(_worker_init)) as pool:
        pool.submit(os.getpid).result()  # with fork, every worker starts on the first task
        yield pool


def _scan_all(jobs: Iterable[_Job], pool: ProcessPoolExecutor | None,
              workers: int) -> Iterator[Scanned]:
    """Every blob scanned, with at most two batches per worker in flight (memory stays
    bounded however long the history)."""
    if pool is None:
        for batch in _batches(jobs):
            yield from _scan_jobs(batch)
        return
    pending: set[Future[list[Scanned]]] = set()
    for batch in _batches(jobs):
        pending.add(pool.submit(_scan_jobs, batch))
        if len(pending) >= 2 * workers:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield from fut.result()
    for fut in pending:
        yield from fut.result()


_RECENT_BYTES = 48 << 20


class _Recent:
    """The blobs read last, up to a byte budget: a version's predecessor is usually among
    them (in a branchy history the newest version of its path often is not)."""

    def __init__(self, budget: int) -> None:
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._budget = budget
        self._size = 0

    def get(self, sha: str) -> bytes | None:
        data = self._blobs.get(sha)
        if data is not None:
            self._blobs.move_to_end(sha)
        return data

    def put(self, sha: str, data: bytes) -> None:
        self._blobs[sha] = data
        self._size += len(data)
        while self._size > self._budget and len(self._blobs) > 1:
            _, dropped = self._blobs.popitem(last=False)
            self._size -= len(dropped)


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
    with _pool(workers) as pool:
        history = git.commits(root, [opts.rev_range] if opts.rev_range else ["--all"])
        head_sha = git.head(root)
        secrets, stats, warnings = _run(root, history, head_sha, opts, pool, workers)
    head_stamp = None
    if head_sha is not None:
        head_stamp = Stamp(head_sha, git.commit_date(root, head_sha))
    return ExposureReport(str(root), opts.rev_range, head_stamp, len(history), stats[0],
                          stats[1], tuple(secrets), tuple(warnings))


def _run(
    root: Path, history: Sequence[git.Commit], head_sha: str | None, opts: ExposureOptions,
    pool: ProcessPoolExecutor | None, workers: int,
) -> tuple[list[Exposed], list[int], list[str]]:
    wanted: dict[str, tuple[bool, bool]] = {}

    def want(rel: str) -> tuple[bool, bool]:
        if rel not in wanted:
            wanted[rel] = scanned_path(rel, opts.excludes)
        return wanted[rel]

    # Each blob once, under the first path that held it, in history order.
    to_scan: dict[str, tuple[str, bool, str | None]] = {}
    for c in history:
        for ch in c.changes:
            if ch.blob is not None and ch.blob not in to_scan:
                ok, template = want(ch.path)
                if ok:
                    to_scan[ch.blob] = (ch.path, template, ch.old)
    warnings: list[str] = []
    results: dict[str, Scanned] = {}
    stats = [0, 0]
    with git.BlobReader(root) as reader:
        blobs = reader.read(to_scan, opts.max_bytes)

        def jobs() -> Iterator[_Job]:
            too_big: set[str] = set()
            recent = _Recent(_RECENT_BYTES)
            for sha, data, size in blobs:
                rel, template, old = to_scan[sha]
                if data is None:
                    if size > opts.max_bytes and rel not in too_big:
                        too_big.add(rel)
                        warnings.append(f"{rel}: a version larger than the {opts.max_bytes} "
                                        "byte limit (--max-file-size) was skipped")
                    continue
                stats[0] += 1
                stats[1] += size
                pred = recent.get(old) if old is not None else None
                recent.put(sha, data)
                yield sha, rel, template, data, pred

        for scanned in _scan_all(jobs(), pool, workers):
            results[scanned.sha] = scanned
        found = _resolve(to_scan, results, reader, opts.max_bytes)
        secrets = _secrets(root, history, found, head_sha, opts, reader, want)
    return secrets, stats, warnings


def _resolve(
    to_scan: dict[str, tuple[str, bool, str | None]], results: dict[str, Scanned],
    reader: git.BlobReader, max_bytes: int,
) -> dict[str, tuple[Finding, ...]]:
    """Findings per blob with any. A version that was not scanned holds its predecessor's
    findings whose values it still has: those on removed lines are looked up in its bytes."""
    found: dict[str, tuple[Finding, ...]] = {}
    for sha, (_, _, old) in to_scan.items():
        r = results.get(sha)
        if r is None:
            continue
        if r.findings is not None:
            if r.findings:
                found[sha] = r.findings
            continue
        inherited = found.get(old or "", ())
        if not inherited:
            continue
        removed = r.removed
        gone = {f.value for f in inherited
                if removed is None or any(f.value.encode() in line for line in removed)}
        if gone:
            data = next(iter(reader.read([sha], max_bytes)))[1] or b""
            gone = {v for v in gone if v.encode() not in data}
        kept = tuple(f for f in inherited if f.value not in gone)
        if kept:
            found[sha] = kept
    return found


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
