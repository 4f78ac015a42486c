"""The scan stage: files -> parsed documents -> findings.

A file is decoded and every detector's raw-text prefilter is tried first; a file no prefilter
matches is never parsed (most files of a real repository hold nothing), and in a file that is
parsed only the detectors whose prefilter matched run on its scalars. A second pass then looks
for every other place of the values that needed context to be found (a tunnel id that stands
bare elsewhere is the same secret).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from secretsync import documents
from secretsync.baseline import Baseline
from secretsync.detection import Context, Detector, GatePlan
from secretsync.documents import LineIndex, ParsedFile
from secretsync.environments import EnvResolver, EnvRules
from secretsync.exclusions import skip_context, skip_value, stand_in
from secretsync.group import group
from secretsync.models import Finding, ScanResult, dotted
from secretsync.walk import DEFAULT_MAX_BYTES, KUSTOMIZATION_NAMES, SourceFile, walk

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

_IGNORE = re.compile(r"secretsync:ignore(?:\[(?P<ids>[a-z0-9,\s-]*)\])?")
_GENERIC_IDS = frozenset({"generic-secret"})


@dataclass(frozen=True, slots=True)
class ScanOptions:
    excludes: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 0
    """Worker processes; 0 means one per available core."""
    env_rules: EnvRules | None = None
    """Environment inference overrides (from .secretsync.yaml); None: the defaults."""


@dataclass(frozen=True, slots=True)
class FileScan:
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...]
    parsed: ParsedFile | None
    """The parsed file, or None when no gate let it be parsed (or, after `_scan_batch`, when
    it is not needed again: only kustomizations are, for environments)."""
    suppressed: int = 0
    was_parsed: bool = False


def suppressed_inline(lines: list[str], line: int, detector: str) -> bool:
    """`# secretsync:ignore[id,...]` on the finding's line or alone on the line above."""
    candidates = [lines[line - 1]] if 0 < line <= len(lines) else []
    if line >= 2 and lines[line - 2].lstrip().startswith("#"):
        candidates.append(lines[line - 2])
    for text in candidates:
        for m in _IGNORE.finditer(text):
            ids = m.group("ids")
            if ids is None or detector in {i.strip() for i in ids.split(",")}:
                return True
    return False


def _nth_find(text: str, sub: str, start: int, end: int, n: int) -> int:
    """Offset of the n-th (0-based) occurrence of `sub` in text[start:end]: a value's k-th
    occurrence inside a quoted or block scalar is the token's k-th, escapes and indentation
    aside. Falls back to the token start."""
    pos = start
    for _ in range(n + 1):
        found = text.find(sub, pos, end)
        if found < 0:
            return start
        hit, pos = found, found + 1
    return hit


def location_fingerprint(path: str, key: str, detector: str, n: int) -> str:
    """Stable across line moves and value-free: path, place in the document, detector, and the
    ordinal among identical places."""
    raw = f"secretsync/v1\0{path}\0{key}\0{detector}\0{n}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def is_binary(data: bytes) -> bool:
    """A NUL in the first 8 KiB: not text, never parsed or searched."""
    return data.find(b"\0", 0, 8192) >= 0  # no copy of the first 8 KiB


_plans: dict[int, tuple[Sequence[Detector], GatePlan]] = {}


def _gates(detectors: Sequence[Detector]) -> GatePlan:
    """The gate plan of a detector set, built on first use (the set is kept alive with it, so
    its id is never reused for another)."""
    hit = _plans.get(id(detectors))
    if hit is None or hit[0] is not detectors:
        if len(_plans) > 8:
            _plans.clear()
        hit = _plans[id(detectors)] = (detectors, GatePlan(detectors))
    return hit[1]


def scan_file(src: SourceFile, data: bytes, detectors: Sequence[Detector],
              active: Sequence[Detector] | None = None) -> FileScan:
    """One file's findings. `active`: those of `detectors` whose gate holds in this file, when
    already known (see `_scan_batch`)."""
    if is_binary(data):
        return FileScan((), (f"{src.rel}: binary file skipped",), None)
    if active is None:
        active = _gates(detectors).active(_gate_text(data))
    if not active:
        return FileScan((), (), None)
    pf, warnings = documents.parse(src.rel, data, template=src.template)
    idx = LineIndex(pf.text)
    lines = pf.text.split("\n")
    # One finding per span of the file: the most specific detector and context win.
    best: dict[tuple[int, int], tuple[int, Finding]] = {}
    for s in (*pf.scalars, *pf.keys):
        value = s.value
        hits = [h for d in active for h in d.find(value, s.ctx)]
        # The exclusions after the detectors: they cost more than a detector's first test,
        # and most scalars of a gated file hold nothing.
        if not hits or skip_value(value) or skip_context(s.ctx):
            continue
        # A hit inside another hit of the same scalar (an account id inside an R2 endpoint)
        # is the same secret, reported once.
        hits = [h for h in hits if not any(
            o is not h and o.start <= h.start and h.end <= o.end
            and (o.end - o.start) > (h.end - h.start)
            for o in hits)]
        for h in hits:
            secret = value[h.start:h.end]
            if stand_in(secret):
                continue
            if value == pf.text[s.start:s.end]:
                a = s.start + h.start
            else:
                a = _nth_find(pf.text, secret, s.start, s.end, value.count(secret, 0, h.start))
            b = a + len(secret)
            line, col = idx.pos(a)
            eline, ecol = idx.pos(b)
            whole = (h.start == 0 and h.end == len(value)
                     and s.style not in ("embedded", "comment", "key"))
            rank = (0 if h.detector in _GENERIC_IDS else 2) + (1 if s.style == "embedded" else 0)
            f = Finding(
                path=src.rel, line=line, column=col, end_line=eline, end_column=ecol,
                start=a, end=b, key_path=s.ctx.key_path, detector=h.detector, value=secret,
                style=s.style, whole=whole, env_name=s.ctx.env_name, kind=s.ctx.kind, doc=s.doc,
                context=s.ctx.key or "",
            )
            prev = best.get((a, b))
            if prev is None or rank > prev[0]:
                best[(a, b)] = (rank, f)
    out: list[Finding] = []
    suppressed = 0
    seen: dict[tuple[str, str, str], int] = {}
    for _, f in sorted(best.values(), key=lambda rf: (rf[1].start, rf[1].detector)):
        if suppressed_inline(lines, f.line, f.detector):
            suppressed += 1
            continue
        place = dotted(f.key_path) or f"~{f.context}"
        n = seen.get((place, f.detector, f.style), 0)
        seen[(place, f.detector, f.style)] = n + 1
        out.append(replace(f, fingerprint=location_fingerprint(f.path, place, f.detector, n)))
    return FileScan(tuple(out), tuple(warnings), pf, suppressed, was_parsed=True)


_BATCH = 48
_T = TypeVar("_T")
_worker_detectors: tuple[Detector, ...] = ()


def _worker_init() -> None:
    global _worker_detectors
    from secretsync.detectors import load_detectors

    _worker_detectors = load_detectors()


_JOIN_BYTES = 256 * 1024
"""Files of a batch are joined for the gates up to this size: the gates' per-call cost
dominates on small files, and memory stays bounded by the larger of this and one file."""


def _gate_text(data: bytes) -> str:
    # For the gates only: any bytes decode, and documents.parse decides the file's encoding.
    return data.decode("utf-8", errors="surrogateescape")


_KEEP_BYTES = 8 * 1024 * 1024
"""What pass one keeps of the files' bytes for the second pass when both run in this process
(one core): reading every file again cost a tenth of such a scan. Files past this total are
read again, so memory stays bounded whatever the tree."""


class _Kept:
    """Files' bytes as pass one read them, up to a total, for the second pass."""

    __slots__ = ("data", "left")

    def __init__(self, budget: int) -> None:
        self.data: dict[str, bytes] = {}
        self.left = budget

    def keep(self, rel: str, data: bytes) -> None:
        if len(data) <= self.left:
            self.data[rel] = data
            self.left -= len(data)

    def read(self, src: SourceFile) -> bytes:
        data = self.data.pop(src.rel, None)
        return src.read() if data is None else data


def _scan_batch(kept: _Kept | None,
                batch: Sequence[SourceFile]) -> list[tuple[FileScan | None, int]]:
    """Scan a batch; with `kept`, keep the bytes read for the second pass."""
    out: list[tuple[FileScan | None, int]] = []
    plan = _gates(_worker_detectors)
    i = 0
    while i < len(batch):
        datas: list[bytes | None] = []
        size = 0
        while i < len(batch) and (not datas or size + batch[i].size <= _JOIN_BYTES):
            try:
                data: bytes | None = batch[i].read()
            except OSError:
                data = None
            datas.append(data)
            size += len(data) if data else 0
            if kept is not None and data is not None:
                kept.keep(batch[i].rel, data)
            i += 1
        text_of = [d is not None and not is_binary(d) for d in datas]
        texts = [_gate_text(d) for d, t in zip(datas, text_of, strict=True)
                 if t and d is not None]
        actives = iter(plan.per_file(texts))
        for src, d, t in zip(batch[i - len(datas):i], datas, text_of, strict=True):
            active = next(actives) if t else ()
            if d is not None and t and not active:
                out.append((_NOTHING, len(d)))  # most files: no gate holds, nothing to do
            else:
                out.append(_scan_one(src, d, active))
    return out


def _scan_one(src: SourceFile, data: bytes | None,
              active: Sequence[Detector]) -> tuple[FileScan | None, int]:
    if data is None:
        return None, 0
    fs = scan_file(src, data, _worker_detectors, active)
    # Only kustomizations are needed again (for environments); the rest would only cost
    # memory and pickling.
    if fs.parsed is not None and not src.rel.endswith(KUSTOMIZATION_NAMES):
        fs = replace(fs, parsed=None)
    if fs == _NOTHING:
        fs = _NOTHING  # one object for every empty result: pickled once per batch
    return fs, len(data)


_NOTHING = FileScan((), (), None)


def _jobs(jobs: int) -> int:
    if jobs > 0:
        return jobs
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


class _Runner:
    """Runs a function over batches of files, results in order: in forked worker processes
    when it pays, else here. One set of workers serves both passes of a scan (forking and
    starting them again for the second pass cost as much as the pass itself on a small tree);
    so what a pass's function needs beyond its batch travels with it (`functools.partial`),
    except the detectors, which each worker loads once (`_worker_init`)."""

    def __init__(self, jobs: int, files: Sequence[SourceFile]) -> None:
        self.files = files
        self.spans = [(i, min(i + _BATCH, len(files))) for i in range(0, len(files), _BATCH)]
        # Before any worker forks: the workers find the file list here, and a task is a
        # span of it (pickling 48 SourceFiles a task cost the parent a tenth of its time
        # and the workers as much again to unpickle).
        _SHARED[id(self)] = files
        self._pool: ProcessPoolExecutor | None = None
        if _jobs(jobs) > 1 and len(self.spans) > 2:
            self._start_pool(_jobs(jobs))
        self.kept: _Kept | None = None
        """Set when both passes run here: pass one's bytes for the second."""
        if self._pool is None:
            _worker_init()
            self.kept = _Kept(_KEEP_BYTES)

    def _start_pool(self, jobs: int) -> None:
        # Imported here: a one-core scan never needs them (a sixtieth of its start-up).
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from secretsync import workers

        if "fork" in multiprocessing.get_all_start_methods():
            # Workers hold found values: they die with this process, even when SIGKILLed.
            # With "fork" every worker starts at the first task, after `_SHARED` was set.
            self._pool = ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context("fork"),
                initializer=workers.initializer(_worker_init))

    def batches(self) -> Iterator[Sequence[SourceFile]]:
        return (self.files[a:b] for a, b in self.spans)

    def map(self, fn: Callable[[Sequence[SourceFile]], _T]) -> Iterator[_T]:
        """`fn` of each batch of the files, in order."""
        if self._pool is not None:
            yield from self._pool.map(functools.partial(_on_span, fn, id(self)), self.spans)
            return
        for batch in self.batches():
            yield fn(batch)

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        _SHARED.pop(id(self), None)


_SHARED: dict[int, Sequence[SourceFile]] = {}
"""Each running scan's files, by its runner's id: inherited by its forked workers."""


def _on_span(fn: Callable[[Sequence[SourceFile]], _T], runner: int,
             span: tuple[int, int]) -> _T:
    return fn(_SHARED[runner][span[0]:span[1]])


def _scan_all(
    runner: _Runner, progress: Callable[[int], None] | None,
) -> Iterator[tuple[SourceFile, FileScan | None, int]]:
    """Scan the runner's files, yielding results in file order."""
    scan = functools.partial(_scan_batch, runner.kept)
    for batch, results in zip(runner.batches(), runner.map(scan), strict=True):
        for src, (fs, size) in zip(batch, results, strict=True):
            if progress is not None:
                progress(size)
            yield src, fs, size


_MIN_KNOWN = 8


def _bounded(text: str, start: int, end: int) -> bool:
    """The occurrence is a whole token, not part of a longer word or number."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before == "_" or after.isalnum() or after == "_")


@dataclass(frozen=True, slots=True)
class _Known:
    """What the second pass looks for: values found with context, longest first, and the
    spans already reported per file."""

    first: dict[str, Finding]
    by_length: tuple[str, ...]
    spans: dict[str, list[tuple[int, int]]]
    as_bytes: tuple[bytes, ...] | None
    """The values as bytes when every one is ASCII (the same bytes in a UTF-8 or a Latin-1
    file): a file holding none of them is passed over before it is decoded."""


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEXID = re.compile(r"^[0-9a-fA-F]{24,}$")
# Any printable run without spaces, quotes, brackets or template braces: passwords mix in
# `%`, `!`, `#`...
_TOKEN = re.compile(r"""^[^\s"'<>{}()\[\]`,;]{12,}$""")
_CHAT = re.compile(r"^-?[0-9]{10,}$")
_TAILNET_ID = "tailscale-tailnet"
_TS_NET = ".ts.net"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
"""documents.decode reads such a file as UTF-16, where an ASCII value's bytes differ."""


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def specific(value: str, detector: str) -> bool:
    """A value worth looking for everywhere: one nobody would write by chance. A UUID, a long
    hex id, a long digit id, or a token mixing letters and digits with some entropy; never a
    word, a name or a placeholder (a placeholder password found in one URL would otherwise be
    reported in every comment and template that says `password`). A tailnet's name is followed
    only as `<name>.ts.net` (see `_occurrences_in`): its fun name is often a word."""
    if detector == _TAILNET_ID:
        return True
    if _UUID.match(value) or _HEXID.match(value) or _CHAT.match(value):
        return True
    if stand_in(value) or not _TOKEN.match(value):
        return False
    return (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and _entropy(value) >= 3.0)


def _known_values(findings: Sequence[Finding], detectors: Sequence[Detector]) -> _Known | None:
    known: dict[str, Finding] = {}
    bare = Context()
    for f in findings:
        if (len(f.value) >= _MIN_KNOWN and "\n" not in f.value and f.value not in known
                and specific(f.value, f.detector)):
            by_shape = any(h.start == 0 and h.end == len(f.value)
                           for d in detectors for h in d.find(f.value, bare))
            if not by_shape:
                known[f.value] = f
    if not known:
        return None
    spans: dict[str, list[tuple[int, int]]] = {}
    for f in findings:
        spans.setdefault(f.path, []).append((f.start, f.end))
    # Longest first: an R2 endpoint is reported whole, not also the account id inside it.
    ascii_only = all(v.isascii() for v in known)
    return _Known(known, tuple(sorted(known, key=len, reverse=True)), spans,
                  tuple(v.encode() for v in known) if ascii_only else None)


def _other_occurrences(
    findings: Sequence[Finding], detectors: Sequence[Detector], runner: _Runner,
) -> tuple[list[Finding], int]:
    """Every other place a value already found stands. A tunnel id given as a bare cloudflared
    argument has no context of its own, but it is the same secret as the one found under
    `tunnelId:`, and it must move with it. Only values that needed context are looked for:
    one a detector recognises by its shape alone was found everywhere already. Returns the
    new findings and how many were suppressed inline."""
    known = _known_values(findings, detectors)
    kept, runner.kept = runner.kept, None
    if known is None:
        return [], 0
    out: list[Finding] = []
    suppressed = 0
    search = functools.partial(_occurrences_batch, known, kept)
    for found, n in runner.map(search):
        out.extend(found)
        suppressed += n
    return out, suppressed


def _occurrences_batch(known: _Known, kept: _Kept | None,
                       batch: Sequence[SourceFile]) -> tuple[list[Finding], int]:
    out: list[Finding] = []
    suppressed = 0
    for src in batch:
        found, n = _occurrences_in(src, known, kept)
        out.extend(found)
        suppressed += n
    return out, suppressed


def _occurrences_in(src: SourceFile, known: _Known,
                    kept: _Kept | None = None) -> tuple[list[Finding], int]:
    try:
        data = src.read() if kept is None else kept.read(src)
    except OSError:
        return [], 0
    if is_binary(data):
        return [], 0
    needles = known.as_bytes
    if (needles is not None and not data.startswith(_UTF16_BOMS)
            and not any(n in data for n in needles)):
        return [], 0
    text = documents.decode(data)[0]
    taken = list(known.spans.get(src.rel, ()))
    spots = []
    for value in known.by_length:
        if value not in text:
            continue
        tailnet = known.first[value].detector == _TAILNET_ID
        for pos in _positions(text, value):
            end = pos + len(value)
            if tailnet and not text.startswith(_TS_NET, end):
                continue
            if _bounded(text, pos, end) and not any(a < end and pos < b for a, b in taken):
                spots.append((pos, value))
                taken.append((pos, end))
    if not spots:
        return [], 0
    pf = documents.parse(src.rel, data, template=src.template)[0]
    idx = LineIndex(pf.text)
    lines = pf.text.split("\n")
    seen: dict[str, int] = {}
    out: list[Finding] = []
    suppressed = 0
    for pos, value in sorted(spots):
        first = known.first[value]
        # The innermost scalar holding the spot gives the context.
        holders = [s for s in (*pf.scalars, *pf.keys) if s.start <= pos < s.end]
        s = min(holders, key=lambda h: h.end - h.start) if holders else None
        if s is not None and skip_context(s.ctx):
            continue
        line, col = idx.pos(pos)
        eline, ecol = idx.pos(pos + len(value))
        if suppressed_inline(lines, line, first.detector):
            suppressed += 1
            continue
        key_path = s.ctx.key_path if s else ()
        place = f"{dotted(key_path) or '~'}#same"
        n = seen.get(place, 0)
        seen[place] = n + 1
        out.append(Finding(
            path=src.rel, line=line, column=col, end_line=eline, end_column=ecol,
            start=pos, end=pos + len(value), key_path=key_path, detector=first.detector,
            value=value, style=s.style if s else "text",
            whole=bool(s and s.value == value and s.style not in ("embedded", "comment", "key")),
            env_name=s.ctx.env_name if s else None, kind=s.ctx.kind if s else None,
            doc=s.doc if s else 0, context=(s.ctx.key or "") if s else "",
            message=f"the same value as the {first.detector} at {first.path}:{first.line}",
            echo=True,
            fingerprint=location_fingerprint(src.rel, place, first.detector, n),
        ))
    return out, suppressed


def _positions(text: str, value: str) -> Iterator[int]:
    pos = text.find(value)
    while pos >= 0:
        yield pos
        pos = text.find(value, pos + 1)


REDACTED = "REDACTED"
_MIN_REDACTED = 6


def redact_key_paths(findings: Sequence[Finding]) -> list[Finding]:
    """A key path (or a text line's key) that holds a found value would carry it into every
    output, baseline and Doppler name: there the value reads REDACTED, and the fingerprint is
    taken from the redacted place (a hash of the raw one would let anyone test guesses)."""
    values = sorted({f.value for f in findings if len(f.value) >= _MIN_REDACTED}, key=len,
                    reverse=True)
    if not values:
        return list(findings)
    pattern = re.compile("|".join(map(re.escape, values)))
    memo: dict[str, str] = {}

    def clean(k: str) -> str:
        if k not in memo:
            memo[k] = pattern.sub(REDACTED, k)
        return memo[k]

    out: list[Finding] = []
    seen: dict[tuple[str, str, str], int] = {}
    for f in findings:
        kp = tuple(clean(k) if isinstance(k, str) else k for k in f.key_path)
        context = clean(f.context)
        if kp == f.key_path and context == f.context:
            out.append(f)
            continue
        place = f"{dotted(kp) or '~' + context}#redacted"
        n = seen.get((f.path, place, f.detector), 0)
        seen[(f.path, place, f.detector)] = n + 1
        out.append(replace(f, key_path=kp, context=context,
                           fingerprint=location_fingerprint(f.path, place, f.detector, n)))
    return out


def list_files(
    roots: Sequence[Path], opts: ScanOptions,
) -> tuple[Path, list[SourceFile], list[str]]:
    base, files, skipped = walk(roots, excludes=opts.excludes, max_bytes=opts.max_bytes)
    return base, files, [f"{s.rel}: {s.reason}" for s in skipped]


def run_scan(
    roots: Sequence[Path],
    opts: ScanOptions,
    *,
    baseline: Baseline | None = None,
    progress: Callable[[int], None] | None = None,
    on_files: Callable[[int, int], None] | None = None,
) -> tuple[ScanResult, list[Finding]]:
    """The whole scan. Returns the result (baselined findings removed) and every finding before
    the baseline (what `--update-baseline` records)."""
    from secretsync.detectors import is_dev_value

    base, files, warnings = list_files(roots, opts)
    if on_files is not None:
        on_files(len(files), sum(f.size for f in files))
    cache: dict[str, ParsedFile | None] = {}
    by_rel = {f.rel: f for f in files}
    findings: list[Finding] = []
    parsed = nbytes = suppressed = 0
    with _Runner(opts.jobs, files) as runner:
        for src, fs, size in _scan_all(runner, progress):
            if fs is None:
                warnings.append(f"{src.rel}: cannot read")
                continue
            nbytes += size
            findings.extend(fs.findings)
            warnings.extend(fs.warnings)
            suppressed += fs.suppressed
            parsed += fs.was_parsed
            if fs.parsed is not None:
                cache[src.rel] = fs.parsed

        from secretsync.detectors import load_detectors

        extra, extra_suppressed = _other_occurrences(findings, load_detectors(), runner)
    findings.extend(extra)
    suppressed += extra_suppressed

    def load(rel: str) -> ParsedFile | None:
        if rel not in cache:
            src = by_rel.get(rel)
            pf = None
            if src is not None and not src.template:
                try:
                    pf = documents.parse(rel, src.read())[0]
                except OSError:
                    pf = None
            cache[rel] = pf
        return cache[rel]

    resolver = EnvResolver([f.rel for f in files], load, opts.env_rules)
    resolved = [g for f in findings for g in resolver.resolve(f, is_dev_value)]
    resolved = [
        f if f.detector != "env-leak" else replace(
            f, fingerprint=location_fingerprint(f.path, f.fingerprint, "env-leak", 0))
        for f in resolved
    ]
    all_findings, all_secrets = group(redact_key_paths(resolved), is_dev_value)
    kept = all_findings
    baselined = 0
    if baseline is not None:
        kept = [f for f in all_findings if not baseline.contains(f)]
        baselined = len(all_findings) - len(kept)
    kept_final, secrets_ = group(kept, is_dev_value) if baseline is not None else (
        all_findings, all_secrets)
    result = ScanResult(
        root=str(base), findings=tuple(kept_final), secrets=tuple(secrets_),
        warnings=tuple(warnings), files_scanned=len(files), files_parsed=parsed,
        bytes_scanned=nbytes, suppressed=suppressed, baselined=baselined,
        environments=resolver.tree_envs,
    )
    return result, all_findings
