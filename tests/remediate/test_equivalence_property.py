"""Property: for random Flux trees of env lists, HelmRelease values and substituted fields, apply
followed by the equivalence check never reports a difference (and apply itself, which runs the
check before writing, never refuses)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretsync.remediate import check
from secretsync.testing import DopplerTestServer
from tests.remediate.test_examples import regen

_BOOT = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/{env}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: doppler
spec:
  provider:
    doppler:
      project: {project}
      config: {env}
      auth:
        secretRef:
          dopplerToken: {{name: doppler-token, key: dopplerToken, namespace: external-secrets}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""
_POST = """  postBuild:
    substitute:
      CLUSTER_ENV: {env}
"""

# Realistic values only: the scanner rightly ignores placeholder-looking ones (`tail000000`,
# a token of one repeated letter), which would then stay in git by design.
hexes = st.text("0123456789abcdef", min_size=6, max_size=6).filter(lambda h: len(set(h)) >= 4)
digits = st.text("0123456789", min_size=10, max_size=10).filter(
    lambda d: d[0] != "0" and len(set(d)) >= 5)
env_entry = st.one_of(
    st.builds(lambda d: ("TELEGRAM_CHAT_ID", f'"-100{d}"'), digits),
    st.builds(lambda h: ("AUTH0_DOMAIN", f"shop-{h}.eu.auth0.com"), hexes),
    st.builds(lambda h: ("TS_TAILNET", f"tail{h}"), hexes),
)
value_entry = st.one_of(
    st.builds(lambda d: ("chat_id", f"-100{d}"), digits),
    st.builds(lambda d, t: ("bot_token", f"{d[:9]}:AA{t}"), digits,
              st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789",
                      min_size=33, max_size=33).filter(lambda t: len(set(t)) >= 16)),
)
trees = st.fixed_dictionaries({
    "env": st.lists(env_entry, max_size=3, unique_by=lambda e: e[0]),
    "values": st.lists(value_entry, max_size=2, unique_by=lambda e: e[0]),
    "hosts": st.lists(st.tuples(st.sampled_from(["grafana", "shop", "api"]), hexes),
                      max_size=2, unique_by=lambda h: h[0]),
    "post_build": st.booleans(),
})


def _write(root: Path, tree: dict[str, object], project: str) -> None:
    for env in ("dev", "prd"):
        d = root / "clusters" / env
        d.mkdir(parents=True)
        boot = _BOOT.format(env=env, project=project)
        if tree["post_build"]:
            boot += _POST.format(env=env)
        (d / "flux.yaml").write_text(boot)
    apps = root / "apps"
    apps.mkdir()
    lines = ["apiVersion: helm.toolkit.fluxcd.io/v2", "kind: HelmRelease", "metadata:",
             "  name: app", "  namespace: app", "spec:", "  interval: 10m", "  chart:",
             "    spec:", "      chart: app", "      sourceRef:", "        kind: HelmRepository",
             "        name: charts", "  values:", "    replicaCount: 1"]
    env = tree["env"]
    assert isinstance(env, list)
    if env:
        lines.append("    env:")
        for name, value in env:
            lines += [f"      - name: {name}", f"        value: {value}"]
    values = tree["values"]
    assert isinstance(values, list)
    if values:
        lines += ["    alerting:", "      telegram:"]
        lines += [f"        {k}: {v}" for k, v in values]
    (apps / "release.yaml").write_text("\n".join(lines) + "\n")
    hosts = tree["hosts"]
    assert isinstance(hosts, list)
    for name, h in hosts:
        (apps / f"ingress-{name}.yaml").write_text(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
            f"  name: {name}\n  namespace: app\nspec:\n  ingressClassName: tailscale\n"
            f"  rules:\n    - host: {name}.tail{h}.ts.net\n")


@pytest.fixture(scope="module")
def server() -> Iterator[DopplerTestServer]:
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        yield srv


_counter = itertools.count()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(tree=trees)
def test_apply_then_equivalence_reports_no_difference(
        tree: dict[str, object], server: DopplerTestServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = f"prop{next(_counter)}"
    server.add_project(project)
    root = tmp_path_factory.mktemp("prop") / "tree"
    _write(root, tree, project)
    before = root.parent / "before"
    shutil.copytree(root, before)
    code, out = regen.run(["apply", str(root), "--project", project])
    assert code == 0, out
    result = check.run(before, root, lambda c: server.secrets(project, c), shutil.which(
        "kubectl"))
    assert result.differences == (), [str(d) for d in result.differences]
    assert result.clusters == ("dev", "prd")
    # Every planted value left the tree.
    text = "\n".join(p.read_text() for p in root.rglob("*.yaml"))
    for _name, value in [*tree["env"], *tree["values"]]:  # type: ignore[misc]
        assert value.strip('"') not in text
    for _name, h in tree["hosts"]:  # type: ignore[attr-defined]
        assert f"tail{h}" not in text
