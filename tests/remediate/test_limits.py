"""Honest limits (issue 10 item 4): a place no remediation kind can move says which mechanism
is missing, naming the template line, the object field and what would unblock it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from secretsync.config import load
from secretsync.plan import FollowUp, build

REPO = Path(__file__).resolve().parents[2]
P = "gitops-platform"


@pytest.fixture(scope="module")
def followups(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str | None], str]:
    tree = tmp_path_factory.mktemp("lim") / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    plan = build(tree, load(tree, project="gaynance", env={})).plan
    out: dict[tuple[str, str | None], str] = {}
    for f in plan.followups:
        assert isinstance(f, FollowUp)
        out[(f.path, f.key_path)] = f.reason
    return out


def test_an_annotation_names_kubernetes_and_argo_cd(
        followups: dict[tuple[str, str | None], str]) -> None:
    why = followups[(f"{P}/infrastructure/manifests/network/tailscale-egress.yaml",
                     "metadata.annotations.tailscale.com/tailnet-fqdn")]
    assert why.startswith("annotation tailscale.com/tailnet-fqdn of Service: Kubernetes cannot "
                          "fill an annotation from a Secret")
    assert "nothing in the tree deploys gitops-platform/infrastructure/manifests/network" in why
    assert why.endswith("to unblock: deploy it with Flux instead (postBuild ${VAR}, or "
                        "HelmRelease valuesFrom for a chart)")


def test_a_chart_value_names_the_template_line_and_field(
        followups: dict[tuple[str, str | None], str]) -> None:
    chart = f"{P}/infrastructure/charts/protected-services"
    why = followups[(f"{chart}/values.yaml", "oauth2Proxy.signIn")]
    assert why.startswith(f"{chart}/templates/ingress.yaml:11 renders "
                          ".Values.oauth2Proxy.signIn (part of a longer value) into annotation "
                          "nginx.ingress.kubernetes.io/auth-signin of an Ingress")
    # example-ui's ConfigMap keys move (configmap-env); where they cannot, see
    # test_configmap_env.test_a_configmap_read_otherwise_stays.
    ui = f"{P}/deploy/services/example-ui"
    assert (f"{ui}/values-dev.yaml", "apiBaseUrl") not in followups


def test_no_place_left_says_by_guesswork(
        followups: dict[tuple[str, str | None], str]) -> None:
    assert not [w for w in followups.values() if "guesswork" in w or "by hand (not" in w]
