"""The checks that need no Doppler: literal, unresolved-ref, store (the tree's half), env-leak (the
tree's half), schema, build and follow-up. Each takes the shared `Context` and returns its
problems; `run.py` turns them into results. None prints, none exits."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync import manifests, reading
from secretsync.baseline import Baseline
from secretsync.config import Config
from secretsync.environments import EnvRules
from secretsync.errors import SecretsyncError
from secretsync.models import Finding, ScanResult, dotted
from secretsync.verify.model import Problem
from secretsync.verify.settings import VerifySettings
from secretsync.verify.tree import CNPG_KEYS, ExternalSecretInfo, TreeIndex

ENV_LEAK_ID = "env-leak"
_BLOCK = ("literal", "folded", "embedded")
# Kustomize fetches these over the network; verify builds only what is in the tree. Any URL
# scheme, any case (`HTTP://` is fetched too), and the git forms kustomize accepts.
_REMOTE = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:|git::|(?:github|gitlab|"
                     r"bitbucket)\.(?:com|org)/)|\?ref=|//.+\.git\b")
# The kustomization fields kustomize loads files or other kustomizations from.
_LOADED = frozenset({"resources", "bases", "components", "patches", "patchesStrategicMerge",
                     "patchesJson6902", "crds", "configurations", "transformers", "generators",
                     "validators", "openapi", "replacements", "helmCharts", "helmGlobals"})
_NESTED = ("resources", "bases", "components")


@dataclass(frozen=True, slots=True)
class Context:
    root: Path
    cfg: Config
    settings: VerifySettings
    rules: EnvRules
    index: TreeIndex
    scan: ScanResult
    """The scan without the baseline (so checks that do not need it never pay for its hashes)."""
    baseline: Baseline | None = field(repr=False)
    schema_dir: Path | None = None
    kubectl: str | None = None
    _plan: list[Any] = field(default_factory=list, repr=False, compare=False)

    def plan(self) -> Any:
        """The plan recomputed from this tree (once): the one source of the follow-ups verify
        reports and of its advice for values still in the tree. A `SecretsyncError` when the
        tree cannot be planned."""
        if not self._plan:
            from secretsync.plan import build as build_plan

            cfg = self.cfg if self.cfg.project else replace(self.cfg, project="verify-offline")
            try:
                self._plan.append(build_plan(self.root, cfg, None, schema_dir=self.schema_dir,
                                             scanned=self.scan).plan)
            except SecretsyncError as exc:
                self._plan.append(exc)
        return self._plan[0]

    def findings(self, leak: bool) -> list[Finding]:
        """Env-leak findings (or all others) the baseline does not accept."""
        return [f for f in self.scan.findings if (f.detector == ENV_LEAK_ID) == leak
                and not (self.baseline is not None and self.baseline.contains(f))]


# -- literal -----------------------------------------------------------------------------------
def _literal_fix(f: Finding, planned: dict[tuple[str, int, int], str],
                 names: dict[tuple[str, int], str] | None = None,
                 edited: frozenset[tuple[str, int]] = frozenset()) -> str:
    # The Doppler name apply uses (the plan's: the tree's own names, one per role).
    name = (names or {}).get((f.path, f.line)) or f.suggested_name or "a secret"
    if (f.path, f.line, f.column) in planned:
        # What plan (and so apply) does with it: pushed but left for a human, never "run apply".
        how = planned[(f.path, f.line, f.column)]
    elif (f.path, f.line) in edited:
        how = (f"run `secretsync plan` then `secretsync apply` to move it to Doppler as "
               f"{name}")
    elif f.style in _BLOCK:
        how = "it sits in a block scalar, which apply does not rewrite: template it by hand"
    elif f.style == "comment":
        how = "delete the comment"
    elif f.style == "text":
        how = "it is in a Helm template or a file that does not parse: replace it by hand"
    elif f.style == "key":
        how = "it is a mapping key, which cannot reference a Secret: rename it by hand"
    elif not f.whole:
        how = "it is part of a longer value: template it by hand"
    else:
        how = (f"run `secretsync plan` then `secretsync apply` to move it to Doppler as "
               f"{name}")
    return (f"{how}; if it must stay, suppress it with `# secretsync:ignore[{f.detector}]` or "
            "record it with `secretsync scan --baseline FILE --update-baseline` and pass "
            "--baseline FILE")


def literal(ctx: Context) -> list[Problem]:
    found = ctx.findings(leak=False)
    planned: dict[tuple[str, int, int], str] = {}
    names: dict[tuple[str, int], str] = {}
    edited: frozenset[tuple[str, int]] = frozenset()
    if found:
        plan = ctx.plan()
        if not isinstance(plan, SecretsyncError):
            # Only places plan does not rewrite: a rewritten value's note about its consumers
            # ("no template in the tree reads ...") is not the advice for the value itself.
            edited = frozenset((e.path, e.line) for e in plan.edits if e.key)
            any_edit = {(e.path, e.line) for e in plan.edits}
            planned = {(fu.path, fu.line, fu.column): fu.reason for fu in plan.followups
                       if (fu.path, fu.line) not in any_edit
                       and not fu.reason.startswith("no template in the tree reads")}
            for s in plan.secrets:
                for place in s.places:
                    path, _, line = place.rpartition(":")
                    names.setdefault((path, int(line)), s.name)
    return [
        Problem(f"{f.detector} value at {f.key_path_dotted or 'line ' + str(f.line)}",
                _literal_fix(f, planned, names, edited), f.path, f.line, f.column,
                subject=f.fingerprint)
        for f in found
    ]


# -- env-leak (tree) ---------------------------------------------------------------------------
def env_leak_tree(ctx: Context) -> list[Problem]:
    out = []
    for f in ctx.findings(leak=True):
        env = ", ".join(f.environments) or "production"
        config = ", ".join(ctx.cfg.config_for(e) for e in f.environments) or "prd"
        name = f.suggested_name or "NAME"
        out.append(Problem(
            f.message or f"dev-looking value inherited by {env}",
            f"override it in the {env} values or overlay, or run `secretsync apply` (which keeps "
            f"it out of {env}) and set the {env} value with `secretsync push --set {name} "
            f"--config {config}` (value on stdin)",
            f.path, f.line, f.column, subject=f.fingerprint))
    return out


# -- unresolved-ref ----------------------------------------------------------------------------
def _undeployed(ctx: Context) -> list[Problem]:
    """Manifests secretsync generated beside a kustomization that does not list them: nothing
    deploys them (an apply killed halfway, or a hand edit), though their Secret looks produced."""
    idx = ctx.index
    kusts = {str(PurePosixPath(k).parent): k for k in idx.kustomizations}
    out = []
    for rel in sorted({es.path for es in idx.external_secrets if not es.generated}):
        p = PurePosixPath(rel)
        kust = kusts.get(str(p.parent))
        if kust is None or not p.name.startswith("secretsync-"):
            continue
        try:
            with (ctx.root / rel).open("rb") as fh:
                if not fh.read(64).startswith(manifests.GENERATED_MARK.encode()):
                    continue
        except OSError:
            continue
        if p.name not in _resources(ctx, kust):
            out.append(Problem(
                f"{rel} was generated by secretsync but {kust} does not list it: nothing "
                "deploys it", f"add `- {p.name}` to resources in {kust} (`secretsync apply` "
                "does when run again)", kust, 1, subject=rel))
    return out


def unresolved_ref(ctx: Context) -> list[Problem]:
    idx = ctx.index
    clusters, cnpg_chart = manifests.cnpg_clusters(idx.root, idx.rels)
    out = _undeployed(ctx)
    for r in idx.refs:
        if r.secret in ctx.settings.external_secrets:
            continue
        producers = idx.producers.get(r.secret, [])
        op = manifests.operator_secret(r.secret, clusters, cnpg_chart)
        where = f"{r.key_path} ({r.via})"
        if not producers and op is None:
            out.append(Problem(
                f"Secret {r.secret} at {where} is produced by nothing in the tree",
                f"add an ExternalSecret whose target is {r.secret} (`secretsync apply` writes "
                "them), correct the name, or list it under verify.external_secrets in "
                ".secretsync.yaml if something outside the tree creates it",
                r.path, r.line, r.column, subject=f"{r.key_path}:{r.secret}"))
            continue
        if r.key is None:
            continue
        key_sets = [p.keys for p in producers] + ([CNPG_KEYS] if op else [])
        if any(k is None for k in key_sets):
            continue  # a producer whose keys are decided at sync time
        have = sorted({k for ks in key_sets if ks is not None for k in ks})
        if r.key not in have:
            source = producers[0].path if producers else op
            out.append(Problem(
                f"Secret {r.secret} will have no key {r.key} (it has: "
                f"{', '.join(have) or 'none'}), referenced at {where}",
                f"use one of its keys, or add `- secretKey: {r.key}` with its remoteRef to the "
                f"ExternalSecret in {source}",
                r.path, r.line, r.column, subject=f"{r.key_path}:{r.secret}/{r.key}"))
    return out


# -- store (tree) ------------------------------------------------------------------------------
def store_tree(ctx: Context) -> list[Problem]:
    idx = ctx.index
    out: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for es in idx.external_secrets:
        if es.store is None:
            out.append(Problem(f"ExternalSecret {es.name} names no store",
                               "set spec.secretStoreRef {kind, name} to a Doppler store",
                               es.path, es.line, subject=f"{es.name}:no-store"))
            continue
        ref = es.store
        info = idx.store(ref, es.path)
        if info is None:
            if ref.name in ctx.settings.stores:
                continue
            other = next((s for s in idx.stores if s.ref.name == ref.name), None)
            hint = (f" (the tree has a {other.ref.kind} of that name: fix secretStoreRef.kind)"
                    if other else "")
            out.append(Problem(
                f"ExternalSecret {es.name} reads {ref.kind} {ref.name}, which is not in the "
                f"tree{hint}",
                "add the store's manifest, point secretStoreRef at an existing store, or "
                "declare it under verify.stores in .secretsync.yaml",
                es.path, es.line, subject=f"{es.name}:{ref.kind}/{ref.name}"))
            continue
        expected = ctx.cfg.config_for(es.env) if es.env else None
        doppler = info.doppler
        got = doppler.get("config") if doppler else None
        if expected and isinstance(got, str) and got != expected:
            out.append(Problem(
                f"ExternalSecret {es.name} is for {es.env} but reads {ref.name}, which reads "
                f"Doppler config {got}",
                f"point secretStoreRef at the store for config {expected}",
                es.path, es.line, subject=f"{es.name}:env:{ref.name}"))
        for same in idx.stores_named(ref):
            if (same.path, ref.kind, ref.name) in seen:
                continue
            seen.add((same.path, ref.kind, ref.name))
            out.extend(_store_problems(ctx, same.path, same.line, ref.kind, ref.name, same.doc))
    return out


def _store_problems(ctx: Context, path: str, line: int, kind: str, name: str,
                    doc: Any) -> list[Problem]:
    spec = (doc.get("spec") or {}) if isinstance(doc, dict) else {}
    doppler = (spec.get("provider") or {}).get("doppler") if isinstance(spec, dict) else None
    what = f"{kind} {name}"
    if not isinstance(doppler, dict):
        return [Problem(f"{what} has no Doppler provider (spec.provider.doppler)",
                        "give it spec.provider.doppler with auth and config, or point the "
                        "ExternalSecrets at a Doppler store", path, line, subject=what)]
    out = []
    auth_rules = [p for p in manifests.validate_manifest(doc, ctx.schema_dir)
                  if "doppler.auth" in p] if ctx.schema_dir is not None else []
    auth = doppler.get("auth") or {}
    token = ((auth.get("secretRef") or {}).get("dopplerToken") or {}) if isinstance(
        auth, dict) else {}
    if isinstance(auth, dict) and "secretRef" in auth and not (
        isinstance(token, dict) and token.get("name")
    ):
        auth_rules.append("spec.provider.doppler.auth.secretRef.dopplerToken.name is not set")
    for p in auth_rules:
        out.append(Problem(f"{what}: {p}",
                           "give spec.provider.doppler.auth exactly one of secretRef "
                           "(dopplerToken {name, key, namespace}) and oidcConfig",
                           path, line, subject=f"{what}:{p}"))
    if not isinstance(doppler.get("config"), str) or not doppler.get("config"):
        out.append(Problem(f"{what} sets no Doppler config, so verify cannot tell which config "
                           "its ExternalSecrets read",
                           "set spec.provider.doppler.config (and project)", path, line,
                           subject=f"{what}:config"))
    return out


# -- schema ------------------------------------------------------------------------------------
def schema(ctx: Context) -> list[Problem]:
    assert ctx.schema_dir is not None
    out = []
    docs: list[tuple[str, int, str, Any]] = [
        (es.path, es.line, f"ExternalSecret {es.name}" + (" (rendered from values)"
                                                           if es.generated else ""), es.doc)
        for es in ctx.index.external_secrets
    ]
    docs += [(s.path, s.line, f"{s.ref.kind} {s.ref.name}", s.doc) for s in ctx.index.stores]
    for path, line, what, doc in docs:
        for p in manifests.validate_manifest(doc, ctx.schema_dir):
            out.append(Problem(
                f"{what}: {p}",
                "fix the manifest to match external-secrets.io/v1 (ESO v2.9 API); ExternalSecrets "
                "secretsync wrote are regenerated by `secretsync apply`",
                path, line, subject=f"{what}:{p}"))
    return out


# -- build -------------------------------------------------------------------------------------
def find_kubectl(explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    return shutil.which("kubectl")


def _resources(ctx: Context, rel: str) -> set[str]:
    """The files a kustomization lists under resources, normalised (`./a.yaml` is `a.yaml`)."""
    from secretsync import documents

    try:
        pf = documents.parse(rel, reading.read_bytes(ctx.root / rel, root=ctx.root))[0]
    except OSError:
        return set()
    return {os.path.normpath(s.value) for s in pf.scalars if len(s.ctx.key_path) == 2
            and s.ctx.key_path[0] == "resources" and s.style not in ("embedded", "comment")}


def _kustomization_entries(ctx: Context, rel: str) -> list[tuple[str, str]]:
    """(field, value) of every scalar in the fields kustomize loads from."""
    pf = ctx.index.parsed.get(rel)
    if pf is None:
        from secretsync import documents

        try:
            pf = documents.parse(rel, reading.read_bytes(ctx.root / rel, root=ctx.root))[0]
        except OSError:
            return []
    return [(str(s.ctx.key_path[0]), s.value) for s in pf.scalars
            if s.ctx.key_path and s.ctx.key_path[0] in _LOADED
            and s.style not in ("comment", "embedded")]


def _reaches_network(ctx: Context, rel: str, seen: set[str] | None = None) -> bool:
    """Would building `rel` fetch anything: a remote entry in it or in any kustomization it
    includes (an overlay's base, a component), however deep."""
    seen = set() if seen is None else seen
    seen.add(rel)
    here = PurePosixPath(rel).parent
    kusts = set(ctx.index.kustomizations)
    for field_name, value in _kustomization_entries(ctx, rel):
        if _REMOTE.search(value):
            return True
        if field_name not in _NESTED:
            continue
        target = os.path.normpath(str(here / value.strip()))
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            k = f"{target}/{name}" if target != "." else name
            if k in kusts and k not in seen and _reaches_network(ctx, k, seen):
                return True
    return False


@cache
def _no_network_prefix() -> tuple[str, ...]:
    """`unshare -rn --` where this machine lets us run kubectl in a namespace with no network
    (the static check above decides what is built; this makes sure nothing else leaks)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        ok = subprocess.run([unshare, "-rn", "--", "true"], capture_output=True, timeout=10,
                            check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (unshare, "-rn", "--") if ok else ()


def build(ctx: Context, values: Iterable[str]) -> tuple[list[Problem], list[str]]:
    """(problems, directories not built: remote bases)."""
    from secretsync.apply import redact

    assert ctx.kubectl is not None
    kubectl = ctx.kubectl
    secret_values = list(values)
    todo: list[str] = []
    remote: list[str] = []
    for rel in ctx.index.kustomizations:
        d = str(PurePosixPath(rel).parent)
        (remote if _reaches_network(ctx, rel) else todo).append(d)

    def run(d: str) -> tuple[str, int, str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
        try:
            r = subprocess.run([*_no_network_prefix(), kubectl, "kustomize", str(ctx.root / d)],
                               capture_output=True,
                               text=True, timeout=120, check=False, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return d, -1, type(exc).__name__
        return d, r.returncode, r.stderr

    out = []
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(todo)))) as pool:
        for d, code, err in pool.map(run, todo):
            if code == 0:
                continue
            # kustomize may quote file content; what it says passes through the values' redaction
            text = redact(" ".join(err.split()), secret_values)
            text = text.replace(str(ctx.root) + "/", "")[:300]
            rel = next(k for k in ctx.index.kustomizations if str(PurePosixPath(k).parent) == d)
            out.append(Problem(f"`kubectl kustomize {d}` fails: {text}",
                               "fix the kustomization (run `kubectl kustomize` on it to see the "
                               "whole error)", rel, 1, subject=d))
    return out, remote


# -- follow-up ---------------------------------------------------------------------------------
def follow_up(ctx: Context) -> list[Problem]:
    """What apply leaves for a human, recomputed from the tree: the plan's follow-ups for values
    still in it, and templates that still read a value apply turned into a *SecretRef."""
    out: list[Problem] = []
    plan = ctx.plan()
    if isinstance(plan, SecretsyncError):
        exc = plan
        return [Problem(f"cannot recompute the plan's follow-ups: {exc.message}",
                        "run `secretsync plan` and fix what it reports", None,
                        subject="plan")]
    for f in plan.followups:
        where = f" [{f.key_path}]" if f.key_path else ""
        what, _, todo = f.reason.partition(": ")
        out.append(Problem(f"{what}{where}", todo or "see `secretsync plan`",
                           f.path, f.line, f.column, subject=f"{f.key_path}:{what}"))
    out.extend(_template_consumers(ctx))
    return out


_BROKEN = "template reads "


def broken_consumer(p: Problem) -> bool:
    """Does a template read a key that no longer holds a value (it would render empty)?"""
    return p.message.startswith(_BROKEN)


def _template_consumers(ctx: Context) -> list[Problem]:
    idx = ctx.index
    suffix = ctx.cfg.ref_suffix
    texts: dict[str, str] = {}
    out = []
    for r in idx.refs:
        if not r.via.endswith(suffix) or r.via == "secretKeyRef" or r.via == "envFrom":
            continue
        p = PurePosixPath(r.path)
        if not re.fullmatch(r"values([-_.].+)?\.ya?ml", p.name):
            continue
        chart = str(p.parent)
        original = r.via[: -len(suffix)]
        base = tuple(r.kp[:-2])
        if not original or not all(isinstance(k, str) for k in base):
            continue
        expr = ".Values." + ".".join([*(str(k) for k in base), original])
        pattern = re.compile(re.escape(expr) + r"(?![\w.])")
        now = dotted((*base, r.via)) or r.via
        reads_now = re.compile(re.escape(f".Values.{now}") + r"(?![\w.])")
        read = False
        for t in _templates(idx.rels, chart):
            if t not in texts:
                try:
                    texts[t] = reading.read_text(ctx.root / t, root=ctx.root)
                except (OSError, UnicodeDecodeError):
                    texts[t] = ""
            text = texts[t]
            read = read or bool(reads_now.search(text))
            for m in pattern.finditer(text):
                read = True
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - text.rfind("\n", 0, m.start())
                out.append(Problem(
                    f"{_BROKEN}{expr}, which is now {now} (Secret {r.secret}, key "
                    f"{r.key})",
                    "make the template read the Secret (e.g. valueFrom.secretKeyRef with "
                    f"{now}.name and .key), then the follow-up is done",
                    t, line, col, subject=f"{expr}"))
        if not read:
            # The plan's "no template reads" follow-up, still open after apply: the chart
            # that consumes the value lives outside the tree and must read the reference.
            out.append(Problem(f"no template in the tree reads {expr} [{r.key_path}]",
                               f"make the chart that consumes it read {now} (Secret "
                               f"{r.secret})", r.path, r.line, r.column,
                               subject=f"{r.key_path}:no template"))
    return out


def _templates(rels: Sequence[str], chart: str) -> list[str]:
    prefix = f"{chart}/templates/" if chart != "." else "templates/"
    return [r for r in rels if r.startswith(prefix)]


def secret_values(findings: Iterable[Finding]) -> list[str]:
    return [f.value for f in findings if len(f.value) >= 3]


def es_by_store(ess: Iterable[ExternalSecretInfo]) -> dict[tuple[str, str], list[
        ExternalSecretInfo]]:
    out: dict[tuple[str, str], list[ExternalSecretInfo]] = {}
    for es in ess:
        if es.store is not None:
            out.setdefault((es.store.kind, es.store.name), []).append(es)
    return out
