"""`secretsync init | plan | apply | rewrite`: the one-off remediation of a tree.

Thin: parse arguments, build objects, print; the work is in plan.py, apply.py and rewrite.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from secretsync.errors import EXIT_OK, UsageError
from secretsync.redact import say

if TYPE_CHECKING:
    from secretsync.apply import ApplyReport
    from secretsync.doppler.interface import DopplerAPI
    from secretsync.plan import Plan

ProjectOpt = Annotated[str | None, typer.Option(
    "--project", "-p", help="Doppler project (default: .secretsync.yaml, then $DOPPLER_PROJECT).")]


def register(app: typer.Typer) -> None:
    """Add init, plan, apply and rewrite to `app`."""
    app.command("init")(init)
    app.command("plan")(plan)
    app.command("apply")(apply)
    app.command("rewrite")(rewrite)


@contextlib.contextmanager
def _doppler(offline: bool, command: str | None = None) -> Iterator[DopplerAPI | None]:
    """A client, or None with --offline; `command`: one that has --offline (for the hint)."""
    if offline:
        yield None
        return
    from secretsync.credentials import get_token
    from secretsync.doppler.client import DopplerClient

    hint = f"`secretsync {command} --offline`" if command else None
    with DopplerClient(get_token(offline=hint).value) as client:
        yield client


def _root(path: Path) -> Path:
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    return path


def init(
    path: Annotated[Path, typer.Argument(help="The tree's root.")] = Path("."),
    project: ProjectOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented .secretsync.yaml starter from what a scan of PATH finds."""
    from secretsync import manifests
    from secretsync.config import CONFIG_FILE, load, starter
    from secretsync.remediate import argocd
    from secretsync.remediate.names import known_names
    from secretsync.rewrite import atomic_write
    from secretsync.scan import ScanOptions, list_files, run_scan

    root = _root(path)
    target = root / CONFIG_FILE
    if target.is_symlink():
        # Writing through it could put the file anywhere the link points, outside the tree.
        raise UsageError(f"{target} is a symlink; not written",
                         hint="remove the link: init writes a regular file in the tree")
    if target.exists() and not force:
        raise UsageError(f"{target} exists", hint="pass --force to replace it")
    cfg = load(root, project=project)
    result, _ = run_scan([root], ScanOptions(excludes=cfg.excludes))
    envs = sorted({e for g in result.secrets for e in g.environments} | set(result.environments))
    _, files, _ = list_files([root], ScanOptions(excludes=cfg.excludes))
    found = manifests.discover_stores(root.resolve(), [f.rel for f in files])
    stores = manifests.stores_by_env(found, {e: cfg.config_for(e) for e in envs}, cfg.stores)
    project_name = cfg.project or next((s.project for s in found if s.project), None)
    # The names plan will use: the tree's own (an ExternalSecret's remoteRef.key) first.
    rels = [f.rel for f in files]
    known = known_names(argocd.build(root.resolve(), rels), root.resolve(), rels,
                        result.secrets)
    names = sorted({(f.key_path_dotted or "", known.get(f.secret_id, f.suggested_name))
                    for f in result.findings if f.key_path_dotted and f.detector != "env-leak"})
    atomic_write(target, starter(project_name, envs, stores, names).encode("utf-8"))
    say(f"wrote {target} ({len(envs)} environments, {len(stores)} stores, "
               f"{len(names)} named places)", err=True)


def _print_plan(p: Plan) -> None:
    say(f"Doppler project: {p.project}")
    for env, config in p.configs.items():
        store = p.stores.get(env, "(no store)")
        say(f"  {env}: config {config}, store {store}")
    say()
    say("Secrets:")
    for s in p.secrets:
        say(f"  {s.status:<12} {s.config:<6} {s.name:<32} {len(s.places)} place(s)")
        if s.status == "needs-value":
            say(f"               env leak: set it with `secretsync push --set {s.name} "
                       f"--config {s.config}` (value on stdin)")
        elif s.status == "drift":
            say("               two copies of the tree hold different values: not pushed "
                "(see Needs a human)")
        elif s.status == "provided":
            say("               env leak: replaced by the config's own value (in Doppler, or "
                "pushed by this plan)")
    say()
    say(f"Edits ({len(p.edits)}):")
    for e in p.edits:
        what = f"{e.key_path} -> {e.secret}/{e.key}" if e.key and e.secret else (
            f"{e.key_path} deleted (Doppler {e.key}; no template reads it)" if e.key
            else f"{e.kind} ({e.secret})")
        say(f"  {e.path}:{e.line}:{e.column}  {e.kind:<12} {what}")
    say()
    say(f"Manifests ({len(p.manifests)}):")
    for m in p.manifests:
        say(f"  {m.action:<9} {m.path}  Secret {m.secret} [{', '.join(m.envs)}]")
    if p.recognised:
        say()
        say("Recognised (created by an operator, not generated):")
        for r in p.recognised:
            say(f"  {r}")
    say()
    say(f"Needs a human ({len(p.followups)}):")
    for f in p.followups:
        where = f" [{f.key_path}]" if f.key_path else ""
        say(f"  {f.path}:{f.line}:{f.column}{where}  {f.reason}")
    for w in p.warnings:
        say(f"warning: {w}", err=True)


def plan(
    path: Annotated[Path, typer.Argument(help="The tree's root.")],
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the plan as JSON here.")] = None,
    project: ProjectOpt = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not ask Doppler what it holds (statuses show `push`).")] = False,
) -> None:
    """Show what apply will do: secrets per config, edits, manifests, and what needs a human."""
    from secretsync.config import load
    from secretsync.plan import build

    root = _root(path)
    cfg = load(root, project=project)
    with _doppler(offline, "plan") as api:
        built = build(root, cfg, api)
    _print_plan(built.plan)
    if output is not None:
        output.write_text(built.plan.to_json(), encoding="utf-8")
        say(f"plan written to {output}", err=True)
    raise typer.Exit(EXIT_OK)


def _print_report(r: ApplyReport, verb: str) -> None:
    if r.noop:
        say("nothing to do: Doppler and the tree already match the plan (no changes)")
        return
    if r.dry_run:
        for line in r.diff.splitlines():
            say(line)
        if r.actions:
            say()
            say("Doppler actions (dry run):")
    for a in r.actions:
        say(f"  {a.action.value:<10} {a.ref}  {a.name}")
    if not r.dry_run:
        say(f"{verb}: {len(r.files_changed)} file(s) changed, "
                   f"{sum(1 for a in r.actions if a.action.value == 'create')} secret(s) created")
    needs = [s for s in r.plan.secrets if s.status == "needs-value"]
    for s in needs:
        say(f"needs a value: {s.name} in {s.config} (env leak); set it with "
                   f"`secretsync push --set {s.name} --config {s.config}`", err=True)
    if r.plan.followups:
        say(f"{len(r.plan.followups)} manual follow-up(s): see `secretsync verify --offline "
            "--check follow-up`", err=True)
    _print_equivalence(r)


def _print_equivalence(r: ApplyReport) -> None:
    eq = r.equivalence
    if eq is None:
        return
    from secretsync.remediate.render import Result

    assert isinstance(eq, Result)
    mode = "structure only, offline" if eq.offline else "with Doppler's values"
    verdict = "equivalent" if eq.equivalent else f"{len(eq.differences)} difference(s)"
    if not eq.complete:
        verdict = "NOT CHECKED (kubectl missing or a kustomization does not build)"
    say(f"equivalence ({mode}): {', '.join(eq.clusters)}: {verdict} "
               f"({eq.seconds:.1f}s)", err=True)
    for d in eq.differences:
        say(f"  differs: {d}", err=True)
    for d in eq.intended:
        say(f"  intended: {d}", err=True)
    if eq.not_built:
        say("  not rendered (kubectl missing or the build fails): "
                   + ", ".join(eq.not_built), err=True)


def apply(
    path: Annotated[Path, typer.Argument(help="The tree's root.")],
    plan_file: Annotated[Path | None, typer.Option(
        "--plan", help="Apply this saved plan; refuses if the tree changed since.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the diff and the Doppler actions; change nothing.")] = False,
    project: ProjectOpt = None,
    allow_changes: Annotated[bool, typer.Option(
        "--allow-changes", help="Write even when the equivalence check finds that a cluster "
        "would run a different configuration.")] = False,
) -> None:
    """Push every value to Doppler, read it back, then rewrite the tree to references.

    Before writing, every Flux cluster is rendered before and after (values put back from
    Doppler) and apply refuses a change that is not equivalent, unless --allow-changes."""
    from secretsync.apply import apply as run_apply
    from secretsync.config import load

    root = _root(path)
    saved = _load_plan(plan_file)
    cfg = load(root, project=project or (saved.project if saved else None))
    with _doppler(False) as api:
        report = run_apply(root, cfg, api, saved=saved, dry_run=dry_run,
                           allow_changes=allow_changes)
    _print_report(report, "applied")
    raise typer.Exit(EXIT_OK)


def rewrite(
    path: Annotated[Path, typer.Argument(help="The tree's root.")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the diff; change nothing.")] = False,
    project: ProjectOpt = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not check that Doppler holds each referenced value.")] = False,
) -> None:
    """Only rewrite the files, for values already in Doppler (nothing is pushed)."""
    from secretsync.apply import apply as run_apply
    from secretsync.config import load

    root = _root(path)
    cfg = load(root, project=project)
    with _doppler(offline, "rewrite") as api:
        report = run_apply(root, cfg, api, dry_run=dry_run, push_values=False)
    _print_report(report, "rewritten")
    raise typer.Exit(EXIT_OK)


def _load_plan(path: Path | None) -> Plan | None:
    from secretsync.errors import ConfigError
    from secretsync.plan import Plan

    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the plan {path} ({exc.strerror})") from None
    return Plan.from_json(text)
