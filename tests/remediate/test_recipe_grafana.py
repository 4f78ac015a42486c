"""The standalone grafana chart's recipe (8.0.0-12.11.1): adminPassword through
admin.existingSecret, grafana.ini settings as GF_<SECTION>_<KEY> from envFromSecret; the same
hooks as kube-prometheus-stack's grafana subchart, without its `grafana.` prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretsync import config, manifests, reading
from secretsync.plan import build
from secretsync.remediate import recipebook
from tests.remediate.test_recipe_loki import argo_tree

PASSWORD = "Hq7vR2xLm9Tz4Kw8Np3Fb6Yd"
ROOT_URL = "https://grafana.tail876052.ts.net"
CLIENT_SECRET = "wX4rT8yU2iO6pA0sD3fG7hJ1kL5zC9vB2nM6qW0eR4tY8uI3"


def test_renders_the_admin_secret_and_gf_variables() -> None:
    values = {"adminPassword": "PASS", "grafana.ini": {
        "server": {"root_url": "URL", "domain": "d"},
        "auth.generic_oauth": {"client_secret": "SEC"}}}
    rendered, keys = recipebook.render(recipebook.recipes()["grafana"], values,
                                       version="8.0.0",
                                       only={"adminPassword", "grafana\\.ini.server.root_url",
                                             "grafana\\.ini.auth\\.generic_oauth.client_secret"})
    assert rendered == {
        "grafana.ini": {"server": {"domain": "d"}, "auth.generic_oauth": {}},
        "admin": {"existingSecret": "grafana-doppler", "userKey": "admin-user",
                  "passwordKey": "admin-password"},
        "envFromSecret": "grafana-env-doppler"}
    assert keys == {"admin-password": "adminPassword", "admin-user": "admin",
                    "GF_SERVER_ROOT_URL": "grafana\\.ini.server.root_url",
                    "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET":
                        "grafana\\.ini.auth\\.generic_oauth.client_secret"}


def test_a_set_admin_user_keeps_the_admin_hook_off() -> None:
    values = {"adminPassword": "PASS", "adminUser": "root"}
    rendered, keys = recipebook.render(recipebook.recipes()["grafana"], values,
                                       version="12.11.1")
    assert rendered == values and not keys


def test_a_setting_outside_a_section_has_no_hook() -> None:
    """Grafana names a DEFAULT-section setting's variable differently: not hooked."""
    assert recipebook.hook_for("grafana", ("grafana.ini", "app_mode"), "10.5.15") is None


@pytest.mark.parametrize(("version", "hooked"), [
    ("7.3.12", False), ("8.0.0", True), ("10.5.15", True), ("11.0.0", True),
    ("12.11.1", True), ("13.0.0", False)])
def test_versions_checked(version: str, hooked: bool) -> None:
    for path in (("adminPassword",), ("grafana.ini", "server", "root_url")):
        assert (recipebook.hook_for("grafana", path, version) is not None) == hooked, path
    if not hooked:
        why = recipebook.limit_for("grafana", ("adminPassword",), version)
        assert why is not None and f"not {version}" in why


def test_the_subchart_names_stay_as_they_were() -> None:
    """kube-prometheus-stack's grafana subchart: the section and key after grafana.ini."""
    h = recipebook.recipes()["kube-prometheus-stack"].hook(
        ("grafana", "grafana.ini", "auth.generic_oauth", "client_id"))
    assert h is not None
    assert recipebook.env_name(h, ("grafana", "grafana.ini", "auth.generic_oauth",
                                   "client_id")) == "GF_AUTH_GENERIC_OAUTH_CLIENT_ID"


def test_argo_application_values_move(tmp_path: Path) -> None:
    values = (f'adminPassword: "{PASSWORD}"\ngrafana.ini:\n  server:\n'
              f"    root_url: {ROOT_URL}\n  auth.generic_oauth:\n    enabled: true\n"
              f'    client_secret: "{CLIENT_SECRET}"\n')
    root = argo_tree(tmp_path, "grafana", "8.5.0", values)
    built = build(root, config.load(root, project="shop"))
    names = {e.key_path: str(e.key) for e in built.plan.edits
             if e.kind == "argo-chart" and e.path == "helm-values/grafana.yaml"}
    assert set(names) == {"adminPassword", "grafana.ini.server.root_url",
                          "grafana.ini.auth.generic_oauth.client_secret"}
    changed = {c.rel: c.data.decode() for c in built.changes}
    text = changed["helm-values/grafana.yaml"]
    for secret in (PASSWORD, ROOT_URL, CLIENT_SECRET):
        assert secret not in text
    old = reading.load_all(values)[0]
    by_path = {recipebook.dotted(kp): names[".".join(str(p) for p in kp)]
               for kp, _v in recipebook._paths(old) if ".".join(str(p) for p in kp) in names}
    want, keys = recipebook.render(recipebook.recipes()["grafana"], old, by_path, "8.5.0",
                                   only=set(by_path))
    assert reading.load_all(text)[0] == want
    made = {}
    for rel, t in changed.items():
        if rel.startswith("manifests/credentials/") and rel.endswith(".yaml") and \
                "kustomization" not in rel and "other" not in rel:
            doc = reading.load_all(t)[0]
            assert manifests.validate_manifest(doc) == [], rel
            target = doc["spec"]["target"]
            made[target["name"]] = set((target.get("template") or {}).get("data") or {}) or \
                {d["secretKey"] for d in doc["spec"]["data"]}
    assert made == {"grafana-doppler": {"admin-user", "admin-password"},
                    "grafana-env-doppler": {"GF_SERVER_ROOT_URL",
                                            "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"}}
    assert set(keys) == set().union(*made.values())
