"""Apply a plan: push to Doppler, read back, then rewrite the tree. Never prints; returns a report.

Order matters: every value must be in Doppler before any file stops holding it, so a failed push
leaves the tree untouched; the rewrite then writes all files or none.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretsync.config import Config
from secretsync.doppler.interface import Action, DopplerAPI, PushAction
from secretsync.errors import ConfigError, ConflictError, RewriteError, SecretsyncError
from secretsync.plan import Built, Plan, build
from secretsync.rewrite import unified_diff, write_all


@dataclass(frozen=True, slots=True)
class ApplyReport:
    plan: Plan
    dry_run: bool
    noop: bool
    actions: tuple[PushAction, ...]
    files_changed: tuple[str, ...]
    diff: str = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    equivalence: object = None
    """The equivalence check's `secretsync.remediate.render.Result` (None: no Flux cluster)."""


def redact(text: str, values: Iterable[str]) -> str:
    """Replace every known value in `text` by a marker (diff context lines can hold values that
    are not being rewritten)."""
    from secretsync.redact import preview

    for v in sorted(set(values), key=len, reverse=True):
        if v and v in text:
            text = text.replace(v, f"<redacted {preview(v)}>")
    return text


def diff_of(root: Path, built: Built) -> str:
    parts = []
    for ch in sorted(built.changes, key=lambda c: c.rel):
        before = b"" if ch.new_file else (root / ch.rel).read_bytes()
        parts.append(unified_diff(ch.rel, before, ch.data))
    return redact("".join(parts), built.values)


def check_saved(saved: Plan, built: Built) -> None:
    """Refuse a saved plan when the tree (or what apply would do) changed since it was made."""
    if saved.tree_digest != built.plan.tree_digest:
        changed = sorted(
            p for p, d in saved.file_digests.items() if built.plan.file_digests.get(p) != d
        )
        detail = f" ({', '.join(changed[:5])})" if changed else ""
        raise ConfigError(f"the tree changed since the plan was made{detail}",
                          hint="run `secretsync plan` again and review the new plan")
    if saved.actionable() != built.plan.actionable():
        raise ConfigError("the plan no longer matches what apply would do (configuration or "
                          "Doppler changed)", hint="run `secretsync plan` again")


def apply(
    root: Path,
    cfg: Config,
    api: DopplerAPI | None,
    *,
    saved: Plan | None = None,
    dry_run: bool = False,
    push_values: bool = True,
    schema_dir: Path | None = None,
    allow_changes: bool = False,
) -> ApplyReport:
    """Carry out the plan. `push_values=False` (`secretsync rewrite`) only rewrites, and
    requires each referenced value to be in Doppler already when `api` is given."""
    from secretsync.push import push

    t0 = time.perf_counter()
    built = build(root, cfg, api, schema_dir=schema_dir)
    timings = {"plan": time.perf_counter() - t0}
    if saved is not None:
        check_saved(saved, built)
    plan = built.plan
    _refuse(built, cfg, api, push_values)
    to_push = plan.has_changes if push_values else bool(plan.edits) or any(
        m.action != "unchanged" for m in plan.manifests)
    if not to_push:
        return ApplyReport(plan, dry_run, True, (), (), "", timings)
    diff = diff_of(root, built)
    t_eq = time.perf_counter()
    equiv = _equivalence(root, cfg, built, api)
    if equiv is not None:
        timings["equivalence"] = time.perf_counter() - t_eq
        # Without kubectl (or with a kustomization that does not build) the render is partial:
        # reported by the CLI as not checked, never a reason to refuse.
        if equiv.complete and not equiv.equivalent and not dry_run and not allow_changes:
            from secretsync.remediate.check import summary

            raise RewriteError(
                "the change would alter what the clusters run (nothing was pushed or "
                f"rewritten): {summary(equiv)}",
                hint="fix the cause, or pass --allow-changes to apply it anyway")
    if dry_run:
        actions: tuple[PushAction, ...] = ()
        if push_values and api is not None and built.desired:
            actions = push(api, built.desired, dry_run=True).actions
        return ApplyReport(plan, True, False, actions, tuple(c.rel for c in built.changes), diff,
                           timings, equiv)
    actions = _push(api, built, timings) if push_values and built.desired else ()
    t2 = time.perf_counter()
    _write(root, built)
    timings["rewrite"] = time.perf_counter() - t2
    return ApplyReport(plan, False, False, actions, tuple(c.rel for c in built.changes), diff,
                       timings, equiv)


def _refuse(built: Built, cfg: Config, api: DopplerAPI | None, push_values: bool) -> None:
    """Stop before anything is pushed or written when apply cannot end well."""
    plan = built.plan
    if built.store_projects and cfg.project not in built.store_projects:
        # Pushing there would leave every ExternalSecret reading a project without the values.
        raise ConfigError(
            f"no Doppler store in the tree reads project {cfg.project}; nothing was pushed or "
            "rewritten",
            hint=f"the tree's stores read {', '.join(sorted(built.store_projects))}: pass that "
                 "--project (or set project in .secretsync.yaml), or point a store at "
                 f"{cfg.project}")
    conflicts = [s for s in plan.secrets if s.status == str(Action.CONFLICT)]
    if conflicts:
        raise ConflictError(
            "Doppler already holds different values for: "
            + ", ".join(sorted({f"{s.name} ({s.config})" for s in conflicts}))
            + "; nothing was pushed or rewritten",
            hint="rename them in .secretsync.yaml (names:) or resolve them in Doppler",
        )
    if not push_values and api is not None:
        missing = [s for s in plan.secrets if s.status in ("create", "push")
                   and any(e.key == s.name for e in plan.edits)]
        if missing:
            raise ConfigError("not in Doppler yet: " + ", ".join(
                sorted({f"{s.name} ({s.config})" for s in missing})),
                hint="run `secretsync apply` to push and rewrite")


def _push(api: DopplerAPI | None, built: Built,
          timings: dict[str, float]) -> tuple[PushAction, ...]:
    from secretsync.push import push

    if api is None:
        raise ConfigError("apply needs Doppler to push values")
    t1 = time.perf_counter()
    try:
        result = push(api, built.desired)
    except SecretsyncError as exc:
        # Say what state things are in, not only why Doppler failed.
        exc.message += ("; apply stopped before changing any file (values Doppler already "
                        "accepted stay there: run apply again to finish)")
        exc.args = (exc.message,)
        raise
    timings["push"] = time.perf_counter() - t1
    if result.conflicts:
        raise ConflictError("Doppler changed during apply; nothing was rewritten",
                            hint="run `secretsync plan` again")
    return result.actions


def _write(root: Path, built: Built) -> None:
    try:
        write_all(root.resolve(), built.changes)
    except OSError as exc:
        # write_all has put every file back; the values are in Doppler.
        raise RewriteError(
            f"could not write {Path(exc.filename or '').name or 'the tree'} "
            f"({exc.strerror or type(exc).__name__}); every file was restored as it was",
            hint="fix the cause and run apply again (the values are already in Doppler)",
        ) from None


def _equivalence(root: Path, cfg: Config, built: Built, api: DopplerAPI | None) -> Any:
    """Render every Flux cluster before and after the plan's changes, with Doppler's values
    put back (offline: the structure only); None when the tree has no Flux cluster."""
    from secretsync.remediate import check
    from secretsync.verify.checks import find_kubectl

    root = root.resolve()
    if not check.has_clusters(root, check.rels_of(root, cfg.excludes)):
        return None
    values = None
    if api is not None and cfg.project:
        values = check.doppler_values(cfg.project, {"*": api}, built.desired)
    with check.after_tree(root, built.changes) as after:
        return check.run(root, after, values, find_kubectl(None), cfg.excludes)
