#!/usr/bin/env python3
"""Diff quality of a remediation: `python benchmarks/diff_quality.py [TREE ...]`.

For each tree (default: examples/), copies it, runs `secretsync apply` against the embedded
Doppler-compatible server, and reports:
- lines changed outside the edited spans (target 0): lines of the diff that no planned edit
  covers, in files that existed before (added files are reported separately);
- the size of the diff: files changed / added, lines removed / added;
- apply timings.
Prints JSON; exits 1 when any line changed outside the spans.
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def measure(tree: Path, project: str = "gaynance") -> dict[str, object]:
    from secretsync.apply import apply
    from secretsync.config import load
    from secretsync.doppler.client import ClientSettings, DopplerClient
    from secretsync.plan import build
    from secretsync.testing import DopplerTestServer

    with tempfile.TemporaryDirectory() as tmp, DopplerTestServer() as srv:
        srv.add_project(project)
        work = Path(tmp) / "tree"
        shutil.copytree(tree, work)
        before = _files(work)
        cfg = load(work, project=project, env={})
        with DopplerClient(srv.issue_token("personal"),
                           settings=ClientSettings(api_host=srv.url)) as api:
            plan = build(work, cfg, api).plan
            t0 = time.perf_counter()
            report = apply(work, cfg, api)
            first = time.perf_counter() - t0
            t1 = time.perf_counter()
            second = apply(work, cfg, api)
            again = time.perf_counter() - t1
        after = _files(work)
    # Old-file line numbers each planned edit may touch (its span's lines).
    allowed: dict[str, set[int]] = {}
    for e in plan.edits:
        text = before[e.path].decode("utf-8-sig", "replace")
        first_line = text.count("\n", 0, e.start) + 1
        last_line = text.count("\n", 0, max(e.start, e.end - 1)) + 1
        allowed.setdefault(e.path, set()).update(range(first_line, last_line + 1))
    outside = removed = added = 0
    changed_files = added_files = 0
    for rel, data in after.items():
        if rel not in before:
            added_files += 1
            added += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            continue
        if before[rel] == data:
            continue
        changed_files += 1
        a = before[rel].decode("utf-8", "replace").splitlines(keepends=True)
        b = data.decode("utf-8", "replace").splitlines(keepends=True)
        ok = allowed.get(rel, set())
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            removed += i2 - i1
            added += j2 - j1
            old_lines = set(range(i1 + 1, i2 + 1))
            # A pure insertion sits at an edit's line (after it) or at the end of the file.
            if not old_lines:
                if not ({i1, i1 + 1} & ok or i1 == len(a)):
                    outside += j2 - j1
                continue
            outside += len(old_lines - ok)
    deleted = [p for p in before if p not in after]
    return {
        "tree": str(tree),
        "lines_changed_outside_spans": outside + len(deleted),
        "files_changed": changed_files,
        "files_added": added_files,
        "files_deleted": len(deleted),
        "diff_lines_removed": removed,
        "diff_lines_added": added,
        "edits": len(plan.edits),
        "followups": len(plan.followups),
        "apply_seconds": round(first, 3),
        "second_apply_seconds": round(again, 3),
        "second_apply_noop": second.noop,
        "files_reported_changed": len(report.files_changed),
    }


def main(argv: list[str]) -> int:
    trees = [Path(a) for a in argv] or [REPO / "examples"]
    results = [measure(t) for t in trees]
    print(json.dumps(results, indent=2))
    return 1 if any(r["lines_changed_outside_spans"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
