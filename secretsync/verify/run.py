"""`run_verify`: index the tree once, run the selected checks, return a `Report`.

Never prints and never exits; `SecretsyncError`s (bad configuration, no token in full mode, a
Doppler that cannot be asked) propagate for the CLI to map to exit 2.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync import config as config_mod
from secretsync import reading
from secretsync.environments import EnvRules
from secretsync.errors import UsageError
from secretsync.models import Finding
from secretsync.scan import ScanOptions, run_scan, suppressed_inline
from secretsync.verify import checks, remote, settings
from secretsync.verify.model import (
    ALL_CHECKS,
    ONLINE_ONLY,
    CheckId,
    CheckResult,
    ConfigSummary,
    Problem,
    Report,
    Status,
)
from secretsync.verify.tree import index_tree


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    offline: bool = False
    only: frozenset[CheckId] = frozenset()
    """Run only these (empty: all)."""
    skip: frozenset[CheckId] = frozenset()
    baseline: Path | None = None
    project: str | None = None
    schema_dir: Path | None = None
    kubectl: str | None = None
    """Path to kubectl; None: look it up on PATH."""
    strict: bool = False
    """Count warn and not-checked as failures."""
    jobs: int = 0
    against: str = "HEAD"
    """The git revision the equivalence check compares with."""
    config_from: str | None = None
    """A git revision to read `.secretsync.yaml` from (the pull request's target branch)."""


def _selected(opts: VerifyOptions, cfg_skip: frozenset[CheckId]) -> list[CheckId]:
    chosen = [c for c in ALL_CHECKS if not opts.only or c in opts.only]
    return [c for c in chosen if c not in opts.skip and (c not in cfg_skip or c in opts.only)]


class _Suppressions:
    """`# secretsync:ignore[<check-id>]` on a problem's line or alone on the line above."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def __call__(self, check: CheckId, p: Problem) -> bool:
        if not p.path or p.line <= 0:
            return False
        if p.path not in self._lines:
            try:
                text = reading.read_bytes(self.root / p.path, root=self.root).decode(
                    "utf-8-sig", errors="replace")
            except OSError:
                text = ""
            self._lines[p.path] = text.split("\n")
        return suppressed_inline(self._lines[p.path], p.line, str(check))


def run_verify(
    root: Path,
    opts: VerifyOptions,
    *,
    api_factory: Callable[[], contextlib.AbstractContextManager[remote.ApiFactory]] | None = None,
) -> Report:
    """Verify the tree at `root`. `api_factory` (tests) yields a ConfigRef -> DopplerAPI map;
    by default tokens come from DOPPLER_TOKEN_<CONFIG> / DOPPLER_TOKEN / the keyring."""
    from secretsync import baseline as baseline_mod
    from secretsync import manifests

    t_start = time.perf_counter()
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory")
    if opts.jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    root = root.resolve()
    text: str | None = None
    source = str(root / config_mod.CONFIG_FILE)
    if opts.config_from is not None:
        text, source = settings.config_at(root, opts.config_from)
    cfg = config_mod.load(root, project=opts.project, text=text, source=source)
    vset = settings.load(root, text, source)
    rules = EnvRules(overrides=cfg.environments) if cfg.environments else EnvRules()
    schema_dir = opts.schema_dir or manifests.default_schema_dir()
    if opts.schema_dir is not None and not (opts.schema_dir / "externalsecret-v1.json").is_file():
        raise UsageError(f"{opts.schema_dir} holds no ESO JSON Schemas (externalsecret-v1.json)")
    have_schemas = (schema_dir / "externalsecret-v1.json").is_file()
    bl = baseline_mod.load(opts.baseline) if opts.baseline is not None else None

    t0 = time.perf_counter()
    scan_result, everything = run_scan(
        [root], ScanOptions(excludes=cfg.excludes, env_rules=rules, jobs=opts.jobs))
    index = index_tree(root, cfg, rules)
    shared = time.perf_counter() - t0
    ctx = checks.Context(root, cfg, vset, rules, index, scan_result, bl,
                         schema_dir if have_schemas else None,
                         checks.find_kubectl(opts.kubectl))
    run = _Run(ctx, opts, _selected(opts, vset.skip))
    run.local(schema_dir, everything, api_factory)
    run.online(api_factory)
    return Report(str(root), "offline" if opts.offline else "full", run.results(shared),
                  opts.strict, time.perf_counter() - t_start, tuple(scan_result.warnings),
                  _config_summary(root, cfg, vset, source if opts.config_from else
                                  config_mod.CONFIG_FILE, scan_result.files_scanned))


class _Run:
    """The selected checks' problems, notes, statuses and timings, as they are run."""

    def __init__(self, ctx: checks.Context, opts: VerifyOptions,
                 selected: list[CheckId]) -> None:
        self.ctx, self.opts, self.selected = ctx, opts, selected
        self.found: dict[CheckId, list[Problem]] = {}
        self.notes: dict[CheckId, str] = {}
        self.statuses: dict[CheckId, Status] = {}
        self.timings: dict[CheckId, float] = {}

    def timed(self, check: CheckId, fn: Callable[[], list[Problem]]) -> None:
        t = time.perf_counter()
        self.found.setdefault(check, []).extend(fn())
        self.timings[check] = self.timings.get(check, 0.0) + time.perf_counter() - t

    def not_checked(self, check: CheckId, note: str) -> None:
        self.statuses[check] = Status.NOT_CHECKED
        self.notes[check] = note

    def local(self, schema_dir: Path, everything: Sequence[Finding],
              api_factory: Callable[[], contextlib.AbstractContextManager[remote.ApiFactory]]
              | None) -> None:
        """Every check that needs no Doppler (and the offline half of store and env-leak)."""
        ctx = self.ctx
        simple: dict[CheckId, Callable[[], list[Problem]]] = {
            CheckId.LITERAL: lambda: checks.literal(ctx),
            CheckId.ENV_LEAK: lambda: checks.env_leak_tree(ctx),
            CheckId.UNRESOLVED_REF: lambda: checks.unresolved_ref(ctx),
            CheckId.STORE: lambda: checks.store_tree(ctx),
            CheckId.SCHEMA: lambda: checks.schema(ctx),
            CheckId.FOLLOW_UP: lambda: checks.follow_up(ctx),
        }

        def do_build() -> list[Problem]:
            problems, remote_dirs = checks.build(ctx, checks.secret_values(everything))
            if remote_dirs:
                self.notes[CheckId.BUILD] = (f"{len(remote_dirs)} kustomization(s) with remote "
                                             "bases not built (no network): "
                                             + ", ".join(remote_dirs[:5]))
            return problems

        def do_equivalence() -> list[Problem]:
            problems, status, note = _equivalence(ctx, self.opts, api_factory)
            if status is not None:
                self.statuses[CheckId.EQUIVALENCE] = status
            if note:
                self.notes[CheckId.EQUIVALENCE] = note
            return problems

        for check in self.selected:
            if check is CheckId.SCHEMA and ctx.schema_dir is None:
                self.not_checked(check, f"no ESO schemas at {schema_dir}: pass --schema-dir "
                                        "DIR/external-secrets-v2.9.0")
            elif check is CheckId.BUILD and ctx.kubectl is None:
                self.not_checked(check, "kubectl not found: install kubectl (it embeds kustomize) "
                                        "or pass --kubectl PATH to check that kustomizations build")
            elif check is CheckId.BUILD:
                self.timed(check, do_build)
            elif check is CheckId.EQUIVALENCE:
                self.timed(check, do_equivalence)
            elif check in simple:
                self.timed(check, simple[check])

    def online(self, api_factory: Callable[[], contextlib.AbstractContextManager[
            remote.ApiFactory]] | None) -> None:
        """The checks that ask Doppler (read-only), or their `skipped` status offline."""
        selected = self.selected
        if self.opts.offline:
            for c in selected:
                if c in ONLINE_ONLY:
                    self.statuses[c] = Status.SKIPPED
                    self.notes[c] = "needs Doppler: run without --offline (with a read-only token)"
            return
        if not any(c in (CheckId.MISSING_REMOTE, CheckId.STORE, CheckId.ENV_LEAK)
                   for c in selected):
            return
        with contextlib.ExitStack() as stack:
            factory = stack.enter_context(api_factory() if api_factory is not None
                                          else remote.default_factory())
            t = time.perf_counter()
            view = remote.fetch(self.ctx, factory)
            fetched = time.perf_counter() - t
            if CheckId.STORE in selected:
                self.timed(CheckId.STORE, lambda: remote.store_remote(self.ctx, view))
                self.timings[CheckId.STORE] += fetched
            if CheckId.MISSING_REMOTE in selected:
                self.timed(CheckId.MISSING_REMOTE, lambda: self._missing(view))
            if CheckId.ENV_LEAK in selected:
                self.timed(CheckId.ENV_LEAK,
                           lambda: remote.env_leak_remote(self.ctx, view, factory))

    def _missing(self, view: remote.RemoteView) -> list[Problem]:
        problems, unchecked = remote.missing_remote(view)
        if unchecked and unchecked == len(view.targets):
            self.statuses[CheckId.MISSING_REMOTE] = Status.NOT_CHECKED
        if unchecked:
            self.notes[CheckId.MISSING_REMOTE] = (
                f"{unchecked} ExternalSecret(s) not checked: their store or config "
                "is unknown or unreachable (see store)")
        return problems

    def results(self, shared: float) -> tuple[CheckResult, ...]:
        """One result per selected check; `shared` (scan and index) is counted under literal."""
        suppressed = _Suppressions(self.ctx.root)
        out = []
        for check in self.selected:
            problems = self.found.get(check, [])
            # A template reading a key that no longer holds a value deploys an empty field:
            # never accepted by a baseline, and the follow-up check fails on it.
            kept = tuple(p for p in problems if check is CheckId.LITERAL
                         or checks.broken_consumer(p) or not suppressed(check, p))
            status = self.statuses.get(check)
            if status is None:
                if kept:
                    status = Status.WARN if check is CheckId.FOLLOW_UP and not any(
                        checks.broken_consumer(p) for p in kept) else Status.FAIL
                else:
                    status = Status.PASS
            summary = _summary(check, status, kept, self.notes.get(check), self.ctx,
                               self.ctx.scan)
            seconds = self.timings.get(check, 0.0) + (shared if check is CheckId.LITERAL
                                                      else 0.0)
            out.append(CheckResult(check, status, summary, kept, seconds,
                                   len(problems) - len(kept)))
        return tuple(out)


def _config_summary(root: Path, cfg: config_mod.Config, vset: settings.VerifySettings,
                    source: str, kept: int) -> ConfigSummary:
    excluded = None
    if cfg.excludes:
        from secretsync.scan import list_files

        total = len(list_files([root], ScanOptions())[1])
        excluded = (total - kept, total)
    return ConfigSummary(source, tuple(sorted(c.value for c in vset.skip)), excluded)


def _summary(check: CheckId, status: Status, problems: tuple[Problem, ...], note: str | None,
             ctx: checks.Context, scan: object) -> str:
    n = len(problems)
    base = {
        CheckId.LITERAL: f"{n} value(s) left in the tree" if n else
        f"no literal in {ctx.scan.files_scanned} files (baselined "
        f"{sum(1 for f in ctx.scan.findings if f.detector != checks.ENV_LEAK_ID) - n}, "
        f"suppressed inline {ctx.scan.suppressed})",
        CheckId.UNRESOLVED_REF: f"{n} reference(s) to Secrets nothing produces" if n else
        f"{len(ctx.index.refs)} reference(s) resolve",
        CheckId.MISSING_REMOTE: f"{n} remote key(s) missing in Doppler" if n else
        "every remote key exists",
        CheckId.STORE: f"{n} store problem(s)" if n else "every store exists and is valid",
        CheckId.ENV_LEAK: f"{n} dev value(s) reaching production" if n else
        "no dev value in production",
        CheckId.SCHEMA: f"{n} schema problem(s)" if n else
        f"{len(ctx.index.external_secrets)} ExternalSecret(s), {len(ctx.index.stores)} store(s) "
        "valid",
        CheckId.BUILD: f"{n} kustomization(s) fail to build" if n else
        f"{len(ctx.index.kustomizations)} kustomization(s) build",
        CheckId.FOLLOW_UP: f"{n} manual follow-up(s) open" if n else "no open follow-up",
        CheckId.EQUIVALENCE: f"{n} difference(s) in what the clusters run" if n else
        "every cluster runs the same configuration",
    }[check]
    if status in (Status.NOT_CHECKED, Status.SKIPPED):
        return note or str(status)
    return f"{base}; {note}" if note else base


def _equivalence(
    ctx: checks.Context, opts: VerifyOptions,
    api_factory: Callable[[], contextlib.AbstractContextManager[remote.ApiFactory]] | None,
) -> tuple[list[Problem], Status | None, str | None]:
    """Render the Flux clusters at `opts.against` and now, Doppler's values put back (offline:
    the working tree's structure only); differences by object and field."""
    from secretsync.remediate import check as eq

    root = ctx.root
    if not eq.has_clusters(root, ctx.index.rels):
        return [], Status.SKIPPED, "no Flux cluster (clusters/<env> bootstrap) in the tree"
    kubectl = ctx.kubectl
    structure_only = opts.offline
    why = "offline: structure only"
    with contextlib.ExitStack() as stack:
        if not structure_only:
            try:
                before = stack.enter_context(eq.git_tree(root, opts.against))
            except UsageError as exc:
                structure_only, why = True, f"{exc.message}: structure only"
        if structure_only:
            result = eq.run(root, root, None, kubectl, ctx.cfg.excludes)
        else:
            factory = stack.enter_context(api_factory() if api_factory is not None
                                          else remote.default_factory())
            project = ctx.cfg.project or next(
                (str((s.doppler or {}).get("project")) for s in ctx.index.stores
                 if s.doppler and s.doppler.get("project")), None)
            if project is None:
                return [], Status.NOT_CHECKED, "no Doppler project: pass --project"
            values = eq.doppler_values(project, None, {}, factory=factory)
            result = eq.run(before, root, values, kubectl, ctx.cfg.excludes)
    if not result.complete:
        missing = "kubectl not found" if kubectl is None else "a kustomization does not build"
        return [], Status.NOT_CHECKED, (f"{missing}: {len(result.not_built)} kustomization(s) "
                                        "not rendered (" + ", ".join(result.not_built[:5]) + ")")
    fix = ("make the field come out as before (a wrong name, namespace, type or Doppler value), "
           "or if the change is intended, apply it with `secretsync apply --allow-changes`")
    problems = [Problem(str(d), fix, None, subject=str(d)) for d in result.differences]
    parts = [f"{', '.join(result.clusters)} rendered in {result.seconds:.1f}s"]
    if result.intended:
        parts.append(f"{len(result.intended)} intended change(s) (env leaks set by a human)")
    if structure_only:
        parts.append(why)
    return problems, None, "; ".join(parts)


@contextlib.contextmanager
def fixed_factory(factory: remote.ApiFactory) -> Iterator[remote.ApiFactory]:
    """Wrap a plain factory (tests, embedders) for `run_verify(api_factory=...)`."""
    yield factory
