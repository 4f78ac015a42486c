"""`secretsync scan`."""

from __future__ import annotations

import sys
from pathlib import Path

from secretsync import baseline as baseline_mod
from secretsync import formats
from secretsync.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from secretsync.scan import ScanOptions, run_scan


def run(
    paths: list[Path],
    *,
    fmt: str,
    output: Path | None,
    baseline_path: Path | None,
    update_baseline: bool,
    excludes: tuple[str, ...],
    max_bytes: int,
    progress: bool,
    jobs: int = 0,
) -> int:
    if update_baseline and baseline_path is None:
        raise UsageError("--update-baseline needs --baseline FILE")
    if jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    if max_bytes <= 0:
        raise UsageError("--max-file-size must be positive")
    bl = None
    if baseline_path is not None:
        if update_baseline and not baseline_path.exists():
            bl = baseline_mod.Baseline.new()
        else:
            bl = baseline_mod.load(baseline_path)
    opts = ScanOptions(excludes=excludes, max_bytes=max_bytes, jobs=jobs)
    show_progress = progress and sys.stderr.isatty()
    if show_progress:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        with Progress("scanning", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                      transient=True) as bar:
            task = bar.add_task("scan", total=None)
            result, everything = run_scan(
                paths, opts, baseline=None if update_baseline else bl,
                progress=lambda n: bar.advance(task, n),
                on_files=lambda _n, total: bar.update(task, total=total),
            )
    else:
        result, everything = run_scan(paths, opts, baseline=None if update_baseline else bl)
    from secretsync.redact import printable

    for w in result.warnings:
        print(f"warning: {printable(w)}", file=sys.stderr)
    if update_baseline:
        assert bl is not None and baseline_path is not None
        baseline_mod.save(bl.updated(everything), baseline_path)
        print(f"baseline: recorded {len(everything)} findings in {baseline_path}", file=sys.stderr)
        return EXIT_OK
    if fmt == "table" and output is None:
        import shutil

        from secretsync.formats import table

        # The terminal's width (COLUMNS when set), not a fixed one.
        text = table.render(result, width=max(60, shutil.get_terminal_size((160, 24)).columns))
    else:
        text = formats.get(fmt)(result)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if result.findings else EXIT_OK
