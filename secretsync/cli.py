"""The command line: parse arguments, call the pipeline, map errors to exit codes.

Exit codes: 0 nothing found / success, 1 findings (or a failed check), 2 usage or configuration
error, 3 unexpected error (a bug), 130 interrupted.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from secretsync import __version__
from secretsync.coercion import install as install_plain_coercion
from secretsync.errors import (
    EXIT_BUG,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    SecretsyncError,
    UsageError,
)

app = typer.Typer(
    name="secretsync",
    help="Find account-specific values in GitOps trees, move them to Doppler, and verify.",
    epilog="Exit codes: 0 nothing found / success; 1 findings or a failed check; "
           "2 usage or configuration error; 3 unexpected error (a bug); 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"verbose": False}


def _help_types() -> None:
    """typer's help labels a flag `<bool>` and a repeatable value `<list[Path]>`: a flag takes
    no value, so it gets no label, and a list reads `<path>...`. A typer without these hooks
    keeps its own labels."""
    import re

    from typer import core

    def relabel(shown: str | None) -> str | None:
        m = re.fullmatch(r"<list\[(.+)\]>(?:\.\.\.)?", shown or "")
        return f"<{m.group(1).lower()}>..." if m else shown

    option = getattr(core.TyperOption, "display_type_rich", None)
    argument = getattr(core.TyperArgument, "display_type_rich", None)
    if option is None or argument is None:
        return  # another typer release: its own labels

    def option_type(self: core.TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag or self.count else relabel(option(self, ctx))

    def argument_type(self: core.TyperArgument, ctx: typer.Context) -> str | None:
        return relabel(argument(self, ctx))

    core.TyperOption.display_type_rich = option_type  # type: ignore[method-assign,assignment]
    core.TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign,assignment]


_help_types()
install_plain_coercion()

_GLOBAL_FLAGS = ("-v", "--verbose")


def _global_flags_first(argv: list[str]) -> list[str]:
    """`-v` works after the subcommand too (`secretsync scan -v .`): global flags move to the
    front, up to a `--` (after which everything is an argument)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in _GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in _GLOBAL_FLAGS]
    return [*flags, *rest, *argv[end:]]


class Format(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"secretsync {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Explain more on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["verbose"] = verbose


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to scan.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the report here, not stdout.")] = None,
    baseline: Annotated[Path | None, typer.Option("--baseline",
                                                  help="Suppress findings recorded here.")] = None,
    update_baseline: Annotated[bool, typer.Option(
        "--update-baseline",
        help="Record every current finding in --baseline and exit 0.")] = False,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Glob of paths to skip (repeatable).")] = None,
    max_file_size: Annotated[int, typer.Option(
        "--max-file-size", help="Skip (and report) files larger than this many bytes.")] = 8 << 20,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr (only when it is a terminal).")
    ] = True,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", help="Worker processes (0: one per core).")] = 0,
) -> None:
    """Scan YAML trees for account-specific values. Exit 1 when anything is found."""
    from secretsync.commands.scan import run

    code = run(paths, fmt=fmt.value, output=output, baseline_path=baseline,
               update_baseline=update_baseline, excludes=tuple(exclude or ()),
               max_bytes=max_file_size, progress=progress, jobs=jobs)
    raise typer.Exit(code)


def _register_optional() -> None:
    """Command groups in secretsync/commands/ that add themselves with `register(app)`."""
    import importlib

    for name in ("doppler_cmds", "remediate", "verify", "exposure"):
        try:
            module = importlib.import_module(f"secretsync.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"secretsync.commands.{name}":
                raise
            continue
        module.register(app)


_register_optional()


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(argv))


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; every failure is mapped, none escapes raw."""
    argv = _global_flags_first(list(sys.argv[1:] if argv is None else argv))
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="secretsync")
        if isinstance(rv, int):
            if rv == EXIT_INTERRUPTED:  # typer turns Ctrl-C into exit code 130, silently
                typer.echo("interrupted", err=True)
            return rv
    except SecretsyncError as exc:
        from secretsync.redact import say

        say(f"error: {exc.message}", err=True)
        if exc.hint:
            say(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        if exc.exit_code == EXIT_INTERRUPTED:
            typer.echo("interrupted", err=True)
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            # typer's (click's) usage errors: bad option, missing argument.
            exc.show()
            return EXIT_USAGE
        # A bug: say so without echoing anything that might hold a value
        typer.echo(
            f"secretsync {__version__} hit an unexpected error ({type(exc).__name__}). "
            "This is a bug: please report it with the command you ran "
            "(the message is withheld because it may contain file content).",
            err=True,
        )
        if _state["verbose"]:
            import traceback

            # Frames and line numbers only: exception messages and locals can hold values.
            for fr in traceback.extract_tb(exc.__traceback__):
                typer.echo(f"  {fr.filename}:{fr.lineno} in {fr.name}", err=True)
        return EXIT_BUG
    return EXIT_OK


__all__ = ["EXIT_FINDINGS", "EXIT_USAGE", "UsageError", "app", "main", "run_cli"]
