"""Report formats. Each takes a ScanResult and returns text; none ever sees more of a value
than `redact.preview` gives it."""

from __future__ import annotations

from collections.abc import Callable

from secretsync.models import ScanResult

Formatter = Callable[[ScanResult], str]


def get(name: str) -> Formatter:
    from secretsync.formats import json_format, sarif, table

    return {"json": json_format.render, "sarif": sarif.render, "table": table.render}[name]
