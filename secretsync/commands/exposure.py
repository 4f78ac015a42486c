"""`secretsync exposure [PATH]`: what git history still gives away, and what to rotate.

Exit 0 when no credential is exposed (only identifiers, or nothing); 1 when a credential is (with
`--rev-range`: when the range's commits add one, even if a later commit of the range removes it);
2 on usage errors (not a git repository, a bad range); 3 on a bug.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from secretsync.errors import EXIT_FINDINGS, EXIT_OK, UsageError


class ExposureFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def register(app: typer.Typer) -> None:
    app.command("exposure")(exposure)


def exposure(
    path: Annotated[Path, typer.Argument(help="The repository (or a directory inside it).")
                    ] = Path("."),
    rev_range: Annotated[str | None, typer.Option(
        "--rev-range", help="Only the commits of A..B (CI: origin/main..HEAD); default: every "
                            "commit reachable from the repository's refs.")] = None,
    fmt: Annotated[ExposureFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = ExposureFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the report here, not stdout.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Glob of paths to skip (repeatable).")] = None,
    max_file_size: Annotated[int, typer.Option(
        "--max-file-size", help="Skip (and report) blobs larger than this many bytes.")
    ] = 8 << 20,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per "
                                                           "core).")] = 0,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not ask Doppler which names hold the values.")] = False,
    project: Annotated[str | None, typer.Option(
        "--project", "-p", help="Doppler project (default: .secretsync.yaml, DOPPLER_PROJECT).")
    ] = None,
) -> None:
    """Every value the detectors find anywhere in git history: first and last commit, whether
    HEAD still holds it, its Doppler name, and whether to rotate it (with how).

    Exit 0: no credential exposed (identifiers only, or nothing); 1: a credential is (with
    --rev-range: the range adds one); 2: usage error (not a git repository, bad range).
    """
    from secretsync import config as config_mod
    from secretsync.exposure import ExposureOptions, run_exposure
    from secretsync.exposure.naming import name_in_doppler
    from secretsync.exposure.render import render

    if jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    if max_file_size <= 0:
        raise UsageError("--max-file-size must be positive")
    from secretsync.exposure.git import repo_root

    cfg = config_mod.load(repo_root(path), project=project)
    opts = ExposureOptions(rev_range=rev_range, excludes=(*cfg.excludes, *(exclude or ())),
                           max_bytes=max_file_size, jobs=jobs, names=dict(cfg.names))
    report = run_exposure(path, opts)
    report = name_in_doppler(report, cfg, offline=offline)
    text = render(report, fmt.value)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    from secretsync.formats.table import printable

    for w in report.warnings:
        print(f"warning: {printable(w)}", file=sys.stderr)
    exposed = any(e.rotation.rotate and e.added for e in report.secrets)
    raise typer.Exit(EXIT_FINDINGS if exposed else EXIT_OK)
