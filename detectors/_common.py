"""Building blocks shared by the provider modules: a pattern detector, context helpers, and the
adapter that turns detectors into detect-secrets plugins.

Imported absolutely (`secretsync.detectors._common`) because detect-secrets loads provider files
by path, where relative imports fail. Names here that are not plugins start with `_` or are not
BasePlugin subclasses with a concrete `secret_type`, so detect-secrets' loader skips them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from detect_secrets.plugins.base import RegexBasedDetector

from secretsync.detection import Context, Detector, Hit, Joined, Searcher
from secretsync.exclusions import skip_context, skip_value, stand_in

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def norm(name: str | None) -> str:
    """`AUTH0_CLIENT_ID`, `clientId`, `client-id` all become `clientid` (and `auth0clientid`)."""
    return _NON_ALNUM.sub("", name.lower()) if name else ""


def names(ctx: Context) -> tuple[str, ...]:
    """The normalized names that describe a value: its key and the env var it feeds."""
    out = []
    if ctx.key:
        out.append(norm(ctx.key))
    if ctx.env_name:
        out.append(norm(ctx.env_name))
    elif ctx.entry_name:
        # A Helm parameter's last part names the value (`alertmanager.telegram.chatId`).
        out.append(norm(ctx.entry_name.rsplit(".", 1)[-1]))
    return tuple(out)


def path_has(ctx: Context, word: str) -> bool:
    """True when `word` (normalized) is part of any key on the path, the key or the env name."""
    if any(word in n for n in names(ctx)):
        return True
    return any(word in norm(k) for k in ctx.keys_lower)


_REF_SUFFIXES = ("ref", "secretname", "existingsecret", "configmapname")


def is_reference(ctx: Context) -> bool:
    """A key on the path that names a Secret or points at a value (`clientSecretRef`,
    `existingSecret`): what sits below it is a name or key, not the value itself. Wider than
    exclusions.REFERENCE_KEYS, which only knows the exact Kubernetes/ESO spellings."""
    return any(norm(k).endswith(_REF_SUFFIXES) for k in ctx.key_path if isinstance(k, str))


def parent(ctx: Context) -> str:
    """The normalized key above the value's own key (`tunnel` for `tunnel.id`)."""
    keys = [k for k in ctx.key_path if isinstance(k, str)]
    return norm(keys[-2]) if len(keys) >= 2 else ""


def ci(*words: str) -> str:
    """Key words as they appear in lower, Capitalized or UPPER form (the spellings of camelCase,
    PascalCase, snake_case, kebab-case and SCREAMING_CASE keys), as a flat alternation.

    Prefilters are flat alternations whose branches start with a literal or a character class
    because that is what Python's re can skip through quickly (~60-250 MB/s); re.I or nested
    groups make it try every branch at every position (~5-10 MB/s). Joined with `|` they stay
    flat.
    """
    forms: dict[str, None] = {}
    for word in words:
        for form in (word, word[:1].upper() + word[1:], word.upper()):
            forms[re.escape(form)] = None
    return "|".join(forms)


_lowered: list[str] = ["", ""]


def lowered(text: str) -> str:
    """`text.lower()`, computed once for the run of gates that ask about the same text."""
    if _lowered[0] is not text:
        _lowered[0], _lowered[1] = text, text.lower()
    return _lowered[1]


@dataclass(frozen=True, slots=True)
class Keywords:
    """A prefilter that holds when any of `words` (lower case) occurs, in any case. `str`'s
    substring search runs at memory speed; a regex alternation of the same words spelled in
    every case tries its branches at most positions of a file."""

    words: tuple[str, ...]
    flags: int = 0

    @property
    def pattern(self) -> str:
        return "keywords:" + ",".join(self.words)

    @property
    def needles(self) -> tuple[str, ...]:
        """What `holds_in` asks `Joined` the places of (see `GatePlan`)."""
        return self.words

    def search(self, string: str, /) -> bool | None:
        text = lowered(string)
        for w in self.words:
            if w in text:
                return True
        return None

    def holds_in(self, joined: Joined) -> set[int]:
        """The joined files holding any of the words (see `GatePlan.per_file`)."""
        out: set[int] = set()
        for w in self.words:
            out |= joined.with_word(w)
        return out


_LEADING_LOOKBEHIND = re.compile(r"\(\?<!\[([^\]]+)\]\)")


class Delimited:
    """A value-shape gate `(?<![C])shape`, where C is the shape's own characters (a
    32-character run, a UUID): searched as `[^C](?:shape)`, and as `shape` at the text's
    start. Same files hold; but Python's re steps a pattern that starts with a lookbehind
    through every position, calling its matcher at each, where one that starts with a
    character class skips in a tight loop to the next character of it, here the next
    delimiter (several times faster on YAML, where most characters are letters)."""

    __slots__ = ("_at_start", "_led", "pattern")
    flags = 0
    costly = True
    """Asked of one file at a time, where the detector's cheap gates held (see GatePlan)."""

    def __init__(self, pattern: str) -> None:
        m = _LEADING_LOOKBEHIND.match(pattern)
        if m is None:
            raise ValueError("a Delimited pattern starts with (?<![...])")
        shape = pattern[m.end():]
        self.pattern = pattern
        self._led = re.compile(f"[^{m.group(1)}](?:{shape})")
        self._at_start = re.compile(shape)

    def search(self, string: str, /) -> object | None:
        return self._at_start.match(string) or self._led.search(string)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A prefilter that holds when any of `parts` does. Each part is searched on its own so
    that each keeps a literal prefix, which Python's re skips to at memory speed; one
    alternation of them (`AC...|SK...`) is tried branch by branch at every position of a file
    (~20-60 MB/s)."""

    parts: tuple[Searcher, ...]
    flags: int = 0

    @property
    def pattern(self) -> str:
        return "any:" + "|".join(p.pattern for p in self.parts)

    def search(self, string: str, /) -> bool | None:
        for p in self.parts:
            if p.search(string) is not None:
                return True
        return None

    def holds_in(self, joined: Joined) -> set[int]:
        out: set[int] = set()
        for p in self.parts:
            out |= joined.holding(p)
        return out


@dataclass(frozen=True, slots=True)
class PatternDetector:
    """A regex over the value, optionally gated by context and checked per match."""

    id: str
    description: str
    prefilter: Searcher
    pattern: re.Pattern[str]
    group: int = 0
    needs: Callable[[Context], bool] | None = None
    """Context gate, evaluated before the regex (cheap) so most scalars stop here."""
    accept: Callable[[str, Context], bool] | None = None
    quick: str | None = None
    """A substring every match contains: a plain `in` test is far cheaper than a regex."""
    requires: tuple[Searcher, ...] = ()
    """Patterns that must also match the file's text (see secretsync.detection.could_fire)."""

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        if self.quick is not None and self.quick not in value:
            return ()
        if self.needs is not None and (not self.needs(ctx) or is_reference(ctx)):
            return ()
        hits = []
        for m in self.pattern.finditer(value):
            text = m.group(self.group)
            if text is None:
                continue
            if self.accept is None or self.accept(text, ctx):
                hits.append(Hit(self.id, m.start(self.group), m.end(self.group)))
        return hits


# --- lines, for the detect-secrets adapter -------------------------------------------------

_KV = re.compile(
    r"""^\s*(?:-\s+)?(?:export\s+)?
    (?P<q>["']?)(?P<key>[A-Za-z_][\w.\-/]*)(?P=q)
    \s*(?::(?=[\s"'{\[]|$)|:=|=(?!=))[ \t]*""",
    re.X,
)
_ITEM = re.compile(r"^\s*-\s+")
_ENV_NAME = re.compile(r"""^\s*-?\s*name\s*:\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*$""")
_CHILD = re.compile(r"""^(\s*)(?:-\s+)?["']?([A-Za-z_][\w.\-/]*)["']?\s*:\s*(?:#.*)?$""")


@dataclass(frozen=True, slots=True)
class LineValue:
    key: str | None
    value: str
    offset: int
    """Where `value` starts in the line, so hits can be mapped back."""


def parse_line(line: str) -> LineValue:
    """Split `key: value`, `KEY=value`, `key = "value"`, `"key": "value",` or `- value`."""
    key: str | None = None
    start = 0
    m = _KV.match(line)
    if m:
        key = m.group("key")
        start = m.end()
    else:
        item = _ITEM.match(line)
        if item:
            start = item.end()
    rest = line[start:]
    # Leading whitespace of an unmatched line.
    stripped = rest.lstrip()
    start += len(rest) - len(stripped)
    rest = stripped.rstrip()
    if rest[:1] in ('"', "'"):
        q = rest[0]
        end = rest.find(q, 1)
        if end > 0:
            return LineValue(key, rest[1:end], start + 1)
        return LineValue(key, rest[1:], start + 1)
    comment = re.search(r"\s+#", rest)
    if comment:
        rest = rest[: comment.start()]
    if key is not None and rest.endswith(","):
        rest = rest[:-1].rstrip()
    return LineValue(key, rest, start)


def context_from_lines(line: str, before: Iterable[str]) -> Context:
    """A Context from one line plus the lines above it (nearest last): the env var name of a
    `- name: X` / `value:` pair and the parent mapping keys, which is what YAML gives a human."""
    lv = parse_line(line)
    env_name: str | None = None
    indent = len(line) - len(line.lstrip(" -"))
    parents: list[str] = []
    prev = list(before)
    if lv.key is not None and lv.key.lower() == "value" and prev:
        em = _ENV_NAME.match(prev[-1])
        if em:
            env_name = em.group(1)
    elif lv.key is not None and re.fullmatch(r"[A-Z_][A-Z0-9_]*", lv.key):
        env_name = lv.key
    for text in reversed(prev):
        if not text.strip():
            continue
        cm = _CHILD.match(text)
        if not cm:
            continue
        ind = len(cm.group(1))
        if ind < indent:
            parents.append(cm.group(2))
            indent = ind
            if ind == 0:
                break
    key_path: tuple[str | int, ...] = (*reversed(parents), *([lv.key] if lv.key else []))
    return Context(key=lv.key, key_path=key_path, env_name=env_name, text_fallback=True)


def run(detectors: Iterable[Detector], value: str, ctx: Context) -> Iterator[Hit]:
    """Run detectors as the scanner does: exclusions first, then every detector, then drop
    hits that only stand for a credential (a placeholder, once decoded too)."""
    if skip_value(value) or skip_context(ctx):
        return
    for d in detectors:
        for hit in d.find(value, ctx):
            if not stand_in(value[hit.start:hit.end]):
                yield hit


class LinePlugin(RegexBasedDetector):
    """Adapter from a secretsync Detector to a detect-secrets plugin.

    `secret_type` stays abstract here on purpose: detect-secrets registers every BasePlugin
    subclass in a plugin file whose `secret_type` is concrete, and this base must not be one.
    It derives from RegexBasedDetector rather than BasePlugin because detect-secrets'
    `is_likely_id_string` filter drops findings of non-regex plugins on lines such as
    `client_id: ...`, and context on exactly such keys is what these detectors rely on.
    """

    detector: ClassVar[Detector]
    denylist: ClassVar[tuple[re.Pattern[str], ...]] = ()

    def __init__(self, **_: Any) -> None:
        pass

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        lv = parse_line(string)
        ctx = context_from_lines(string, ())
        for hit in run((self.detector,), lv.value, ctx):
            yield lv.value[hit.start : hit.end]

    def analyze_line(
        self,
        filename: str,
        line: str,
        line_number: int = 0,
        context: Any = None,
        **kwargs: Any,
    ) -> set[Any]:
        # Overridden (not inherited) because BasePlugin.analyze_line reads detect-secrets'
        # global settings to decide on verification; these plugins never verify.
        from detect_secrets.core.potential_secret import PotentialSecret

        before: list[str] = []
        if context is not None:
            before = list(context.lines[: context.target_index])
        lv = parse_line(line)
        ctx = context_from_lines(line, before)
        out: set[Any] = set()
        for hit in run((self.detector,), lv.value, ctx):
            out.add(
                PotentialSecret(
                    type=self.secret_type,
                    filename=filename,
                    secret=lv.value[hit.start : hit.end],
                    line_number=line_number,
                )
            )
        return out
