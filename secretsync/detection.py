"""The detector interface shared by secretsync's scanner and the plugins in detectors/.

A detector looks at one scalar value together with the context the parser found for it and
yields the spans of that value which are account-specific. Context decides ambiguous shapes: a
UUID under `tunnel:` is a Cloudflare tunnel id; the same UUID under `metadata.uid` is nothing.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ahocorasick_rs import AhoCorasick

KeyPath = tuple[str | int, ...]


class Searcher(Protocol):
    """What a prefilter must offer: a compiled `re.Pattern`, or a faster hand-written gate
    with the same `search`, `pattern` and `flags`."""

    @property
    def pattern(self) -> str: ...

    @property
    def flags(self) -> int: ...

    def search(self, string: str, /) -> object | None: ...


@dataclass(frozen=True, slots=True)
class Context:
    """Where a value sits. Every field is optional so detectors can be tested from a line."""

    key: str | None = None
    """The nearest mapping key above the value (`clientId`), or the key of an embedded
    `key = value` / `KEY=value` / `"key": value` line."""
    key_path: KeyPath = ()
    """Keys from the document root, sequence indexes as ints: ('global', 'tailscale', 'id')."""
    env_name: str | None = None
    """The environment variable this value feeds: `- name: X` beside `value:`, or a dotenv key."""
    kind: str | None = None
    """The Kubernetes `kind` of the YAML document, when it has one."""
    api_version: str | None = None
    path: str = ""
    """The file, relative to the scanned root, `/`-separated."""
    embedded: str | None = None
    """Set when the value was found inside a block scalar: cloudflared, json, hcl, ini, dotenv."""
    text_fallback: bool = False
    """True when the file did not parse (or is a Helm template) and was read as text lines."""
    entry_name: str | None = None
    """The `name` beside a `value` in a list entry when it is not an environment variable: a
    Helm parameter of an Argo CD Application (`- name: telegram.chatId` / `value: ...`)."""
    key_lower: str = field(init=False, repr=False, compare=False)
    _keys_lower: tuple[str, ...] | None = field(default=None, init=False, repr=False,
                                                compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_lower", (self.key or "").lower())

    @property
    def keys_lower(self) -> tuple[str, ...]:
        """The string keys of `key_path`, lower-cased: computed on first use, once (most
        scalars of a file are never asked)."""
        keys = self._keys_lower
        if keys is None:
            keys = tuple(k.lower() for k in self.key_path if isinstance(k, str))
            object.__setattr__(self, "_keys_lower", keys)
        return keys


@dataclass(frozen=True, slots=True)
class Hit:
    """`value[start:end]` is account-specific according to detector `detector`."""

    detector: str
    start: int
    end: int


class Detector(Protocol):
    """One kind of value. `id` is stable kebab-case, used in output, config and suppressions."""

    @property
    def id(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def prefilter(self) -> Searcher:
        """A cheap pattern over raw file text. A file where no detector's prefilter matches is
        never parsed, so it must match wherever `find` could fire (the value's shape, or the
        context keyword for context-only shapes)."""
        ...

    def find(self, value: str, ctx: Context) -> Iterable[Hit]: ...


# A detector may also carry `requires: tuple[re.Pattern[str], ...]`: patterns that must ALL
# match the file's text as well as `prefilter` (a context keyword AND a value shape, say). It
# stays optional so that any object with the four members above is a detector.


def requirements(d: Detector) -> tuple[Searcher, ...]:
    reqs: tuple[Searcher, ...] = getattr(d, "requires", ())
    return reqs


def could_fire(
    d: Detector, text: str, memo: dict[tuple[str, int], bool] | None = None,
) -> bool:
    """The file-level gate: the prefilter and every requirement match somewhere in `text`.
    `memo` (one per text) lets detectors that share a pattern (the five `tskey-` kinds) pay
    for one search."""
    if memo is None:
        memo = {}
    for p in (d.prefilter, *requirements(d)):
        key = (p.pattern, p.flags)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = p.search(text) is not None
        if not hit:
            return False
    return True


class GatePlan:
    """Every detector's file-level gate, laid out once per detector set: the distinct searchers
    (prefilters and requirements, shared ones once) and, per detector, which of them must hold.
    `active` answers "which detectors could fire in this text" with each searcher run at most
    once and no per-call allocation beyond one list: on a tree where most files hold nothing,
    this loop is most of the scan."""

    __slots__ = ("costly", "finder", "plan", "searchers")

    def __init__(self, detectors: Iterable[Detector]) -> None:
        index: dict[tuple[str, int], int] = {}
        searchers: list[Searcher] = []
        plan: list[tuple[Detector, tuple[int, ...]]] = []
        for d in detectors:
            idxs: list[int] = []
            for p in (d.prefilter, *requirements(d)):
                key = (p.pattern, p.flags)
                i = index.get(key)
                if i is None:
                    i = index[key] = len(searchers)
                    searchers.append(p)
                idxs.append(i)
            plan.append((d, tuple(idxs)))
        self.searchers = tuple(searchers)
        self.costly = tuple(_costly(p) for p in searchers)
        self.finder = Finder(sorted({n for p, c in zip(searchers, self.costly, strict=True)
                                     if not c for n in needles(p)}))
        # Cheap searchers first: a costly one runs only where the cheap ones held.
        self.plan = tuple((d, tuple(sorted(idxs, key=lambda i: self.costly[i])))
                          for d, idxs in plan)

    def per_file(self, texts: Sequence[str]) -> list[list[Detector]]:
        """`active` for each of `texts`, asked of them joined: the keywords and literal
        prefixes of every cheap searcher are found in one pass over the joined text (see
        `Finder`), and a cheap regex runs over it once, jumping to the next file at each
        hit, so a gate costs a step per file that holds it, not a call per file. A costly
        searcher (a value shape such as a 32-character run, led by no literal) is asked only
        of the files where its detector's cheap searchers all held, one file at a time.

        ASCII files are joined apart from the others: one non-ASCII character makes a
        joined text two or four bytes a character, and lowering, the finder and re are all
        slower on such text (a batch of a real tree nearly always holds one such file)."""
        wide = [i for i, t in enumerate(texts) if not t.isascii()]
        if not wide or len(wide) == len(texts):
            return self._joined(texts)
        narrow = [i for i, t in enumerate(texts) if t.isascii()]
        out: list[list[Detector]] = [[] for _ in texts]
        for group in (narrow, wide):
            for i, active in zip(group, self._joined([texts[i] for i in group]), strict=True):
                out[i] = active
        return out

    def _joined(self, texts: Sequence[str]) -> list[list[Detector]]:
        joined = Joined(texts, self.finder)
        if len(joined.low) != len(joined.text):  # lower() changed a length: offsets differ
            return [self.active(t) for t in texts]
        held: dict[int, set[int]] = {}
        costly_memo: dict[tuple[int, int], bool] = {}
        out: list[list[Detector]] = [[] for _ in texts]
        for d, idxs in self.plan:
            files: set[int] | None = None
            for i in idxs:
                if not self.costly[i]:
                    hit = held.get(i)
                    if hit is None:
                        hit = held[i] = joined.holding(self.searchers[i])
                    files = hit if files is None else files & hit
                else:
                    keep = set()
                    for f in range(len(texts)) if files is None else sorted(files):
                        h = costly_memo.get((i, f))
                        if h is None:
                            h = costly_memo[i, f] = self.searchers[i].search(texts[f]) is not None
                        if h:
                            keep.add(f)
                    files = keep
                if not files:
                    break
            for f in files or ():
                out[f].append(d)
        return out

    def active(self, text: str, skip: tuple[bool, ...] | None = None) -> list[Detector]:
        """The detectors whose gate holds in `text`; `skip`: searchers taken to hold."""
        memo: list[bool | None] = [None] * len(self.searchers) if skip is None else [
            True if s else None for s in skip]
        searchers = self.searchers
        out = []
        for d, idxs in self.plan:
            for i in idxs:
                hit = memo[i]
                if hit is None:
                    hit = memo[i] = searchers[i].search(text) is not None
                if not hit:
                    break
            else:
                out.append(d)
        return out


_ANCHOR = re.compile(r"(?<!\\)[$^]|\\[AZbB]")
_CLASS = re.compile(r"\[\^?\]?(?:\\.|[^\]\\])*\]")


@functools.cache
def _anchored(pattern: str) -> bool:
    """An anchor or a word boundary (outside character classes): it would mean something else
    in joined text, so such a regex is asked of each file."""
    return bool(_ANCHOR.search(_CLASS.sub("", pattern)))


_LITERAL = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])")
_MIN_PREFIX = 3


@functools.cache
def _literal_prefixes(p: re.Pattern[str]) -> tuple[str, ...]:
    """The literal text every match of `p` starts with, one per top-level branch (`SG.` for
    `SG\\.`), or () when a branch starts with fewer than `_MIN_PREFIX` literal characters
    (a short prefix stands too often for a step per place to pay)."""
    if p.flags & (re.IGNORECASE | re.VERBOSE):
        return ()
    out: list[str] = []
    for branch in _branches(p.pattern):
        chars: list[str] = []
        pos = 0
        while m := _LITERAL.match(branch, pos):
            chars.append(m.group()[-1])
            pos = m.end()
        if branch[pos:pos + 1] in ("*", "+", "?", "{") and chars:
            chars.pop()  # a quantifier makes the last character optional or repeated
        if len(chars) < _MIN_PREFIX:
            return ()
        out.append("".join(chars))
    return tuple(out)


def needles(p: Searcher) -> tuple[str, ...]:
    """The lower-case strings whose places a cheap searcher asks of `Joined`: a keyword gate's
    words (its `needles`), a regex's literal prefixes, an `AnyOf`'s parts' needles."""
    own: tuple[str, ...] | None = getattr(p, "needles", None)
    if own is not None:
        return own
    parts: tuple[Searcher, ...] | None = getattr(p, "parts", None)
    if parts is not None:
        return tuple(n for q in parts for n in needles(q))
    if isinstance(p, re.Pattern) and not _anchored(p.pattern):
        return tuple(x.lower() for x in _literal_prefixes(p))
    return ()


_WINDOW = 64 * 1024


class Finder:
    """Every place of each of `words` in a text, found in one pass (Aho-Corasick, in Rust:
    `ahocorasick_rs`). A pass of `str.find` per word was a third of a one-core scan of a
    public GitOps corpus: some 60 words, each a pass over every byte."""

    __slots__ = ("_automaton", "words")

    def __init__(self, words: Sequence[str]) -> None:
        self.words = tuple(words)
        self._automaton = AhoCorasick(self.words) if self.words else None

    def places(self, text: str) -> dict[str, list[int]]:
        """Each word's start offsets in `text`, ascending (overlapping places included:
        `pass` inside `password` is one of each)."""
        automaton = self._automaton
        if automaton is None:
            return {}
        found: list[list[int]] = [[] for _ in self.words]
        # A window at a time: the automaton returns a window's matches as one list of
        # tuples, which for a file made of one keyword repeated would be ten times the file.
        # A match that starts in the overlap belongs to the next window.
        overlap = max(map(len, self.words)) - 1
        for at in range(0, len(text), _WINDOW):
            try:
                matches = automaton.find_matches_as_indexes(
                    text[at:at + _WINDOW + overlap], overlapping=True)
            except UnicodeEncodeError:
                # Bytes that are not UTF-8 decode to lone surrogates, which the Rust side
                # cannot take: such a text is searched a word at a time.
                return {w: list(_positions(text, w)) for w in self.words}
            for i, start, _end in matches:
                if start < _WINDOW:
                    found[i].append(at + start)
        return dict(zip(self.words, found, strict=True))


class Joined:
    """Files joined by a blank line (no gate pattern matches across one), for gates asked of
    them all at once. `holding(searcher)` is the set of file indexes where it holds. The
    places of `finder`'s words in the lower-cased text are found once, in one pass, when the
    files are joined."""

    __slots__ = ("_places", "low", "starts", "text", "texts")

    def __init__(self, texts: Sequence[str], finder: Finder | None = None) -> None:
        self.texts = texts
        self.text = "\n\n".join(texts)
        self.low = self.text.lower()
        starts = []
        pos = 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + 2
        starts.append(pos)
        self.starts = starts
        self._places: dict[str, list[int]] = finder.places(self.low) if finder else {}

    def files_with(self, find: Callable[[int], int]) -> set[int]:
        """The files holding a hit of `find(pos)` (the offset of the first hit at or after
        `pos`, or -1), found with one call per file that holds one, plus one."""
        out: set[int] = set()
        starts = self.starts
        pos = 0
        while pos < starts[-1]:
            hit = find(pos)
            if hit < 0:
                break
            i = bisect.bisect_right(starts, hit) - 1
            out.add(i)
            pos = starts[i + 1]
        return out

    def with_word(self, word: str) -> set[int]:
        """The files holding `word` (lower case) in any case."""
        return self.files_at(self.places(word))

    def files_at(self, places: Sequence[int],
                 holds: Callable[[int], bool] | None = None) -> set[int]:
        """The files holding one of `places` (ascending) where `holds` (if given) is true of
        it: once a file holds, its other places are skipped (a bisect), so a file that
        repeats a word a million times costs no more than one that has it once."""
        out: set[int] = set()
        starts = self.starts
        j, n = 0, len(places)
        while j < n:
            pos = places[j]
            if holds is None or holds(pos):
                i = bisect.bisect_right(starts, pos) - 1
                out.add(i)
                j = bisect.bisect_left(places, starts[i + 1], j)
            else:
                j += 1
        return out

    def places(self, sub: str) -> list[int]:
        """Every offset of `sub` (lower case) in the lower-cased text: from the finder's one
        pass, or (a word it was not given) found now, once."""
        found = self._places.get(sub)
        if found is None:
            found = self._places[sub] = list(_positions(self.low, sub))
        return found

    def holding(self, searcher: Searcher) -> set[int]:
        holds_in = getattr(searcher, "holds_in", None)
        if holds_in is not None:
            found: set[int] = holds_in(self)
            return found
        if isinstance(searcher, re.Pattern) and not _anchored(searcher.pattern):
            text = self.text
            prefixes = _literal_prefixes(searcher)
            if prefixes:
                # A match starts where one of its branches' literal prefixes stands, and the
                # finder knows those places (lower-cased: the case is checked here).
                match, out = searcher.match, set()
                for prefix in prefixes:

                    def starts_match(pos: int, prefix: str = prefix) -> bool:
                        return text.startswith(prefix, pos) and match(text, pos) is not None

                    out |= self.files_at(self.places(prefix.lower()), starts_match)
                return out

            def search(pos: int) -> int:
                m = searcher.search(text, pos)
                return m.start() if m else -1

            return self.files_with(search)
        return {i for i, t in enumerate(self.texts) if searcher.search(t) is not None}


def _positions(text: str, sub: str) -> Iterator[int]:
    pos = text.find(sub)
    while pos >= 0:
        yield pos
        pos = text.find(sub, pos + 1)


def _costly(p: Searcher) -> bool:
    """A regex with a branch that has no literal to skip to (one that starts with a group, a
    class or a lookaround): Python's re tries it at every position of a text. Hand-written
    gates (keywords) and literal-led patterns run at memory speed. A gate that says so
    (`costly`, the value shapes of detectors/_common.Delimited) is asked one file at a time;
    a gate made of parts (`AnyOf`) is as costly as its costliest part."""
    if getattr(p, "costly", False):
        return True
    parts = getattr(p, "parts", None)
    if parts is not None:
        return any(_costly(q) for q in parts)
    if not isinstance(p, re.Pattern):
        return False
    return any(b[:1] in ("(", "[", "") for b in _branches(p.pattern))


def _branches(pattern: str) -> list[str]:
    """The top-level alternatives of a regex."""
    out: list[str] = []
    depth = start = 0
    escaped = in_class = False
    for i, c in enumerate(pattern):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    out.append(pattern[start:])
    return out


@dataclass(frozen=True, slots=True)
class Example:
    """A value and its context, with the detector ids that must fire (empty: nothing may)."""

    value: str
    ctx: Context = field(default_factory=Context)
    expect: frozenset[str] = frozenset()
    why: str = ""


def whole(detector: str, value: str) -> Iterator[Hit]:
    """A hit covering the whole value."""
    yield Hit(detector, 0, len(value))


ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
