"""The detector interface shared by secretsync's scanner and the plugins in detectors/.

A detector looks at one scalar value together with the context the parser found for it and
yields the spans of that value which are account-specific. Context decides ambiguous shapes: a
UUID under `tunnel:` is a Cloudflare tunnel id; the same UUID under `metadata.uid` is nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

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
    keys_lower: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The string keys of `key_path`, lower-cased: computed once, asked for on every value."""
    key_lower: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "keys_lower", tuple(k.lower() for k in self.key_path if isinstance(k, str)))
        object.__setattr__(self, "key_lower", (self.key or "").lower())


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

    __slots__ = ("costly", "plan", "searchers")

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
        self.plan = tuple(plan)
        self.costly = tuple(_costly(p) for p in searchers)

    def narrowed(self, text: str) -> GatePlan:
        """The plan of the detectors whose gate holds somewhere in `text`: asked once of many
        files joined (a gate is a search, so one that fails on the whole fails on each part),
        it spares each file the searches for what none of them holds.
        Only the searchers with a literal to skip to are asked of the joined text: one
        without (a value shape such as a 32-character run) costs a pass over every byte
        whatever it finds, and holds somewhere in most batches; it is left to each file,
        asked only after the file's cheap searchers held."""
        keep = frozenset(id(d) for d in self.active(text, skip=self.costly))
        sub = GatePlan(())
        sub.searchers = self.searchers
        sub.costly = self.costly
        sub.plan = tuple(e for e in self.plan if id(e[0]) in keep)
        return sub

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


def _costly(p: Searcher) -> bool:
    """A regex with a branch that has no literal to skip to (one that starts with a group, a
    class or a lookaround): Python's re tries it at every position of a text. Hand-written
    gates (keywords) and literal-led patterns run at memory speed. A gate made of parts
    (`AnyOf`) is as costly as its costliest part."""
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
