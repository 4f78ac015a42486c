"""Plan decisions on small trees: what becomes a reference, what needs a human, and the commands
init and rewrite."""

from __future__ import annotations

import json
from pathlib import Path

from secretsync.cli import run_cli
from secretsync.config import load
from secretsync.plan import build
from secretsync.testing import DopplerTestServer
from tests.conftest import build_tree

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: svc\nversion: 0.1.0\n",
    "chart/values.yaml": (
        "global:\n"
        "  tailscale:\n"
        "    clientId: k3r7wuCSzd11CNTRL  # in git\n"
        "  host: api.tail876052.ts.net\n"
        "config: |\n"
        "  tunnel: f6746974-5104-49ef-beed-c66a048f5062\n"
    ),
    "chart/values-prd.yaml": "replicaCount: 2\r\n",
    "chart/templates/deploy.yaml": "x: {{ .Values.global.tailscale.clientId }}\n",
    "stores/prd.yaml": (
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n"
        "metadata:\n  name: doppler-prd\nspec:\n  provider:\n    doppler:\n      config: prd\n"
        "      auth:\n        secretRef:\n          dopplerToken:\n            name: t\n"
        "            namespace: es\n"
    ),
}


def test_plan_decisions_on_a_chart(tmp_path: Path) -> None:
    root = build_tree(tmp_path / "t", CHART)
    built = build(root, load(root, project="p", env={}))
    plan = built.plan
    kinds = {(e.path, e.kind) for e in plan.edits}
    assert ("chart/values.yaml", "secret-ref") in kinds
    assert ("chart/values-prd.yaml", "values-block") in kinds
    reasons = {(f.path, f.key_path): f.reason for f in plan.followups}
    assert "part of a longer value" in reasons[("chart/values.yaml", "global.host")]
    assert "block scalar" in reasons[("chart/values.yaml", "config.tunnel")]
    tpl = [f for f in plan.followups if f.path == "chart/templates/deploy.yaml"]
    assert tpl and tpl[0].line == 1 and "clientIdSecretRef" in tpl[0].reason
    assert [m.path for m in plan.manifests] == ["chart/templates/secretsync-externalsecret.yaml"]
    # The prd values file keeps its CRLF in what is appended.
    prd = next(c for c in built.changes if c.rel == "chart/values-prd.yaml").data
    assert prd.startswith(b"replicaCount: 2\r\n\r\n# Added by secretsync")
    assert b"\n" not in prd.replace(b"\r\n", b"")
    assert b"name: doppler-prd\r\n" in prd
    # Offline: statuses are `push`, and the JSON holds no value.
    assert {s.status for s in plan.secrets} == {"push"}
    text = plan.to_json()
    assert "k3r7wuCSzd11CNTRL" not in text and "tail876052" not in text
    assert type(plan).from_json(text) == plan


def test_init_then_rewrite_for_values_already_in_doppler(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = build_tree(tmp_path / "t", CHART)
    assert run_cli(["init", str(root), "--project", "p"]) == 0
    text = (root / ".secretsync.yaml").read_text()
    assert "doppler-prd" in text and "k3r7wuCSzd11CNTRL" not in text
    assert run_cli(["init", str(root)]) == 2  # refuses to overwrite
    with DopplerTestServer() as srv:
        srv.add_project("p")
        monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
        monkeypatch.setenv("DOPPLER_TOKEN", srv.issue_token("personal"))
        # Not in Doppler yet: rewrite refuses and changes nothing.
        before = (root / "chart/values.yaml").read_bytes()
        assert run_cli(["rewrite", str(root)]) == 2
        assert (root / "chart/values.yaml").read_bytes() == before
        for config in ("dev", "prd", "stg"):
            srv.set_secret("p", config, "TAILSCALE_CLIENT_ID", "k3r7wuCSzd11CNTRL")
            srv.set_secret("p", config, "TAILNET", "tail876052")
            srv.set_secret("p", config, "CLOUDFLARE_TUNNEL_ID",
                           "f6746974-5104-49ef-beed-c66a048f5062")
        assert run_cli(["rewrite", str(root)]) == 0
        after = (root / "chart/values.yaml").read_text()
        assert ("clientIdSecretRef:\n      name: svc-doppler\n      key: TAILSCALE_CLIENT_ID"
                in after)
        assert not [e for e in srv.request_log if e.method == "POST"]
        assert run_cli(["plan", str(root), "-o", str(tmp_path / "p.json")]) == 0
        plan = json.loads((tmp_path / "p.json").read_text())
        assert plan["edits"] == []


def test_no_project_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DOPPLER_PROJECT", raising=False)
    root = build_tree(tmp_path / "t", CHART)
    assert run_cli(["plan", str(root), "--offline"]) == 2


def test_environment_overrides_from_config_reach_the_scan(tmp_path: Path) -> None:
    files = {**CHART, ".secretsync.yaml": "environments: {'chart/values.yaml': stg}\n"}
    root = build_tree(tmp_path / "t", files)
    plan = build(root, load(root, project="p", env={})).plan
    client = [s for s in plan.secrets if s.name == "TAILSCALE_CLIENT_ID"]
    assert [(s.env, s.config) for s in client] == [("stg", "stg")]
