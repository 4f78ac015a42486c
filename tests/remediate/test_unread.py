"""unread: a value no template deploys is deleted once Doppler holds it (issue 10 item 4):
the app-of-apps `global.*` keys no Application reads, and in-tree chart values that the chart's
templates never render (read through a range variable or not at all)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

from secretsync.config import load
from secretsync.plan import build
from secretsync.remediate.unread import template_reads
from tests.conftest import build_tree

REPO = Path(__file__).resolve().parents[2]
APPS = "gitops-platform/infrastructure/apps/values.yaml"
PROTECTED = "gitops-platform/infrastructure/charts/protected-services/values.yaml"


def test_reads_through_a_range_variable() -> None:
    text = ("{{- range $name, $svc := .Values.services }}\n"
            "ns: {{ $svc.namespace }}\nport: {{ $svc.port }}\n"
            "url: {{ $.Values.oauth2Proxy.url }}\n{{- end }}\n")
    assert sorted(template_reads(text)) == [
        ("oauth2Proxy", "url"), ("services", "*", "namespace"), ("services", "*", "port")]
    # A bare range variable reads every element whole.
    assert ("services", "*") in template_reads(
        "{{ range $s := .Values.services }}{{ toYaml $s }}{{ end }}")


def test_unread_values_are_deleted_and_read_ones_stay(tmp_path: Path) -> None:
    tree = tmp_path / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    built = build(tree, load(tree, project="gaynance", env={}))
    unread = {(e.path, e.key_path) for e in built.plan.edits if e.kind == "unread"}
    assert {(APPS, f"global.{k}") for k in ("cloudflare.tunnelId", "telegram.chatId",
                                             "s3.endpoint")} <= unread
    assert {(PROTECTED, f"services.{s}.host") for s in ("vault", "argocd", "longhorn",
                                                         "grafana")} <= unread
    assert (PROTECTED, "tailnet") in unread
    # oauth2Proxy.signIn is rendered into an annotation: it stays, with its reason.
    assert (PROTECTED, "oauth2Proxy.signIn") not in unread
    assert any(f.path == PROTECTED and f.key_path == "oauth2Proxy.signIn"
               for f in built.plan.followups)
    # Doppler still gets every value that was deleted.
    assert {"CLOUDFLARE_TUNNEL_ID", "TELEGRAM_CHAT_ID", "S3_ENDPOINT", "TAILNET"} <= {
        s.name for s in built.plan.secrets if s.status == "push"}
    after = {c.rel: c.data for c in built.changes}
    values = YAML(typ="safe").load(after[APPS])
    assert values["global"]["cloudflare"] == {} and values["global"]["s3"] == {}
    # argo-recipe's removal in the same file is kept (one splice does both).
    assert values["global"]["tailscale"] == {}
    # Its readers feed charts that never read it, but one: argo-recipe's, not unread's.
    assert "tailnet" not in values["global"]
    assert not any(e.kind == "unread" and e.key_path == "global.tailnet" for e in built.plan.edits)
    chart = YAML(typ="safe").load(after[PROTECTED])
    assert "tailnet" not in chart and "host" not in chart["services"]["vault"]
    assert chart["services"]["vault"]["port"] == 8200


def test_a_chart_that_may_read_values_by_other_means_keeps_them(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "chart/Chart.yaml": "apiVersion: v2\nname: svc\nversion: 0.1.0\n",
        "chart/values.yaml": "# svc\nhost: api.tail876052.ts.net\nport: 80\n",
        "chart/templates/svc.yaml": "port: {{ .Values.port }}\nall: {{ index .Values \"host\" }}\n",
        "app.yaml": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
                     "  name: svc\nspec:\n  source:\n    repoURL: https://x/y.git\n"
                     "    path: chart\n  destination:\n    namespace: svc\n"),
    }
    root = build_tree(tmp_path / "t", files)
    built = build(root, load(root, project="p", env={}))
    assert not [e for e in built.plan.edits if e.kind == "unread"]
    files["chart/templates/svc.yaml"] = "port: {{ .Values.port }}\n"
    root = build_tree(tmp_path / "u", files)
    built = build(root, load(root, project="p", env={}))
    assert [e.key_path for e in built.plan.edits if e.kind == "unread"] == ["host"]
