"""ExternalSecret generation and validation (schema + CEL/webhook rules), store discovery,
operator-created Secrets, and .secretsync.yaml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from secretsync import config as cfgmod
from secretsync import manifests
from secretsync.config import StoreRef
from secretsync.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO.parent / "shared" / "schemas" / "external-secrets-v2.9.0"

STORE: dict[str, Any] = {
    "apiVersion": "external-secrets.io/v1",
    "kind": "ClusterSecretStore",
    "metadata": {"name": "doppler-prd"},
    "spec": {"provider": {"doppler": {"project": "p", "config": "prd", "auth": {"secretRef": {
        "dopplerToken": {"name": "doppler-token", "key": "dopplerToken",
                         "namespace": "external-secrets"}}}}}},
}


def test_schema_dir_default_ships_inside_the_package() -> None:
    shipped = manifests.default_schema_dir()
    assert shipped.is_relative_to(Path(manifests.__file__).resolve().parent)
    for name in ("externalsecret-v1.json", "secretstore-v1.json", "clustersecretstore-v1.json"):
        assert (shipped / name).read_bytes() == (SCHEMAS / name).read_bytes(), name


def test_generated_external_secret_is_valid_and_renders() -> None:
    es = manifests.external_secret("app-doppler", StoreRef("ClusterSecretStore", "doppler-dev"),
                                   ["B_KEY", "A_KEY", "A_KEY"], namespace="apps")
    assert manifests.validate_manifest(es, SCHEMAS) == []
    assert [d["remoteRef"]["key"] for d in es["spec"]["data"]] == ["A_KEY", "B_KEY"]
    text = manifests.render(es, comment="test")
    from ruamel.yaml import YAML

    assert YAML(typ="safe").load(text) == es
    assert text.startswith(manifests.GENERATED_MARK)


def test_rules_the_schemas_lack() -> None:
    es = manifests.external_secret("s", StoreRef("SecretStore", "st"), ["lower-case"])
    assert any("remoteRef.key" in p for p in manifests.validate_manifest(es, SCHEMAS))
    assert manifests.validate_manifest(STORE, SCHEMAS) == []
    both = copy.deepcopy(STORE)
    both["spec"]["provider"]["doppler"]["auth"]["oidcConfig"] = {"identity": "x"}
    assert any("exactly one" in p for p in manifests.validate_manifest(both, SCHEMAS))
    neither = copy.deepcopy(STORE)
    neither["spec"]["provider"]["doppler"]["auth"] = {}
    assert any("exactly one" in p for p in manifests.validate_manifest(neither, SCHEMAS))
    no_ns = copy.deepcopy(STORE)
    del no_ns["spec"]["provider"]["doppler"]["auth"]["secretRef"]["dopplerToken"]["namespace"]
    assert any("namespace" in p for p in manifests.validate_manifest(no_ns, SCHEMAS))
    namespaced = copy.deepcopy(no_ns)
    namespaced["kind"] = "SecretStore"
    assert manifests.validate_manifest(namespaced, SCHEMAS) == []
    old = copy.deepcopy(STORE)
    old["apiVersion"] = "external-secrets.io/v1beta1"
    assert any("apiVersion" in p for p in manifests.validate_manifest(old, SCHEMAS))


def test_schema_errors_do_not_echo_values() -> None:
    es = manifests.external_secret("s", StoreRef("SecretStore", "st"), ["A"])
    es["spec"]["refreshInterval"] = {"hunter2-secret": 1}
    problems = manifests.validate_manifest(es, SCHEMAS)
    assert problems and not any("hunter2" in p for p in problems)


def test_store_discovery_and_env_mapping(tmp_path: Path) -> None:
    (tmp_path / "stores.yaml").write_text(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: ns-dev}\n"
        "spec: {provider: {doppler: {config: dev, auth: {secretRef: {dopplerToken: {name: t}}}}}}\n"
        "---\n"
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: c-dev}\n"
        "spec: {provider: {doppler: {project: p, config: dev}}}\n"
        "---\n"
        "kind: ClusterSecretStore\nmetadata: {name: vault}\nspec: {provider: {vault: {}}}\n")
    found = manifests.discover_stores(tmp_path, ["stores.yaml"])
    assert {s.ref.name for s in found} == {"ns-dev", "c-dev"}
    by_env = manifests.stores_by_env(found, {"dev": "dev", "prd": "prd"}, {})
    assert by_env == {"dev": StoreRef("ClusterSecretStore", "c-dev")}
    configured = manifests.stores_by_env(found, {"dev": "dev"},
                                         {"dev": StoreRef("SecretStore", "mine")})
    assert configured["dev"].name == "mine"


def test_operator_secrets_are_recognised() -> None:
    assert manifests.operator_secret("db-cluster-app", set(), True) == "CloudNativePG"
    assert manifests.operator_secret("pg-superuser", {"pg"}, False) == "CloudNativePG"
    assert manifests.operator_secret("pg-app", set(), False) is None
    assert manifests.operator_secret("my-app-doppler", {"my"}, True) is None


def test_config_defaults_and_precedence(tmp_path: Path) -> None:
    cfg = cfgmod.load(tmp_path, env={"DOPPLER_PROJECT": "from-env"})
    assert cfg.project == "from-env" and cfg.config_for("prd") == "prd"
    assert cfg.secret_for("api") == "api-doppler"
    (tmp_path / ".secretsync.yaml").write_text(
        "project: from-file\nconfigs: {prd: prd_main}\nstores: {prd: doppler-x}\n"
        "names: {'global\\.tailnet': TS_TAILNET}\nenvironments: {'legacy/*': prd}\n"
        "secrets: {name: '{app}-secrets', values: manual}\n")
    cfg = cfgmod.load(tmp_path, env={"DOPPLER_PROJECT": "from-env"})
    assert cfg.project == "from-file"
    assert cfgmod.load(tmp_path, project="flag", env={}).project == "flag"
    assert cfg.config_for("prd") == "prd_main"
    assert cfg.stores["prd"] == StoreRef("ClusterSecretStore", "doppler-x")
    assert cfg.names == {r"global\.tailnet": "TS_TAILNET"}
    assert cfg.environments == (("legacy/*", "prd"),)
    assert cfg.value_rule == "manual" and cfg.secret_for("api") == "api-secrets"


@pytest.mark.parametrize("text", [
    "nope: 1\n",
    "names: {a: lower}\n",
    "names: {'(': X}\n",
    "stores: {prd: {kind: Vault, name: x}}\n",
    "secrets: {name: 'Bad_Name'}\n",
    "secrets: {values: guess}\n",
    "[1, 2]\n",
    "a: [\n",
])
def test_bad_config_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        cfgmod.parse(text)


def test_starter_round_trips() -> None:
    text = cfgmod.starter("proj", ["dev", "prd"], {"prd": StoreRef("ClusterSecretStore", "d")},
                          [("global.tailnet", "TAILNET")])
    cfg = cfgmod.parse(text)
    assert cfg.project == "proj" and cfg.stores["prd"].name == "d"
    assert cfg.names == {}  # suggestions are comments until the user opts in
    assert "global\\.tailnet" in text
