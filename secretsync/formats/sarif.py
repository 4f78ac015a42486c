"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning. No snippet, no value: regions and
a redacted preview only. `partialFingerprints` come from the place, not the line, so a moved
line keeps its alert."""

from __future__ import annotations

import json
from typing import Any

from secretsync import __version__
from secretsync.models import ScanResult
from secretsync.redact import preview

_DESCRIPTIONS = {
    "env-leak": "A dev value inherited by a non-dev environment without an override",
}


def _rule(rule_id: str) -> dict[str, Any]:
    text = _DESCRIPTIONS.get(rule_id) or f"Account-specific value: {rule_id.replace('-', ' ')}"
    return {
        "id": rule_id,
        "name": "".join(w.capitalize() for w in rule_id.split("-")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": f"{text}. Move it to Doppler and reference it through "
                                    "an External Secrets Operator ExternalSecret."},
        "defaultConfiguration": {"level": "error"},
        "help": {"text": "Run `secretsync plan` then `secretsync apply` to move the value, or "
                         f"suppress with `# secretsync:ignore[{rule_id}]`."},
    }


def render(result: ScanResult) -> str:
    rule_ids = sorted({f.detector for f in result.findings})
    index = {r: i for i, r in enumerate(rule_ids)}
    results = []
    for f in result.findings:
        where = f.key_path_dotted or f"line {f.line}"
        msg = f.message or f"{f.detector} at {where}"
        results.append({
            "ruleId": f.detector,
            "ruleIndex": index[f.detector],
            "level": "error",
            "message": {"text": f"{msg} ({preview(f.value)}); suggested Doppler name "
                                f"{f.suggested_name}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column},
                },
            }],
            "partialFingerprints": {"secretsync/v1": f.fingerprint},
            "properties": {"environments": list(f.environments), "secret": f.secret_id,
                           "suggestedName": f.suggested_name},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secretsync",
                "version": __version__,
                "informationUri": "https://github.com/secretsync/secretsync",
                "rules": [_rule(r) for r in rule_ids],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + result.root.rstrip("/") + "/"}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
