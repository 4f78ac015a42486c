"""The deploy graph on the Flux platform fixture: clusters from the bootstrap layout, Flux's
generated kustomization (recursive, sub-directories with their own kustomization taken whole),
patches, namespaces, and the store each cluster reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretsync.remediate import graph
from secretsync.scan import ScanOptions, list_files

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flux-platform"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _graph(root: Path) -> graph.DeployGraph:
    _, files, _ = list_files([root], ScanOptions())
    return graph.build(root, [f.rel for f in files])


@pytest.fixture(scope="module")
def g() -> graph.DeployGraph:
    return _graph(FIXTURE)


def _where(g: graph.DeployGraph, rel: str) -> set[tuple[str, str, str | None, bool]]:
    return {(d.cluster, d.flux.name, d.namespace, d.patch) for d in g.deployed(rel)}


def test_clusters_and_their_kustomizations(g: graph.DeployGraph) -> None:
    assert g.clusters == ["dev", "prd"]
    names = {(k.cluster, k.name) for k in g.flux}
    for c in ("dev", "prd"):
        assert {(c, n) for n in ("flux-system", "infra-eso", "infra-configs",
                                 "infra-controllers", "apps")} <= names
    apps = g.kustomization_of("prd", "apps")
    assert apps is not None and apps.path == "apps/prd" and apps.substitute == {
        "CLUSTER_ENV": "prd"}
    assert g.depends_closure(apps) == {"infra-controllers", "infra-configs", "infra-eso"}


def test_generated_kustomization_is_recursive_and_takes_subdirs_whole(
        g: graph.DeployGraph) -> None:
    # No kustomization.yaml in infrastructure/controllers: every file below it, recursively.
    assert _where(g, "infrastructure/controllers/kube-prometheus-stack/helmrelease.yaml") == {
        ("dev", "infra-controllers", None, False), ("prd", "infra-controllers", None, False)}
    # cloudflared/ has its own kustomization: taken whole, its namespace applies.
    assert _where(g, "infrastructure/controllers/cloudflared/configmap.yaml") == {
        ("dev", "infra-controllers", "cloudflared", False),
        ("prd", "infra-controllers", "cloudflared", False)}


def test_overlays_patches_and_namespaces(g: graph.DeployGraph) -> None:
    assert _where(g, "apps/base/shop/release.yaml") == {("dev", "apps", "shop", False),
                                                        ("prd", "apps", "shop", False)}
    assert _where(g, "apps/prd/patches/shop-env.yaml") == {("prd", "apps", None, True)}
    (d,) = g.deployed("apps/prd/patches/shop-env.yaml")
    hr, ns = g.patched(d, "HelmRelease", "shop")
    assert hr is not None and hr.file == "apps/base/shop/release.yaml" and ns == "shop"


def test_store_per_cluster(g: graph.DeployGraph) -> None:
    dev, prd = g.store("dev"), g.store("prd")
    assert dev is not None and prd is not None
    assert (dev.name, dev.config) == ("doppler", "dev")
    assert (prd.name, prd.config) == ("doppler", "prd")


def test_helmreleases(g: graph.DeployGraph) -> None:
    ts = [h for h in g.helmreleases if h.name == "tailscale-operator"]
    assert [(h.chart, h.namespace, h.doc) for h in ts] == [("tailscale-operator", "tailscale", 2)]


def test_undeployed_only_when_really_so(g: graph.DeployGraph, tmp_path: Path) -> None:
    assert g.undeployed(g.rels) == []
    # A file outside every Flux path and every kustomization: reported.
    assert "infrastructure/controllers/cloudflared/unlisted.yaml" not in g.rels
    import shutil
    tree = tmp_path / "t"
    shutil.copytree(FIXTURE, tree)
    (tree / "infrastructure/controllers/cloudflared/unlisted.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    g2 = _graph(tree)
    assert g2.undeployed(g2.rels) == ["infrastructure/controllers/cloudflared/unlisted.yaml"]


def test_examples_layout_without_bootstrap() -> None:
    g = _graph(EXAMPLES)
    assert "gitops-platform/dev" in g.clusters and "gitops-platform/prd" in g.clusters
    assert g.env_of("gitops-platform/prd") == "prd"
    assert ("gitops-platform/prd", "apps", "example-ui", False) in _where(
        g, "gitops-platform/apps/base/example-ui/release.yaml")
