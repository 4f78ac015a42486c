"""Redacted previews: enough for a human to recognise a value, never enough to recover it."""

from __future__ import annotations


def preview(value: str) -> str:
    """At most one character in eight is shown, from the start, and never more than four:
    `tail876052` -> `t…(10)`, a 33-character domain -> `dev-…(33)`."""
    shown = min(4, len(value) // 8)
    return f"{value[:shown]}…({len(value)})"
