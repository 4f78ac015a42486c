"""`secretsync auth login|status|logout` and `secretsync push --set NAME`.

Thin on purpose: heavy imports happen inside the commands; errors are `SecretsyncError`s that
the CLI maps to exit codes.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from secretsync.errors import ConflictError, UsageError
from secretsync.redact import say


def register(app: typer.Typer) -> None:
    """Add the `auth` sub-app and the `push` command to `app`."""
    auth_app = typer.Typer(help="Store, inspect or forget the Doppler token.", no_args_is_help=True)
    auth_app.command("login")(login)
    auth_app.command("status")(status)
    auth_app.command("logout")(logout)
    app.add_typer(auth_app, name="auth")
    app.command("push")(push_one)


def _read_stdin_or_prompt(prompt: str) -> str:
    """One value: a hidden prompt on a terminal, else stdin with one trailing newline dropped."""
    if sys.stdin is not None and sys.stdin.isatty():
        value: str = typer.prompt(prompt, hide_input=True)
    else:
        value = sys.stdin.read() if sys.stdin is not None else ""
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
    return value


def login(
    verify: Annotated[
        bool, typer.Option(help="Check the token against Doppler before storing it.")
    ] = True,
) -> None:
    """Store a Doppler token in the OS keyring (read from a hidden prompt or stdin)."""
    from secretsync.credentials import store_token

    token = _read_stdin_or_prompt("Doppler token").strip()
    if not token:
        raise UsageError("no token given", hint="paste it at the prompt or pipe it on stdin")
    if verify:
        from secretsync.doppler.client import DopplerClient

        with DopplerClient(token) as client:
            info = client.me()
        say(f"token is valid: {info.type} in workplace {info.workplace_name}", err=True)
    store_token(token)
    say("token stored in the OS keyring", err=True)


def status() -> None:
    """Show who the token is: type, name, workplace; never the token."""
    from secretsync.credentials import get_token
    from secretsync.doppler.client import DopplerClient

    token = get_token()
    with DopplerClient(token.value) as client:
        info = client.me()
        host = client.api_host
    say(f"source:    {'DOPPLER_TOKEN' if token.source == 'env' else 'OS keyring'}")
    say(f"api host:  {host}")
    say(f"type:      {info.type}")
    say(f"name:      {info.name}")
    say(f"workplace: {info.workplace_name} ({info.workplace_slug})")
    if info.scope is not None:
        say(f"scope:     {info.scope}")


def logout() -> None:
    """Remove the token from the OS keyring."""
    from secretsync.credentials import delete_token

    removed = delete_token()
    say("token removed from the OS keyring" if removed else "no token was stored", err=True)
    if os.environ.get("DOPPLER_TOKEN"):
        say("note: DOPPLER_TOKEN is still set in this environment", err=True)


def push_one(
    set_name: Annotated[
        str, typer.Option("--set", help="Secret name; its value is read from stdin.")
    ],
    config: Annotated[str, typer.Option("--config", "-c", help="Doppler config, e.g. prd.")],
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="Doppler project (default: .secretsync.yaml in "
                     "the current directory, then $DOPPLER_PROJECT)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a different existing value.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; write nothing.")
    ] = False,
) -> None:
    """Push ONE secret whose value comes from stdin (e.g. a production value for an env leak)."""
    from pathlib import Path

    from secretsync.config import load
    from secretsync.credentials import get_token
    from secretsync.doppler.client import DopplerClient
    from secretsync.doppler.interface import Action, ConfigRef, is_valid_secret_name
    from secretsync.push import push

    # The same precedence as plan and apply, whose hints print this command to run in the tree.
    project = load(Path.cwd(), project=project).project
    if not project:
        raise UsageError("no Doppler project", hint="pass --project, set project in "
                         ".secretsync.yaml, or set DOPPLER_PROJECT")
    if not is_valid_secret_name(set_name):
        raise UsageError(
            f"{set_name!r} is not a valid Doppler secret name",
            hint="use uppercase letters, digits and _, not starting with a digit",
        )
    value = _read_stdin_or_prompt(f"value for {set_name}")
    if not value:
        raise UsageError(f"empty value for {set_name}", hint="pipe the value on stdin")
    ref = ConfigRef(project, config)
    token = get_token()
    with DopplerClient(token.value) as client:
        result = push(client, {ref: {set_name: value}}, overwrite=overwrite, dry_run=dry_run)
    (action,) = result.actions
    if action.action is Action.CONFLICT:
        raise ConflictError(
            f"{set_name} in {ref} already holds a different value; nothing was written",
            hint="pass --overwrite to replace it",
        )
    verb = {
        Action.CREATE: "would create" if dry_run else "created",
        Action.OVERWRITE: "would overwrite" if dry_run else "overwrote",
        Action.UNCHANGED: "unchanged",
    }[action.action]
    say(f"{verb}: {set_name} in {ref}")
