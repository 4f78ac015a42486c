"""`--format json`: the contract in DESIGN.md, `{"findings": [...]}` and more beside it."""

from __future__ import annotations

import json
from typing import Any

from secretsync import __version__
from secretsync.models import Finding, ScanResult
from secretsync.redact import preview


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "key_path": f.key_path_dotted,
        "detector": f.detector,
        "environments": list(f.environments),
        "fingerprint": f.fingerprint,
        "preview": preview(f.value),
        "suggested_name": f.suggested_name,
        "secret": f.secret_id,
        "env_name": f.env_name,
        "kind": f.kind,
        "in_block_scalar": f.style == "embedded",
        "in_comment": f.style == "comment",
        "message": f.message or None,
    }


def render(result: ScanResult) -> str:
    doc = {
        "version": 1,
        "tool": {"name": "secretsync", "version": __version__},
        "findings": [finding_dict(f) for f in result.findings],
        "secrets": [
            {
                "id": g.id,
                "name": g.name,
                "detector": g.detector,
                "environments": list(g.environments),
                "dev_value": g.dev_value,
                "preview": preview(g.value),
                "places": [{"path": f.path, "line": f.line, "column": f.column,
                            "key_path": f.key_path_dotted} for f in g.findings],
            }
            for g in result.secrets
        ],
        "warnings": list(result.warnings),
        "stats": {
            "files_scanned": result.files_scanned,
            "files_parsed": result.files_parsed,
            "bytes_scanned": result.bytes_scanned,
            "suppressed_inline": result.suppressed,
            "baselined": result.baselined,
            "environments": list(result.environments),
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
