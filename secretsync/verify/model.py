"""What verify reports: one result per check, each problem with the place and what to do.

Nothing here ever holds a secret value: problems name files, key paths, Secret and Doppler names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


class CheckId(StrEnum):
    """Stable ids, the same in output, `.secretsync.yaml` (`verify.skip`) and suppressions
    (`# secretsync:ignore[<id>]`)."""

    LITERAL = "literal"
    UNRESOLVED_REF = "unresolved-ref"
    MISSING_REMOTE = "missing-remote"
    STORE = "store"
    ENV_LEAK = "env-leak"
    SCHEMA = "schema"
    BUILD = "build"
    FOLLOW_UP = "follow-up"
    EQUIVALENCE = "equivalence"


ALL_CHECKS: tuple[CheckId, ...] = tuple(CheckId)
# Checks that need Doppler for all of their work; `--offline` skips them.
ONLINE_ONLY: frozenset[CheckId] = frozenset({CheckId.MISSING_REMOTE})

DESCRIPTIONS: dict[CheckId, str] = {
    CheckId.LITERAL: "No account-specific value or secret left in the tree (baseline and inline "
                     "suppressions honoured)",
    CheckId.UNRESOLVED_REF: "Every secretKeyRef / envFrom.secretRef / chart *SecretRef names a "
                            "Secret the tree produces, with that key",
    CheckId.MISSING_REMOTE: "Every ExternalSecret remoteRef.key exists in the Doppler config its "
                            "store reads (names only)",
    CheckId.STORE: "Every store an ExternalSecret names exists, is a valid Doppler store, and "
                   "reaches its config",
    CheckId.ENV_LEAK: "No dev value in production, in the tree or in Doppler (keyed hashes)",
    CheckId.SCHEMA: "ExternalSecrets and stores validate against the ESO v1 schemas plus the CEL "
                    "and webhook rules",
    CheckId.BUILD: "Every kustomization builds with `kubectl kustomize`",
    CheckId.FOLLOW_UP: "Manual follow-ups left by apply (block scalars, template consumers)",
    CheckId.EQUIVALENCE: "Every Flux cluster renders the same effective configuration as at the "
                         "git revision (--against, default HEAD), Doppler's values put back; "
                         "offline: every reference, variable and namespace resolves",
}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    """Listed for a human, does not fail the gate (unless --strict)."""
    NOT_CHECKED = "not-checked"
    """Could not run here (kubectl absent, remote bases): never counted as passed."""
    SKIPPED = "skipped"
    """Not selected, or needs Doppler in --offline mode."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or to do), at a place, with the way out."""

    message: str
    fix: str
    path: str | None = None
    line: int = 0
    column: int = 0
    subject: str = ""
    """What the problem is about (a Secret, a Doppler name, a store): keys the fingerprint."""

    def fingerprint(self, check: str) -> str:
        """Stable across line moves: check, file and subject (or message)."""
        raw = f"secretsync-verify/v1\0{check}\0{self.path or ''}\0{self.subject or self.message}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: CheckId
    status: Status
    summary: str
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0
    suppressed: int = 0


@dataclass(frozen=True, slots=True)
class ConfigSummary:
    """What the configuration verify ran with turns off: a gate that skips checks or excludes
    every file must say so where the verdict is read."""

    source: str
    skipped_checks: tuple[str, ...] = ()
    excluded_files: tuple[int, int] | None = None
    """(excluded, total) when `excludes:` is set."""

    def lines(self) -> list[str]:
        out = []
        if self.skipped_checks:
            out.append(f"config skips checks: {', '.join(self.skipped_checks)}")
        if self.excluded_files is not None:
            n, total = self.excluded_files
            out.append(f"config excludes every file ({n} of {total})" if n == total and total
                       else f"config excludes {n} of {total} files")
        return out


@dataclass(frozen=True, slots=True)
class Report:
    root: str
    mode: str
    """offline or full."""
    results: tuple[CheckResult, ...]
    strict: bool = False
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    config: ConfigSummary | None = None

    def failed(self) -> tuple[CheckResult, ...]:
        bad = {Status.FAIL} | ({Status.WARN, Status.NOT_CHECKED} if self.strict else set())
        return tuple(r for r in self.results if r.status in bad)

    @property
    def passed(self) -> bool:
        return not self.failed()

    def result(self, check: CheckId | str) -> CheckResult:
        return next(r for r in self.results if r.id == check)
