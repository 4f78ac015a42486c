"""The exposure report as table, JSON or SARIF. Each renderer sees previews, fingerprints,
commit ids and dates only: `Exposed.value` is never read here."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from secretsync import __version__
from secretsync.exposure.history import Exposed, ExposureReport, Stamp
from secretsync.exposure.rotation import push_command
from secretsync.formats.table import printable


def _stamp(s: Stamp | None) -> dict[str, str] | None:
    return None if s is None else {"commit": s.sha, "date": s.date}


def _push(e: Exposed) -> str | None:
    if not e.rotation.rotate:
        return None
    d = e.doppler
    return push_command(d.name if d else e.name, d.config if d else None,
                        d.project if d else None)


def secret_dict(e: Exposed) -> dict[str, Any]:
    d = e.doppler
    return {
        "id": e.id,
        "name": e.name,
        "detector": e.detector,
        "kind": e.rotation.kind.value,
        "rotate": e.rotation.rotate,
        "provider": e.rotation.provider,
        "rotation_step": e.rotation.step if e.rotation.rotate else None,
        "note": None if e.rotation.rotate else e.rotation.step,
        "push_command": _push(e),
        "preview": e.preview,
        "fingerprint": e.fingerprint,
        "first": _stamp(e.first),
        "last": _stamp(e.last),
        "in_head": e.in_head,
        "added": e.added,
        "doppler": None if d is None else {
            "name": d.name, "project": d.project, "config": d.config, "source": d.source,
            "holds_this_value": d.holds_value,
        },
        "places": [{"path": p.path, "line": p.line, "column": p.column, "key_path": p.key_path,
                    "detector": p.detector, "commit": p.commit.sha, "date": p.commit.date}
                   for p in e.places],
    }


def to_json(r: ExposureReport) -> str:
    creds = [e for e in r.secrets if e.rotation.rotate]
    doc = {
        "version": 1,
        "tool": {"name": "secretsync", "version": __version__},
        "repository": r.root,
        "rev_range": r.rev_range,
        "head": _stamp(r.head),
        "secrets": [secret_dict(e) for e in r.secrets],
        "warnings": list(r.warnings),
        "stats": {
            "commits": r.commits,
            "blobs_scanned": r.blobs_scanned,
            "bytes_scanned": r.bytes_scanned,
            "secrets": len(r.secrets),
            "credentials": len(creds),
            "identifiers": len(r.secrets) - len(creds),
            "in_head": sum(e.in_head for e in r.secrets),
            "added_credentials": sum(e.added for e in creds),
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_table(r: ExposureReport, width: int = 180) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False)
    where = f"{r.rev_range}" if r.rev_range else "all refs"
    if not r.secrets:
        console.print(f"No values in {r.commits} commits ({where}, {r.blobs_scanned} blobs).")
        return buf.getvalue()
    creds = sum(e.rotation.rotate for e in r.secrets)
    table = Table(title=f"{len(r.secrets)} values in the history of {where} ({r.commits} commits):"
                        f" {creds} to rotate", show_lines=True)
    for col in ("Doppler name", "Detector", "Rotate", "Preview", "First", "Last", "HEAD",
                "Places"):
        table.add_column(col, overflow="fold")
    for e in r.secrets:
        name = e.doppler.name if e.doppler else e.name
        rotate = "yes" if e.rotation.rotate else "no (identifier)"
        places = "\n".join(printable(f"{p.path}:{p.line}" + (f" {p.key_path}" if p.key_path
                                                               else "")) for p in e.places[:5])
        if len(e.places) > 5:
            places += f"\n(+{len(e.places) - 5} more)"
        table.add_row(Text(printable(name)), Text(e.detector), Text(rotate), Text(e.preview),
                      Text(f"{e.first.sha[:10]} {e.first.date[:10]}"),
                      Text(f"{e.last.sha[:10]} {e.last.date[:10]}"),
                      Text("yes" if e.in_head else "no"), Text(places))
    console.print(table)
    for e in r.secrets:
        if e.rotation.rotate:
            console.print(Text(printable(
                f"rotate {e.doppler.name if e.doppler else e.name} ({e.rotation.provider}): "
                f"{e.rotation.step}; then `{_push(e)}` (new value on stdin)")))
    return buf.getvalue()


def _rule(e: Exposed) -> dict[str, Any]:
    what = "credential: rotate it" if e.rotation.rotate else "identifier: exposure noted"
    return {
        "id": e.detector,
        "name": "".join(w.capitalize() for w in e.detector.split("-")),
        "shortDescription": {"text": f"Value in git history ({e.detector}), {what}"},
        "fullDescription": {"text": "A value stays readable in every commit that held it, "
                                    "even after it moved to Doppler."},
        "defaultConfiguration": {"level": "error" if e.rotation.rotate else "note"},
    }


def to_sarif(r: ExposureReport) -> str:
    rules: dict[str, dict[str, Any]] = {}
    for e in r.secrets:
        rules.setdefault(e.detector, _rule(e))
    index = {rid: i for i, rid in enumerate(sorted(rules))}
    results = []
    for e in r.secrets:
        p = e.places[0]
        how = (f"rotate: {e.rotation.step}; then `{_push(e)}`" if e.rotation.rotate
               else f"no rotation: {e.rotation.step}")
        results.append({
            "ruleId": e.detector,
            "ruleIndex": index[e.detector],
            "level": "error" if e.rotation.rotate else "note",
            "message": {"text": f"{e.detector} ({e.preview}) held from commit {e.first.sha[:12]} "
                                f"({e.first.date}) to {e.last.sha[:12]} ({e.last.date})"
                                f"{', still in HEAD' if e.in_head else ''}; {how}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": p.path, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": p.line, "startColumn": p.column},
            }}],
            "partialFingerprints": {"secretsync-exposure/v1": e.fingerprint},
            "properties": {"secret": e.id, "name": e.name, "kind": e.rotation.kind.value,
                           "firstCommit": e.first.sha, "lastCommit": e.last.sha,
                           "inHead": e.in_head},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "secretsync", "version": __version__,
                                "informationUri": "https://github.com/secretsync/secretsync",
                                "rules": [rules[k] for k in sorted(rules)]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + r.root.rstrip("/") + "/"}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(r: ExposureReport, fmt: str) -> str:
    return {"json": to_json, "sarif": to_sarif, "table": to_table}[fmt](r)
