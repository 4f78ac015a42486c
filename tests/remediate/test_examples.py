"""The seed tree end to end: apply against the embedded Doppler server, the golden after-tree byte
for byte, kustomize builds before and after, the real Doppler CLI reading every config, a no-op
second run, saved plans, and a failed push that leaves every file alone."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from secretsync.testing import DopplerTestServer

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO.parent / "shared" / "schemas" / "external-secrets-v2.9.0"


def _regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regen_golden", REPO / "scripts" /
                                                  "regen_golden.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


regen = _regen()

# Values the seed audit names (examples/VALUES.md); none may survive outside block scalars and
# substrings, and none may ever reach a plan or an output.
SEED_VALUES = {
    "k3r7wuCSzd11CNTRL": "TAILSCALE_OAUTH_CLIENT_ID",
    "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz": "AUTH0_CLIENT_ID",
    "f6746974-5104-49ef-beed-c66a048f5062": "CLOUDFLARE_TUNNEL_ID",
    "-1003078665133": "TELEGRAM_CHAT_ID",
    "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com": "S3_ENDPOINT",
    "tail876052": "TAILNET",
}
DEV_TENANT = "dev-tgrsoxiakeqdr1gg.us.auth0.com"


@pytest.fixture
def doppler() -> Iterator[DopplerTestServer]:
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        yield srv


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return regen.copy_examples(tmp_path / "examples")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DopplerTestServer,
                                                                        dict[str, bytes], str]]:
    """examples/ applied once; shared by the read-only checks below."""
    tree = regen.copy_examples(tmp_path_factory.mktemp("applied") / "examples")
    before = regen.tree_files(tree)
    with regen.doppler_env() as srv:
        plan_text, _ = regen.remediate(tree)
        assert isinstance(srv, DopplerTestServer)
        yield tree, srv, before, plan_text


def test_golden_after_tree_byte_for_byte(applied: tuple[Path, DopplerTestServer,
                                                        dict[str, bytes], str]) -> None:
    tree, _, before, plan_text = applied
    after = regen.tree_files(tree)
    golden = regen.tree_files(regen.AFTER)
    changed = {p: d for p, d in after.items() if before.get(p) != d}
    assert sorted(changed) == sorted(golden), "run scripts/regen_golden.py and review the diff"
    for rel, data in golden.items():
        assert changed[rel] == data, f"{rel} differs from tests/golden (regen on purpose)"
    # Everything else is untouched, byte for byte, and nothing was deleted.
    assert set(before) <= set(after)
    for rel, data in before.items():
        if rel not in golden:
            assert after[rel] == data, rel
    assert plan_text == regen.PLAN_TXT.read_text(encoding="utf-8")


def test_seed_values_moved_and_references_right(
    applied: tuple[Path, DopplerTestServer, dict[str, bytes], str],
) -> None:
    tree, srv, _, _ = applied
    # The app-of-apps values that Applications read stay: their readers render them into Argo
    # CD Applications' Helm values, which cannot read a Secret (INJECTION.md §4); a rewrite would
    # leave them empty. The Tailscale and Auth0 client ids, which tailscale-operator and
    # oauth2-proxy read from Secrets the tree's ExternalSecrets make (argo-recipe), leave with
    # their readers; the tunnel id, chat id and S3 endpoint, which no template reads, are deleted
    # (unread). The tailnet goes too: three of its readers feed charts that never read it, the
    # fourth (oauth2-proxy's whitelist-domain) is now OAUTH2_PROXY_WHITELIST_DOMAINS from a Secret.
    values = (tree / "gitops-platform/infrastructure/apps/values.yaml").read_text()
    gone = {"k3r7wuCSzd11CNTRL", "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz", "tail876052",
            "f6746974-5104-49ef-beed-c66a048f5062", "-1003078665133",
            "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"}
    for value in SEED_VALUES:
        assert (value in values) == (value not in gone), value
    assert "  tailscale: {}\n" in values and "  cloudflare: {}\n" in values
    assert ".Values.global.tailscale" not in (
        tree / "gitops-platform/infrastructure/apps/templates/network/tailscale-operator.yaml"
    ).read_text()
    base = (tree / "gitops-platform/deploy/services/example-api/values.yaml").read_text()
    assert DEV_TENANT not in base
    assert "valueFrom:\n      secretKeyRef:\n        name: example-api-doppler\n" \
           "        key: AUTH0_DOMAIN" in base
    # Every value the seed names is in the right configs; the env leak never reaches prd.
    dev, prd = srv.secrets("gaynance", "dev"), srv.secrets("gaynance", "prd")
    for value, name in SEED_VALUES.items():
        assert dev[name] == value and prd[name] == value
    assert dev["AUTH0_DOMAIN"] == DEV_TENANT
    assert "AUTH0_DOMAIN" not in prd
    # The CloudNativePG Secrets are recognised, never generated.
    assert not list(tree.rglob("*cluster-app*"))
    generated = "\n".join(p.read_text() for p in tree.rglob("secretsync-*.yaml"))
    assert "cluster-app" not in generated


def test_real_doppler_cli_downloads_every_config(
    applied: tuple[Path, DopplerTestServer, dict[str, bytes], str], tmp_path: Path,
) -> None:
    _, srv, _, _ = applied
    binary = shutil.which("doppler") or str(Path(sys.executable).parent / "doppler")
    token = srv.issue_token("personal")
    for config in ("dev", "prd"):
        r = subprocess.run(
            [binary, "secrets", "download", "--no-file", "--format", "json", "--project",
             "gaynance", "--config", config, "--api-host", srv.url, "--config-dir",
             str(tmp_path), "--no-check-version"],
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
                 "DOPPLER_TOKEN": token},
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert r.returncode == 0, r.stderr[-300:]
        got = json.loads(r.stdout)
        for value, name in SEED_VALUES.items():
            assert got[name] == value, (config, name)
        assert ("AUTH0_DOMAIN" in got) == (config == "dev")


def _kustomizations(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("kustomization.yaml")
                  if "templates" not in p.parts)


@pytest.mark.skipif(not Path("/usr/bin/kubectl").exists() and not shutil.which("kubectl"),
                    reason="kubectl is part of the CI image")
def test_every_kustomization_builds_before_and_after(
    applied: tuple[Path, DopplerTestServer, dict[str, bytes], str],
) -> None:
    tree, _, _, _ = applied
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    built_after: dict[str, str] = {}
    for root in (regen.EXAMPLES, tree):
        for d in _kustomizations(root):
            r = subprocess.run([kubectl, "kustomize", str(d)], capture_output=True, text=True,
                               timeout=120, check=False)
            assert r.returncode == 0, f"{d}: {r.stderr[-400:]}"
            if root == tree:
                built_after[d.relative_to(tree).as_posix()] = r.stdout
    # The overlays now deploy the ExternalSecrets, with the environment's store.
    dev = built_after["gitops-platform/apps/dev"]
    prd = built_after["gitops-platform/apps/prd"]
    assert "kind: ExternalSecret" in dev and "name: doppler-dev" in dev
    assert "kind: ExternalSecret" in prd and "name: doppler-prd" in prd
    assert "doppler-dev" not in prd


def test_generated_manifests_validate(
    applied: tuple[Path, DopplerTestServer, dict[str, bytes], str],
) -> None:
    from ruamel.yaml import YAML

    from secretsync.manifests import validate_manifest

    tree, _, _, _ = applied
    files = [p for p in tree.rglob("secretsync-*.yaml") if "templates" not in p.parts]
    assert files
    for p in files:
        doc = YAML(typ="safe").load(p.read_text())
        if doc["kind"] == "Kustomization":  # the Flux Kustomization that deploys flux-vars/
            assert doc["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
            continue
        assert doc["apiVersion"] == "external-secrets.io/v1"
        assert validate_manifest(doc, SCHEMAS) == [], p


def test_second_apply_is_a_noop(applied: tuple[Path, DopplerTestServer, dict[str, bytes], str]
                                ) -> None:
    tree, srv, _, _ = applied
    before = regen.tree_files(tree)
    srv.clear_log()
    code, out = regen.run(["apply", str(tree), "--project", regen.PROJECT])
    assert code == 0
    assert "nothing to do" in out
    assert regen.tree_files(tree) == before
    assert not [e for e in srv.request_log if e.method == "POST"]


def test_plan_json_and_outputs_hold_no_values(work: Path, doppler: DopplerTestServer,
                                              tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    code, out = regen.run(["plan", str(work), "--project", regen.PROJECT, "-o", str(plan_path)])
    assert code == 0
    code, dry = regen.run(["apply", str(work), "--project", regen.PROJECT, "--dry-run"])
    assert code == 0
    assert "+        valueFrom:" in dry and "create" in dry
    text = plan_path.read_text()
    for blob in (text, out, dry):
        for value in (*SEED_VALUES, DEV_TENANT, "Gr4fana-Adm1n-k3s-home!"):
            assert value not in blob
    plan = json.loads(text)
    assert {s["status"] for s in plan["secrets"]} >= {"create", "needs-value"}
    leak = [s for s in plan["secrets"] if s["status"] == "needs-value"]
    assert [(s["name"], s["config"]) for s in leak] == [("AUTH0_DOMAIN", "prd")]
    # A dry run changes nothing anywhere.
    assert regen.tree_files(work) == regen.tree_files(regen.copy_examples(tmp_path / "fresh"))
    assert doppler.secrets("gaynance", "dev") == {}


def test_saved_plan_applies_then_refuses_a_changed_tree(work: Path, doppler: DopplerTestServer,
                                                        tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    assert regen.run(["plan", str(work), "--project", regen.PROJECT, "-o", str(plan_path)])[0] == 0
    target = work / "gitops-platform/deploy/services/example-ui/values.yaml"
    original = target.read_bytes()
    target.write_bytes(original + b"# edited after the plan\n")
    code, _ = regen.run(["apply", str(work), "--plan", str(plan_path)])
    assert code == 2
    assert doppler.secrets("gaynance", "dev") == {}
    target.write_bytes(original)
    code, out = regen.run(["apply", str(work), "--plan", str(plan_path)])
    assert code == 0 and "applied:" in out


def test_failed_push_changes_no_file(work: Path, doppler: DopplerTestServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = regen.tree_files(work)
    # A read-only token: every read works, the write is refused (403, not retried).
    monkeypatch.setenv("DOPPLER_TOKEN", doppler.issue_token("personal", write=False))
    code, _ = regen.run(["apply", str(work), "--project", regen.PROJECT])
    assert code == 2
    assert regen.tree_files(work) == before
    assert doppler.secrets("gaynance", "dev") == {}


def test_conflict_refuses_everything(work: Path, doppler: DopplerTestServer) -> None:
    doppler.set_secret("gaynance", "dev", "TAILNET", "someone-elses-tailnet")
    before = regen.tree_files(work)
    code, _ = regen.run(["apply", str(work), "--project", regen.PROJECT])
    assert code == 2
    assert regen.tree_files(work) == before
    assert "TAILSCALE_OAUTH_CLIENT_ID" not in doppler.secrets("gaynance", "dev")


def test_leak_value_set_by_hand_is_provided(work: Path, doppler: DopplerTestServer,
                                            tmp_path: Path) -> None:
    doppler.set_secret("gaynance", "prd", "AUTH0_DOMAIN", "prod-tenant.eu.auth0.com")
    plan_path = tmp_path / "plan.json"
    assert regen.run(["plan", str(work), "--project", regen.PROJECT, "-o", str(plan_path)])[0] == 0
    statuses = {(s["name"], s["config"]): s["status"]
                for s in json.loads(plan_path.read_text())["secrets"]}
    assert statuses[("AUTH0_DOMAIN", "prd")] == "provided"
    assert statuses[("AUTH0_DOMAIN", "dev")] == "create"
