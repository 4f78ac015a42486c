"""Report formats. Each takes a ScanResult and returns text; none ever sees more of a value
than `redact.preview` gives it."""

from __future__ import annotations

from collections.abc import Callable

from secretsync.models import ScanResult

Formatter = Callable[[ScanResult], str]


def get(name: str) -> Formatter:
    """The named format's renderer; only its module is imported (the table's pulls in rich)."""
    import importlib

    module = {"json": "json_format", "sarif": "sarif", "table": "table"}[name]
    render: Formatter = importlib.import_module(f"secretsync.formats.{module}").render
    return render
