"""`--format table`: findings grouped by secret, for a person at a terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from secretsync.models import ScanResult
from secretsync.redact import preview, printable

__all__ = ["printable", "render"]  # printable: kept importable from here (one function)


def _cell(text: str) -> Text:
    # Text, not str: rich would read `[...]` in a path as markup (and crash on `[/x]`).
    return Text(text)


_UNREAD = ("binary file skipped", "cannot read")


def render(result: ScanResult, width: int = 160, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color,
                      highlight=False)
    if not result.findings:
        unread = sum(1 for w in result.warnings if w.endswith(_UNREAD))
        note = f" ({unread} not read: see the warnings)" if unread else ""
        console.print(f"No findings in {result.files_scanned - unread} files{note}.")
        return buf.getvalue()
    # The table of secrets fits the terminal's width; the places follow as whole lines (a path
    # is never broken inside a word, so it can be copied).
    table = Table(title=f"{len(result.secrets)} secrets in {len(result.findings)} places")
    table.add_column("Doppler name", style="bold", overflow="fold")
    table.add_column("Detector", overflow="fold")
    table.add_column("Envs")
    table.add_column("Preview", no_wrap=True)
    table.add_column("Places", justify="right")
    for g in result.secrets:
        detectors = ", ".join(sorted({f.detector for f in g.findings}))
        table.add_row(_cell(g.name), _cell(detectors), _cell(printable(", ".join(g.environments))),
                      _cell(printable(preview(g.value))), _cell(str(len(g.findings))))
    console.print(table)
    for g in result.secrets:
        console.print()
        console.print(_cell(f"{g.name} (path:line:column key.path)"), style="bold")
        for f in g.findings:
            place = printable(f"  {f.path}:{f.line}:{f.column}"
                              + (f" {f.key_path_dotted}" if f.key_path_dotted else "")
                              + (" [env-leak]" if f.detector == "env-leak" else ""))
            console.print(_cell(place), soft_wrap=True)
    leaks = [f for f in result.findings if f.detector == "env-leak"]
    for f in leaks:
        console.print(_cell(printable(f"env-leak: {f.path}:{f.line}: {f.message}")))
    return buf.getvalue()
