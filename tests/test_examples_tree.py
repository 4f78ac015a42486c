"""The example GitOps tree (examples/) is what its README and VALUES.md say it is."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PLATFORM = EXAMPLES / "gitops-platform"
MONOREPO = EXAMPLES / "example-monorepo" / "modules"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

# Seed part 3: files of the monorepo submodules that differ from gitops-platform.
DIFFERS = {
    "deploy/services/example-api/values.yaml",
    "deploy/services/example-api/values-dev.yaml",
    "deploy/services/example-api/values-prd.yaml",
    "deploy/services/example-ui/values.yaml",
    "deploy/services/example-ui/values-dev.yaml",
    "deploy/services/example-ui/values-prd.yaml",
    "infrastructure/apps/values.yaml",
    "infrastructure/apps/templates/network/oauth2-proxy.yaml",
    "infrastructure/bootstrap/root.yaml",
    "infrastructure/charts/protected-services/values.yaml",
    "infrastructure/helm-values/network/external-dns.yaml",
}
DIFFERS_GLOB = "infrastructure/manifests/apps/image-updater/*.yaml"
DETECTORS = {
    "tailscale-tailnet", "tailscale-oauth-client-id", "auth0-domain", "auth0-client-id",
    "cloudflare-tunnel-id", "cloudflare-r2-endpoint", "cloudflare-account-id",
    "telegram-chat-id", "telegram-bot-token", "generic-secret", "env-leak",
}
_ROW = re.compile(r"^\|(.*)\|\s*$")


def _is_template(path: Path) -> bool:
    return "templates" in path.relative_to(EXAMPLES).parts


def _yaml_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.yaml") if not _is_template(p))


def _kustomize_dirs() -> list[Path]:
    return sorted(p.parent for p in EXAMPLES.rglob("kustomization.yaml"))


def _table(section: str) -> list[list[str]]:
    """Rows (cells stripped of backticks) of the first table under '## <section>'."""
    text = (EXAMPLES / "VALUES.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        m = _ROW.match(line)
        if not m or set(line) <= {"|", "-", " "}:
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(1))]
        cells = [c.replace("\\|", "|") for c in cells]
        rows.append([c[1:-1] if c.startswith("`") and c.endswith("`") else c for c in cells])
    return rows[1:]  # drop the header


def _planted() -> list[tuple[str, str, int, str]]:
    out = []
    for value, _desc, loc, det in _table("Planted"):
        path, line = loc.rsplit(":", 1)
        out.append((value, path, int(line), det))
    return out


def _line(rel: str, no: int) -> str:
    lines = (EXAMPLES / rel).read_text().splitlines()
    assert 1 <= no <= len(lines), f"{rel}:{no} is past the end of the file"
    return lines[no - 1]


# --------------------------------------------------------------------------- shape


def test_tree_has_the_seed_layout() -> None:
    for rel in (
        "deploy/databases/example-api/postgres/main.yaml",
        "deploy/databases/example-api/redis/cache.yaml",
        "deploy/services/example-api/values-prd.yaml",
        "deploy/services/example-ui/Chart.yaml",
        "infrastructure/apps/values.yaml",
        "infrastructure/apps/templates/network/oauth2-proxy.yaml",
        "infrastructure/bootstrap/root.yaml",
        "infrastructure/helm-values/data/postgres-prd-defaults.yaml",
        "infrastructure/helm-values/monitoring/alloy.yaml",
        "apps/base/example-api/release.yaml",
        "apps/prd/kustomization.yaml",
    ):
        assert (PLATFORM / rel).is_file(), rel
    assert list((MONOREPO / "deploy").rglob(".argocd-source-*.yaml"))
    n = sum(1 for p in EXAMPLES.rglob("*") if p.is_file())
    assert 60 <= n <= 260, n


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_yaml_parses(path: Path) -> None:
    docs = list(YAML(typ="safe").load_all(path.read_text()))
    assert any(d is not None for d in docs), "empty YAML file"


def test_helm_templates_use_values() -> None:
    templates = [p for p in EXAMPLES.rglob("*.yaml") if _is_template(p)]
    assert len(templates) >= 6
    assert all("{{" in p.read_text() for p in templates)
    assert sum(".Values." in p.read_text() for p in templates) >= 6


def test_seed_section_2_1_is_verbatim() -> None:
    text = (PLATFORM / "infrastructure/apps/values.yaml").read_text()
    block = """global:
  tailnet: tail876052                    # Personal Tailscale tailnet
  tailscale:
    clientId: k3r7wuCSzd11CNTRL          # Client ID in Git!
  auth0:
    domain: dev-tgrsoxiakeqdr1gg.us.auth0.com
    clientId: wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz
  cloudflare:
    tunnelId: f6746974-5104-49ef-beed-c66a048f5062
  telegram:
    chatId: "-1003078665133"
  s3:
    endpoint: https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com
"""
    assert block in text


def test_seed_section_2_5_endpoint_lines() -> None:
    r2 = "4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"
    for rel, no in (
        ("infrastructure/apps/values.yaml", 56),
        ("infrastructure/helm-values/data/postgres-dev-defaults.yaml", 42),
        ("infrastructure/helm-values/data/postgres-prd-defaults.yaml", 47),
        ("infrastructure/helm-values/data/postgres-prd-defaults.yaml", 83),
    ):
        assert r2 in _line(f"gitops-platform/{rel}", no)


def test_cluster_secret_stores_use_doppler_per_environment() -> None:
    y = YAML(typ="safe")
    for env in ("dev", "prd"):
        doc = y.load(PLATFORM / f"infrastructure/manifests/secret-stores/doppler-{env}.yaml")
        assert doc["apiVersion"] == "external-secrets.io/v1"
        assert doc["kind"] == "ClusterSecretStore"
        doppler = doc["spec"]["provider"]["doppler"]
        assert doppler["config"] == env
        assert set(doppler["auth"]["secretRef"]["dopplerToken"]) == {"name", "key", "namespace"}


def test_prd_values_do_not_override_auth0_domain() -> None:
    y = YAML(typ="safe")
    base = y.load(PLATFORM / "deploy/services/example-api/values.yaml")
    prd = y.load(PLATFORM / "deploy/services/example-api/values-prd.yaml")
    assert {"name": "AUTH0_DOMAIN", "value": "dev-tgrsoxiakeqdr1gg.us.auth0.com"} in base["env"]
    names = [e["name"] for e in prd.get("env", []) + prd.get("extraEnv", [])]
    assert "AUTH0_DOMAIN" not in names
    dev = y.load(PLATFORM / "deploy/services/example-api/values-dev.yaml")
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in dev["env"] if "valueFrom" in e]
    assert refs == ["example-api-main-db-dev-cluster-app"] * 3


# --------------------------------------------------------------------------- kustomize


@pytest.mark.parametrize("directory", _kustomize_dirs(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_kustomization_builds_offline(directory: Path) -> None:
    text = (directory / "kustomization.yaml").read_text()
    assert "helmCharts" not in text and "://" not in text, "remote bases are not allowed"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(directory)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "apiVersion:" in out.stdout


def test_enough_kustomizations() -> None:
    dirs = {d.relative_to(PLATFORM).as_posix() for d in _kustomize_dirs() if PLATFORM in d.parents}
    assert {"apps/dev", "apps/prd", "apps/base/example-api",
            "infrastructure/manifests/secret-stores"} <= dirs


def test_flux_prd_overlay_ships_the_dev_auth0_tenant() -> None:
    def build(env: str) -> list[dict[str, Any]]:
        out = subprocess.run([KUBECTL, "kustomize", str(PLATFORM / "apps" / env)],
                             capture_output=True, text=True, timeout=60, check=True)
        return [d for d in YAML(typ="safe").load_all(out.stdout) if d]

    for env, replicas in (("dev", 1), ("prd", 2)):
        rel = next(d for d in build(env)
                   if d["kind"] == "HelmRelease" and d["metadata"]["name"] == "example-api")
        assert rel["metadata"]["labels"]["env"] == env
        assert rel["spec"]["values"]["replicaCount"] == replicas
        env_list = {e["name"]: e.get("value") for e in rel["spec"]["values"]["env"]}
        assert env_list["AUTH0_DOMAIN"] == "dev-tgrsoxiakeqdr1gg.us.auth0.com"


# --------------------------------------------------------------------------- VALUES.md


def test_values_md_lists_every_kind() -> None:
    rows = _planted()
    assert len(rows) >= 40
    dets = {det for *_, det in rows}
    assert dets <= DETECTORS, dets - DETECTORS
    assert dets == DETECTORS, DETECTORS - dets


@pytest.mark.parametrize("row", _planted(), ids=lambda r: f"{r[3]}@{r[1]}:{r[2]}")
def test_planted_value_is_at_its_line(row: tuple[str, str, int, str]) -> None:
    value, rel, no, _det = row
    assert value in _line(rel, no)


def test_no_planted_occurrence_is_missing_from_values_md() -> None:
    rows = _planted()
    listed = {(rel, no) for _v, rel, no, _d in rows}
    values = {v for v, *_ in rows}
    values |= {v.removeprefix("https://") for v in values}
    missing = []
    for p in sorted(EXAMPLES.rglob("*.yaml")):
        rel = p.relative_to(EXAMPLES).as_posix()
        for no, line in enumerate(p.read_text().splitlines(), 1):
            if any(v in line for v in values) and (rel, no) not in listed:
                missing.append(f"{rel}:{no}")
    assert not missing


def test_seed_values_are_planted() -> None:
    values = {v for v, *_ in _planted()}
    for v in ("tail876052", "k3r7wuCSzd11CNTRL", "dev-tgrsoxiakeqdr1gg.us.auth0.com",
              "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz", "f6746974-5104-49ef-beed-c66a048f5062",
              "-1003078665133", "4aa95df965d3bc2bfaabe9012a35857c",
              "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"):
        assert v in values, v


def test_env_leak_rows_are_the_inherited_dev_tenant() -> None:
    leaks = [(rel, no) for v, rel, no, det in _planted() if det == "env-leak"]
    assert ("gitops-platform/deploy/services/example-api/values.yaml",
            _find("gitops-platform/deploy/services/example-api/values.yaml",
                  "dev-tgrsoxiakeqdr1gg")) in leaks
    assert any(rel.startswith("gitops-platform/apps/base/") for rel, _ in leaks)
    for rel, no in leaks:
        assert "dev-tgrsoxiakeqdr1gg.us.auth0.com" in _line(rel, no)
        assert "values-" not in rel and "/prd/" not in rel and "/dev/" not in rel


def _find(rel: str, marker: str) -> int:
    for no, line in enumerate((EXAMPLES / rel).read_text().splitlines(), 1):
        if marker in line:
            return no
    raise AssertionError(f"{marker} not in {rel}")


def test_non_findings_are_where_values_md_says() -> None:
    rows = _table("Must not be reported")
    assert len(rows) >= 20
    text = " ".join(r[0] for r in rows)
    for kind in ("secretKeyRef", "existingSecret", "secretName", "remoteRef", "SOPS",
                 "SealedSecret", "Helm", "${VAR}", "<your-...>", "changeme", "digest",
                 "checksum/config", "targetRevision", "uid", "Grafana", "ssh_known_hosts",
                 "AWS"):
        assert kind in text, kind
    for _what, marker, loc in rows:
        rel, no = loc.rsplit(":", 1)
        assert marker in _line(rel, int(no)), loc
    planted = {v for v, *_ in _planted()}
    for _what, marker, _loc in rows:
        assert not any(v in marker for v in planted), marker


# --------------------------------------------------------------------------- drift (seed 3)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("module", ["deploy", "infrastructure"])
def test_monorepo_copies_drift_only_where_the_seed_says(module: str) -> None:
    plat, mono = _files(PLATFORM / module), _files(MONOREPO / module)
    assert plat <= mono, plat - mono
    only_mono = mono - plat
    assert all(Path(f).name.startswith(".argocd-source-") for f in only_mono), only_mono
    if module == "deploy":
        assert only_mono
    differs = {d for d in DIFFERS if d.startswith(module + "/")}
    differs |= {
        p.relative_to(PLATFORM).as_posix()
        for p in PLATFORM.glob(DIFFERS_GLOB) if module == "infrastructure"
    }
    assert differs
    for f in sorted(plat):
        a = (PLATFORM / module / f).read_bytes()
        b = (MONOREPO / module / f).read_bytes()
        if f"{module}/{f}" in differs:
            assert a != b, f"{module}/{f} should differ (seed part 3)"
        else:
            assert a == b, f"{module}/{f} should be identical in the monorepo"
