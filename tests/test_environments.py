from __future__ import annotations

import json
from pathlib import Path

import pytest

from secretsync.cli import run_cli
from secretsync.environments import EnvRules, path_env

DEV_DOMAIN = "dev-tgrsoxiakeqdr1gg.us.auth0.com"
PRD_DOMAIN = "acme.eu.auth0.com"


@pytest.mark.parametrize(("rel", "env"), [
    ("deploy/services/api/values-prd.yaml", "prd"),
    ("deploy/services/api/values-dev.yaml", "dev"),
    ("helm-values/data/postgres-prd-defaults.yaml", "prd"),
    ("overlays/prd/patch.yaml", "prd"),
    ("apps/dev/kustomization.yaml", "dev"),
    ("clusters/production/apps.yaml", "prd"),
    ("envs/staging/values.yaml", "stg"),
    ("deploy/services/api/values.yaml", None),
    ("devices/values.yaml", None),
])
def test_path_env(rel: str, env: str | None) -> None:
    assert path_env(rel, EnvRules()) == env


def test_configured_override_wins() -> None:
    rules = EnvRules(overrides=(("live/**", "prd"),))
    assert path_env("live/x/values.yaml", rules) == "prd"


def scan(root: Path, tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    out = tmp_path / "o.json"
    run_cli(["scan", "--no-progress", str(root), "--format", "json", "--output", str(out)])
    return json.loads(out.read_text())["findings"]  # type: ignore[no-any-return]


def env_chart(prd_override: str) -> dict[str, str]:
    return {
        "chart/values.yaml": f"env:\n  - name: AUTH0_DOMAIN\n    value: {DEV_DOMAIN}\n",
        "chart/values-dev.yaml": "replicas: 1\n",
        "chart/values-prd.yaml": prd_override,
    }


def test_helm_env_leak_when_prd_does_not_override(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fs = scan(tree(env_chart("replicas: 3\n")), tmp_path)
    leak = [f for f in fs if f["detector"] == "env-leak"]
    assert len(leak) == 1 and leak[0]["environments"] == ["prd"]
    assert leak[0]["path"] == "chart/values.yaml" and leak[0]["line"] == 3
    base = next(f for f in fs if f["detector"] == "auth0-domain")
    assert base["environments"] == ["dev", "prd"]


def test_no_env_leak_when_prd_overrides(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fs = scan(tree(env_chart(f"env:\n  - name: AUTH0_DOMAIN\n    value: {PRD_DOMAIN}\n")), tmp_path)
    assert not [f for f in fs if f["detector"] == "env-leak"]
    base = next(f for f in fs if f["path"] == "chart/values.yaml")
    assert base["environments"] == ["dev"]
    prd = next(f for f in fs if f["path"] == "chart/values-prd.yaml")
    assert prd["environments"] == ["prd"] and prd["suggested_name"] == "AUTH0_DOMAIN"


def test_kustomize_patch_env_leak(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    release = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\n"
               "spec:\n  values:\n    auth0:\n      domain: " + DEV_DOMAIN + "\n    replicas: 1\n")
    patch = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\n"
             "spec:\n  values:\n    replicas: 3\n")
    good_patch = patch.replace("replicas: 3", f"auth0:\n      domain: {PRD_DOMAIN}")
    files = {
        "apps/base/api/kustomization.yaml": "resources:\n  - release.yaml\n",
        "apps/base/api/release.yaml": release,
        "apps/dev/kustomization.yaml": "resources:\n  - ../base/api\n",
        "apps/prd/kustomization.yaml": "resources:\n  - ../base/api\npatches:\n  - path: patch.yaml\n",
        "apps/prd/patch.yaml": patch,
    }
    fs = scan(tree(files), tmp_path)
    leaks = [f for f in fs if f["detector"] == "env-leak"]
    assert [(f["path"], f["environments"]) for f in leaks] == [("apps/base/api/release.yaml", ["prd"])]
    (tmp_path / "tree" / "apps/prd/patch.yaml").write_text(good_patch)
    fs = scan(tmp_path / "tree", tmp_path)
    assert not [f for f in fs if f["detector"] == "env-leak"]
    base = next(f for f in fs if f["path"] == "apps/base/api/release.yaml")
    assert base["environments"] == ["dev"]


def test_grouping_one_secret_per_value(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ep = "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"
    root = tree({
        "apps/values.yaml": f"global:\n  s3:\n    endpoint: {ep}\n",
        "data/postgres-dev-defaults.yaml": f"backups:\n  endpointURL: {ep}\n",
        "data/postgres-prd-defaults.yaml": f"backups:\n  endpointURL: {ep}\nrecovery:\n  endpointURL: {ep}\n",
    })
    fs = scan(root, tmp_path)
    assert len(fs) == 4 and len({f["secret"] for f in fs}) == 1
    assert {f["suggested_name"] for f in fs} == {"S3_ENDPOINT"}


def test_the_resolver_finds_each_files_environment_as_path_env_does() -> None:
    # The resolver works out each directory's part once; any path must come out the same.
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from secretsync.environments import EnvResolver, EnvRules, path_env

    part = st.sampled_from(["apps", "prd", "Prod", "dev", "overlays", "base", "values-stg.yaml",
                            "values.yaml", "pg-prd-defaults.yml", "test", "qa", "x.yaml"])
    paths = st.lists(st.lists(part, min_size=1, max_size=4).map("/".join), max_size=12)

    @settings(max_examples=200, deadline=None)
    @given(paths)
    def check(rels: list[str]) -> None:
        for rules in (EnvRules(), EnvRules(overrides=(("apps/*", "stg"),))):
            resolver = EnvResolver(rels, lambda _: None, rules)
            assert resolver.file_env == {r: path_env(r, rules) for r in rels}

    check()


def test_a_scan_that_found_nothing_reads_no_kustomization(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The overlays are worked out on first use: a clean tree's scan (the usual CI run) never
    parses its overlays' kustomizations, and a finding still gets its environments."""
    from unittest import mock

    from secretsync import documents

    files = {"base/deploy.yaml": "kind: Deployment\n",
             "base/kustomization.yaml": "resources: [deploy.yaml]\n",
             "overlays/prd/kustomization.yaml": "resources: [../../base]\n"}
    with mock.patch.object(documents, "parse", wraps=documents.parse) as parse:
        assert scan(tree(files), tmp_path) == []
    assert not [c for c in parse.call_args_list if c.args[0].endswith("kustomization.yaml")]
    files["base/deploy.yaml"] = "kind: Deployment\nenv:\n  - name: DB_PASSWORD\n    value: Zq8xR2mV9tLw4Kp7\n"
    with mock.patch.object(documents, "parse", wraps=documents.parse) as parse:
        found = scan(tree(files), tmp_path)
    assert [f["environments"] for f in found] == [["prd"]]
    assert "overlays/prd/kustomization.yaml" in [c.args[0] for c in parse.call_args_list]
