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


def render(result: ScanResult, width: int = 160, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color,
                      highlight=False)
    if not result.findings:
        console.print(f"No findings in {result.files_scanned} files.")
        return buf.getvalue()
    table = Table(title=f"{len(result.secrets)} secrets in {len(result.findings)} places",
                  show_lines=True)
    table.add_column("Doppler name", style="bold")
    table.add_column("Detector")
    table.add_column("Envs")
    table.add_column("Preview")
    table.add_column("Places (path:line:column key.path)", overflow="fold")
    for g in result.secrets:
        places = "\n".join(
            printable(f"{f.path}:{f.line}:{f.column}"
                      + (f" {f.key_path_dotted}" if f.key_path_dotted else ""))
            + (" [env-leak]" if f.detector == "env-leak" else "")
            for f in g.findings
        )
        detectors = ", ".join(sorted({f.detector for f in g.findings}))
        table.add_row(_cell(g.name), _cell(detectors), _cell(printable(", ".join(g.environments))),
                      _cell(printable(preview(g.value))), _cell(places))
    console.print(table)
    leaks = [f for f in result.findings if f.detector == "env-leak"]
    for f in leaks:
        console.print(_cell(printable(f"env-leak: {f.path}:{f.line}: {f.message}")))
    return buf.getvalue()
