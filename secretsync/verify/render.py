"""Report formats: a table a release manager reads at a glance (summary, then details), JSON,
and SARIF 2.1.0 for code scanning. Problems hold no values, so nothing here redacts."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from secretsync import __version__
from secretsync.redact import printable
from secretsync.verify.model import DESCRIPTIONS, CheckId, Report, Status

_MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.WARN: "WARN",
         Status.NOT_CHECKED: "NOT CHECKED", Status.SKIPPED: "skipped"}


def table(report: Report, width: int = 120, details: bool = True) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, no_color=True,
                      highlight=False)
    verdict = "PASSED" if report.passed else "FAILED"
    t = Table(title=f"secretsync verify ({report.mode}): {verdict}", show_lines=False)
    t.add_column("Check", style="bold")
    t.add_column("Status")
    t.add_column("Problems", justify="right")
    t.add_column("Summary")
    t.add_column("Time", justify="right")
    for r in report.results:
        t.add_row(r.id.value, _MARK[r.status], str(len(r.problems)), printable(r.summary),
                  f"{r.seconds:.2f}s")
    console.print(t)
    for r in report.results if details else ():
        if not r.problems:
            continue
        console.print(f"\n{_MARK[r.status]} {r.id.value}: {DESCRIPTIONS[r.id]}")
        for p in r.problems:
            where = (f"{p.path}:{p.line}" + (f":{p.column}" if p.column else "")
                     if p.path and p.line else (p.path or "-"))
            console.print(printable(f"  {where}  {p.message}"), soft_wrap=True, markup=False)
            console.print(printable(f"      fix: {p.fix}"), soft_wrap=True, markup=False)
    if report.config is not None:
        lines = report.config.lines()
        if lines:
            console.print()
        for line in lines:
            console.print(printable(line), soft_wrap=True, markup=False)
    console.print(f"\n{len(report.results)} checks in {report.seconds:.2f}s; exit "
                  f"{0 if report.passed else 1}")
    return buf.getvalue()


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "version": 1,
        "tool": {"name": "secretsync", "version": __version__},
        "mode": report.mode,
        "passed": report.passed,
        "strict": report.strict,
        "seconds": round(report.seconds, 3),
        "checks": [
            {
                "id": r.id.value,
                "status": r.status.value,
                "summary": r.summary,
                "seconds": round(r.seconds, 3),
                "suppressed": r.suppressed,
                "problems": [
                    {"path": p.path, "line": p.line or None, "column": p.column or None,
                     "message": p.message, "fix": p.fix, "fingerprint": p.fingerprint(r.id)}
                    for p in r.problems
                ],
            }
            for r in report.results
        ],
        "warnings": list(report.warnings),
        "config": None if report.config is None else {
            "source": report.config.source,
            "skipped_checks": list(report.config.skipped_checks),
            "excluded_files": (list(report.config.excluded_files)
                               if report.config.excluded_files is not None else None),
        },
    }


def json_text(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"


def sarif(report: Report) -> str:
    rule_ids = [c for c in CheckId]
    index = {c: i for i, c in enumerate(rule_ids)}
    results = []
    for r in report.results:
        if r.status not in (Status.FAIL, Status.WARN):
            continue
        level = "error" if r.status is Status.FAIL else "warning"
        for p in r.problems:
            res: dict[str, Any] = {
                "ruleId": r.id.value,
                "ruleIndex": index[r.id],
                "level": level,
                "message": {"text": f"{p.message}. Fix: {p.fix}"},
                "partialFingerprints": {"secretsync-verify/v1": p.fingerprint(r.id)},
            }
            if p.path:
                region = ({"startLine": p.line, "startColumn": max(p.column, 1)} if p.line
                          else {"startLine": 1})
                res["locations"] = [{"physicalLocation": {
                    "artifactLocation": {"uri": p.path, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }}]
            results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secretsync-verify",
                "version": __version__,
                "informationUri": "https://github.com/secretsync/secretsync",
                "rules": [{
                    "id": c.value,
                    "name": "".join(w.capitalize() for w in c.value.split("-")),
                    "shortDescription": {"text": DESCRIPTIONS[c]},
                    "defaultConfiguration": {"level": "warning" if c is CheckId.FOLLOW_UP
                                             else "error"},
                    "help": {"text": f"Suppress one place with `# secretsync:ignore[{c.value}]`; "
                                     f"skip the check with verify.skip: [{c.value}]."},
                } for c in rule_ids],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + report.root.rstrip("/")
                                                 + "/"}},
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": f"{r.id.value}: {r.status.value}: "
                                                          f"{r.summary}"}}
                    for r in report.results
                ],
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(report: Report, fmt: str) -> str:
    return {"table": table, "json": json_text, "sarif": sarif}[fmt](report)
