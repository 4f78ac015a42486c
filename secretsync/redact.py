"""Redacted previews: enough for a human to recognise a value, never enough to recover it."""

from __future__ import annotations

import re
import sys

# C0/C1 controls (ESC starts terminal escape sequences; a line break lets a name start a CI
# workflow command such as `::error`), Unicode line separators, and bidi overrides (Trojan Source).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The one escaping function for human-readable output (tables, plans, reports, warnings,
    errors): anything from a tree (paths, keys, names) with its control characters escaped."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def preview(value: str) -> str:
    """At most one character in eight is shown, from the start, and never more than four:
    `tail876052` -> `t…(10)`, a 33-character domain -> `dev-…(33)`."""
    shown = min(4, len(value) // 8)
    return f"{value[:shown]}…({len(value)})"


def written_forms(token: str, value: str) -> set[str]:
    """The pieces of a scalar's token as written that a line-by-line diff can show: the token,
    its text inside the quotes, and each of its lines when it spans several (never pieces
    shorter than four characters, nor the value itself, which callers redact already)."""
    forms = {token}
    quoted = len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]
    inner = token[1:-1] if quoted else token
    forms.add(inner)
    lines = [ln.strip() for ln in inner.splitlines()]
    if len(lines) > 1:
        forms.update(lines)
    return {f for f in forms if len(f) >= 4 and f != value}


def say(line: str = "", *, err: bool = False) -> None:
    """Print one line of human output through `printable`: a line break or an escape sequence
    inside a path, key or name cannot start another line or reach the terminal."""
    (sys.stderr if err else sys.stdout).write(printable(line) + "\n")
