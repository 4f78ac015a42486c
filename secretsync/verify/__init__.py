"""`secretsync verify`: is this tree safe to ship? One result per check, each with a stable id.

The checks (see `model.CheckId`): literal, unresolved-ref, missing-remote, store, env-leak, schema,
build, follow-up. `run_verify` runs them; `render` formats the report.
"""

from __future__ import annotations

from secretsync.verify.model import ALL_CHECKS, CheckId, CheckResult, Problem, Report, Status
from secretsync.verify.run import VerifyOptions, fixed_factory, run_verify

__all__ = ["ALL_CHECKS", "CheckId", "CheckResult", "Problem", "Report", "Status",
           "VerifyOptions", "fixed_factory", "run_verify"]
