"""`secretsync verify PATH`: the release gate. Exit 0 when every selected check passes, 1 when
one fails, 2 on a usage or configuration error, 3 on a bug (the CLI maps the last two).

Thin: parse arguments, run `secretsync.verify.run_verify`, print the report.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from secretsync.errors import EXIT_FINDINGS, EXIT_OK
from secretsync.redact import say


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


class Check(StrEnum):
    literal = "literal"
    unresolved_ref = "unresolved-ref"
    missing_remote = "missing-remote"
    store = "store"
    env_leak = "env-leak"
    schema = "schema"
    build = "build"
    follow_up = "follow-up"
    equivalence = "equivalence"


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    path: Annotated[Path, typer.Argument(help="The tree's root.")] = Path("."),
    offline: Annotated[bool, typer.Option(
        "--offline", help="Run only what needs no Doppler (pull requests from forks).")] = False,
    fmt: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = VerifyFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the report here, not stdout.")] = None,
    check: Annotated[list[Check] | None, typer.Option(
        "--check", help="Run only this check (repeatable).")] = None,
    skip: Annotated[list[Check] | None, typer.Option(
        "--skip", help="Do not run this check (repeatable).")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="Accepted findings (from `secretsync scan --update-baseline`).")
    ] = None,
    project: Annotated[str | None, typer.Option(
        "--project", "-p", help="Doppler project for stores that name none.")] = None,
    schema_dir: Annotated[Path | None, typer.Option(
        "--schema-dir", help="ESO v1 JSON Schemas (external-secrets-v2.9.0).")] = None,
    kubectl: Annotated[str | None, typer.Option(
        "--kubectl", help="kubectl to build kustomizations with (default: from PATH).")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail on open follow-ups and on checks that could not run.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Scan worker processes (0: one per "
                                                           "core).")] = 0,
    against: Annotated[str, typer.Option(
        "--against", help="Git revision the equivalence check compares with.")] = "HEAD",
    config_from: Annotated[str | None, typer.Option(
        "--config-from", metavar="REV",
        help="Read .secretsync.yaml from this git revision, not the work tree (a pull request's "
             "target branch: the pull request cannot weaken its own gate).")] = None,
) -> None:
    """Is this tree safe to ship? Runs every check; exit 0 only when all pass.

    Checks: literal, unresolved-ref, missing-remote, store, env-leak, schema, build, follow-up,
    equivalence.
    Full mode reads Doppler names (and, for env-leak, compares values as keyed hashes in
    memory) with DOPPLER_TOKEN_<CONFIG> or DOPPLER_TOKEN: use read-only service tokens.
    """
    from secretsync.verify import CheckId, VerifyOptions, run_verify
    from secretsync.verify.render import render, table

    opts = VerifyOptions(
        offline=offline,
        only=frozenset(CheckId(c.value) for c in check or ()),
        skip=frozenset(CheckId(c.value) for c in skip or ()),
        baseline=baseline, project=project, schema_dir=schema_dir, kubectl=kubectl,
        strict=strict, jobs=jobs, against=against, config_from=config_from,
    )
    report = run_verify(path, opts)
    text = render(report, fmt.value)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        if fmt is not VerifyFormat.table:
            # The file is for machines (and holds the details); the person at the terminal
            # still gets the verdict.
            sys.stderr.write(table(report, details=False))
    else:
        sys.stdout.write(text)
    for w in report.warnings:
        say(f"warning: {w}", err=True)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FINDINGS)
