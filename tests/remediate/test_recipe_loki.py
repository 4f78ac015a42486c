"""The loki recipe per deployment mode: SingleBinary feeds the single-binary StatefulSet,
SimpleScalable (the chart's default, also when deploymentMode is unset) feeds read, write and
backend; other modes have no hook and the place says which mode it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secretsync import config, reading
from secretsync.plan import build
from secretsync.remediate import recipebook
from tests.conftest import build_tree
from tests.remediate.test_argo_chart import CREDS_APP, ES, STORE

ENDPOINT = "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"
KEY = "Zk3q9Vb7Lm2Xp8Rt4Yw1Nc6Hd0Gf5Js8Ua2Ve4W"
EXPAND = ["-config.expand-env=true"]
FROM = [{"secretRef": {"name": "loki-doppler"}}]


def _values(mode: str | None) -> dict[str, Any]:
    v: dict[str, Any] = {"loki": {"storage": {"s3": {
        "endpoint": ENDPOINT, "secretAccessKey": KEY, "accessKeyId": "loki"}}}}
    if mode is not None:
        v["deploymentMode"] = mode
    return v


@pytest.mark.parametrize("mode", ["SimpleScalable", None])
def test_simple_scalable_feeds_read_write_and_backend(mode: str | None) -> None:
    """Unset deploymentMode is the chart's default, SimpleScalable (6.22.0-7.3.0)."""
    rendered, keys = recipebook.render(recipebook.recipes()["loki"], _values(mode),
                                       version="6.22.0")
    s3 = rendered["loki"]["storage"]["s3"]
    assert s3 == {"endpoint": "${S3_ENDPOINT}", "secretAccessKey": "${S3_SECRETACCESSKEY}",
                  "accessKeyId": "${S3_ACCESSKEYID}"}
    assert set(keys) == {"S3_ENDPOINT", "S3_SECRETACCESSKEY", "S3_ACCESSKEYID"}
    for component in ("read", "write", "backend"):
        assert rendered[component] == {"extraArgs": EXPAND, "extraEnvFrom": FROM}, component
    assert "singleBinary" not in rendered


def test_single_binary_feeds_only_the_single_binary() -> None:
    rendered, keys = recipebook.render(recipebook.recipes()["loki"], _values("SingleBinary"),
                                       version="7.3.0")
    assert rendered["singleBinary"] == {"extraArgs": EXPAND, "extraEnvFrom": FROM}
    assert not {"read", "write", "backend"} & set(rendered)
    assert len(keys) == 3


def test_existing_extra_args_and_env_from_are_kept() -> None:
    values = _values("SimpleScalable")
    values["read"] = {"extraArgs": ["-log.level=debug"],
                      "extraEnvFrom": [{"secretRef": {"name": "r2"}}]}
    rendered, _ = recipebook.render(recipebook.recipes()["loki"], values, version="6.40.0")
    assert rendered["read"]["extraArgs"] == ["-log.level=debug", *EXPAND]
    assert rendered["read"]["extraEnvFrom"] == [{"secretRef": {"name": "r2"}}, *FROM]


@pytest.mark.parametrize("mode", ["Distributed", "SingleBinary<->SimpleScalable",
                                  "SimpleScalable<->Distributed"])
def test_other_modes_have_no_hook(mode: str) -> None:
    values = _values(mode)
    rendered, keys = recipebook.render(recipebook.recipes()["loki"], values, version="6.22.0")
    assert rendered == values and not keys


def test_when_accepts_a_list_with_null_for_unset() -> None:
    h = recipebook.Hook("x", ("a",), {"when": {"mode.name": ["A", None]}})
    assert h.holds({"mode": {"name": "A"}})
    assert h.holds({}) and h.holds({"mode": {}})
    assert not h.holds({"mode": {"name": "B"}})
    assert not recipebook.Hook("x", ("a",), {"when": {"mode": "A"}}).holds({})


def test_the_hook_for_a_path_follows_the_values() -> None:
    r = recipebook.recipes()["loki"]
    path = ("loki", "storage", "s3", "endpoint")
    single = r.hook(path, {"deploymentMode": "SingleBinary"})
    scalable = r.hook(path, {})
    assert single is not None and scalable is not None and single is not scalable
    assert "singleBinary.extraArgs" in single.raw["set"]
    assert "read.extraArgs" in scalable.raw["set"]
    # No hook holds: the first one, so the reason names what it needs.
    assert r.hook(path, {"deploymentMode": "Distributed"}) is r.hook(path)


# -- an Argo CD app-of-apps feeding a chart through a values file ------------------------------
APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {chart}
  namespace: argocd
spec:
  project: default
  sources:
    - repoURL: https://grafana.github.io/helm-charts
      chart: {chart}
      targetRevision: {version}
      helm:
        valueFiles:
          - $values/helm-values/{chart}.yaml
    - repoURL: {{{{ .Values.repo }}}}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: monitoring
"""
VALUES = "loki:\n  storage:\n    type: s3\n    s3:\n      endpoint: " + ENDPOINT + \
    "\n      secretAccessKey: " + KEY + "\n"


def argo_tree(root: Path, chart: str, version: str, values: str) -> Path:
    """An app-of-apps whose Application feeds `chart` helm-values/<chart>.yaml, and a
    `credentials` Application deploying the tree's ExternalSecrets (where new ones go)."""
    return build_tree(root, {
        ".secretsync.yaml": "secrets:\n  default_environment: prd\n",
        "stores/doppler-prd.yaml": STORE,
        "apps/Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "apps/values.yaml": "repo: https://example.com/git.git\n",
        f"apps/templates/{chart}.yaml": APP.format(chart=chart, version=version),
        "apps/templates/credentials.yaml": CREDS_APP,
        "manifests/credentials/kustomization.yaml": "resources:\n  - other.yaml\n",
        "manifests/credentials/other.yaml": ES,
        f"helm-values/{chart}.yaml": values,
    })


def _small(root: Path, mode: str | None) -> Path:
    return argo_tree(root, "loki", "6.22.0",
                     (f"deploymentMode: {mode}\n" if mode else "") + VALUES)


@pytest.mark.parametrize("mode", ["SimpleScalable", None])
def test_argo_simple_scalable_values_move(tmp_path: Path, mode: str | None) -> None:
    root = _small(tmp_path, mode)
    built = build(root, config.load(root, project="shop"))
    moved = {e.key_path for e in built.plan.edits
             if e.kind == "argo-chart" and e.path == "helm-values/loki.yaml"}
    assert moved == {"loki.storage.s3.endpoint", "loki.storage.s3.secretAccessKey"}
    changed = {c.rel: c.data.decode() for c in built.changes}
    text = changed["helm-values/loki.yaml"]
    assert ENDPOINT not in text and KEY not in text
    got = reading.load_all(text)[0]
    old = reading.load_all((root / "helm-values/loki.yaml").read_text())[0]
    names = {e.key_path: str(e.key) for e in built.plan.edits if e.kind == "argo-chart"}
    want, keys = recipebook.render(recipebook.recipes()["loki"], old, names, "6.22.0",
                                   only=set(names))
    assert got == want
    for component in ("read", "write", "backend"):
        assert got[component] == {"extraArgs": EXPAND, "extraEnvFrom": FROM}, component
    es = [reading.load_all(t)[0] for rel, t in changed.items()
          if rel.startswith("manifests/credentials/") and "loki" in rel]
    assert [d["spec"]["target"]["name"] for d in es] == ["loki-doppler"]
    assert {d["secretKey"] for d in es[0]["spec"]["data"]} == set(keys)


def test_argo_distributed_values_stay_with_the_reason(tmp_path: Path) -> None:
    root = _small(tmp_path, "Distributed")
    built = build(root, config.load(root, project="shop"))
    assert not [e for e in built.plan.edits if e.kind == "argo-chart"]
    for key in ("loki.storage.s3.endpoint", "loki.storage.s3.secretAccessKey"):
        reason = next((f.reason for f in built.plan.followups
                       if f.path == "helm-values/loki.yaml" and f.key_path == key), None)
        assert reason is not None, key
        assert "deploymentMode" in reason and ENDPOINT not in reason and KEY not in reason
    assert "helm-values/loki.yaml" not in {c.rel for c in built.changes}
