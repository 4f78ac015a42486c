"""Chart recipes (secretsync/remediate/recipes/*.yaml): each loads, knows its versions, and
renders the values it writes: every moved value gone from the chart's values, the wiring set."""

from __future__ import annotations

import io
from typing import Any

import pytest
from ruamel.yaml import YAML

from secretsync.remediate import recipebook

# One realistic values mapping per chart, with stand-in values that must not survive.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cloudflare-tunnel": (
        {"cloudflare": {"account": "ACCT", "tunnelName": "home", "tunnelId": "TID",
                        "secret": "TSECRET"}},
        {"cloudflare": {"tunnelName": "home", "secretName": "cloudflare-tunnel-credentials"}}),
    "oauth2-proxy": (
        {"config": {"clientID": "CID", "clientSecret": "CSEC", "cookieSecret": "COOK"},
         "extraArgs": {"oidc-issuer-url": "https://ISSUER/", "provider": "oidc"}},
        {"config": {"existingSecret": "oauth2-proxy-credentials"},
         "extraArgs": {"provider": "oidc"},
         "extraEnv": [{"name": "OAUTH2_PROXY_OIDC_ISSUER_URL", "valueFrom": {"secretKeyRef": {
             "name": "oauth2-proxy-env", "key": "OAUTH2_PROXY_OIDC_ISSUER_URL"}}}]}),
    "kube-prometheus-stack": (
        {"grafana": {"adminPassword": "PASS", "grafana.ini": {"server": {"root_url": "URL"}}},
         "alertmanager": {"config": {"receivers": [{"name": "null"}, {
             "name": "telegram", "telegram_configs": [{"bot_token": "BOT", "chat_id": -100}]}]}}},
        {"grafana": {"grafana.ini": {"server": {}}, "envFromSecret": "grafana-env-doppler",
                     "admin": {"existingSecret": "kube-prometheus-stack-doppler",
                               "userKey": "admin-user", "passwordKey": "admin-password"}},
         "alertmanager": {
             "config": {"receivers": [{"name": "null"}, {"name": "telegram", "telegram_configs": [
                 {"bot_token_file": "/etc/alertmanager/secrets/alertmanager-doppler/BOT_TOKEN",
                  "chat_id_file": "/etc/alertmanager/secrets/alertmanager-doppler/CHAT_ID"}]}]},
             "alertmanagerSpec": {"secrets": ["alertmanager-doppler"]}}}),
    "loki": (
        {"deploymentMode": "SingleBinary", "loki": {"storage": {"s3": {"endpoint": "ENDPOINT"}}},
         "singleBinary": {"extraArgs": ["-config.expand-env=true"],
                          "extraEnvFrom": [{"secretRef": {"name": "r2"}}]}},
        {"deploymentMode": "SingleBinary", "loki": {"storage": {"s3": {"endpoint":
                                                                          "${S3_ENDPOINT}"}}},
         "singleBinary": {"extraArgs": ["-config.expand-env=true"],
                          "extraEnvFrom": [{"secretRef": {"name": "r2"}},
                                           {"secretRef": {"name": "loki-doppler"}}]}}),
    "external-dns": (
        {"env": [{"name": "CF_API_TOKEN", "value": "TOKEN"}], "provider": "cloudflare"},
        {"env": [{"name": "CF_API_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": "external-dns-doppler", "key": "CF_API_TOKEN"}}}], "provider": "cloudflare"}),
    "cluster": (
        {"backups": {"endpointURL": "https://R2", "s3": {"accessKey": "AK", "secretKey": "SK",
                                                          "bucket": "b"}}},
        {"backups": {"endpointURL": "https://R2", "s3": {"bucket": "b"},
                     "secret": {"create": False, "name": "r2-backup-credentials"}}}),
    "tailscale-operator": (
        {"oauth": {"clientId": "CID", "clientSecret": "CSEC"}, "operatorConfig": {"hostname": "o"}},
        {"oauth": {}, "operatorConfig": {"hostname": "o"}}),
    "cloudflare-tunnel-remote": (
        {"cloudflare": {"tunnel_token": "TOKEN"}}, {"cloudflare": {"tunnel_token": "TOKEN"}}),
}
MOVED = {"ACCT", "TID", "TSECRET", "CID", "CSEC", "COOK", "https://ISSUER/", "PASS", "URL",
         "BOT", "ENDPOINT", "AK", "SK"}


def _dump(x: Any) -> str:
    buf = io.StringIO()
    YAML(typ="safe").dump(x, buf)
    return buf.getvalue()


def test_every_named_chart_has_a_recipe_with_versions() -> None:
    got = recipebook.recipes()
    assert set(CASES) <= set(got)
    for r in got.values():
        if r.chart in CASES:
            assert r.versions, r.file


@pytest.mark.parametrize("chart", sorted(CASES))
def test_recipe_renders_the_values_it_writes(chart: str) -> None:
    values, expected = CASES[chart]
    rendered, keys = recipebook.render(recipebook.recipes()[chart], values)
    assert rendered == expected
    text = _dump(rendered)
    for v in MOVED:
        assert v not in text.split(), f"{chart}: {v} still inline"
    # The Secret holds a key for each value that left the values, and nothing else.
    assert bool(keys) == (rendered != values)


def test_cloudnative_pg_endpoint_has_no_hook_and_says_why() -> None:
    why = recipebook.limit_for("cluster", ("backups", "endpointURL"), "0.2.1")
    assert why is not None and "no Secret hook for backups.endpointURL" in why
    assert recipebook.hook_for("cluster", ("backups", "endpointURL"), "0.2.1") is None


def test_version_ranges() -> None:
    assert recipebook.in_range("0.3.2", ">=0.3.0,<0.4.0")
    assert not recipebook.in_range("0.4.0", ">=0.3.0,<0.4.0")
    assert not recipebook.in_range("66.3.1", ">=88.5.3,<89.0.0")
    assert recipebook.in_range("v7.12", ">=7.0.0,<8.0.0")
    # The versions the examples use, checked against the charts' values and templates.
    for chart, version, path in (
            ("kube-prometheus-stack", "66.3.1", ("grafana", "adminPassword")),
            ("kube-prometheus-stack", "66.3.1", ("grafana", "grafana.ini", "server", "root_url")),
            ("kube-prometheus-stack", "66.3.1", ("alertmanager", "config", "receivers", 1,
                                                 "telegram_configs", 0, "bot_token")),
            ("loki", "6.22.0", ("loki", "storage", "s3", "endpoint")),
            ("oauth2-proxy", "7.7.1", ("config", "cookieSecret")),
            ("oauth2-proxy", "7.12.0", ("extraArgs", "redirect-url")),
            ("cloudflare-tunnel", "0.3.2", ("cloudflare", "account"))):
        assert recipebook.hook_for(chart, path, version) is not None, (chart, version, path)
        assert recipebook.limit_for(chart, path, version) is None
    why = recipebook.limit_for("kube-prometheus-stack", ("grafana", "adminPassword"), "65.0.0")
    assert why is not None and "not 65.0.0" in why
    assert recipebook.hook_for("kube-prometheus-stack", ("grafana", "adminPassword"),
                               "89.0.0") is None


def test_alertmanager_chat_id_file_needs_the_alertmanager_the_chart_ships() -> None:
    """chat_id_file exists since Alertmanager v0.31.0, which kube-prometheus-stack ships by
    default from 81.5.0; at 66.3.1 (v0.27.0) chat_id has no file, Secret or env form."""
    chat = ("alertmanager", "config", "receivers", 1, "telegram_configs", 0, "chat_id")
    assert recipebook.hook_for("kube-prometheus-stack", chat, "66.3.1") is None
    why = recipebook.limit_for("kube-prometheus-stack", chat, "66.3.1")
    assert why is not None
    assert "has no Secret hook" in why and "v0.27.0" in why and "v0.31.0" in why
    assert "alertmanagerSpec.image.tag" in why
    assert recipebook.hook_for("kube-prometheus-stack", chat, "81.5.0") is not None
    r = recipebook.recipes()["kube-prometheus-stack"]
    values = {"alertmanager": {"config": {"receivers": [{"telegram_configs": [
        {"bot_token": "BOT", "chat_id": -100}]}]}}}
    old, keys = recipebook.render(r, values, version="66.3.1")
    assert old["alertmanager"]["config"]["receivers"][0]["telegram_configs"][0] == {
        "bot_token_file": "/etc/alertmanager/secrets/alertmanager-doppler/BOT_TOKEN",
        "chat_id": -100}
    assert set(keys) == {"BOT_TOKEN"}


def test_loki_hook_is_for_single_binary_and_simple_scalable_only() -> None:
    """Loki 6.22-7.3 has hooks for SingleBinary and SimpleScalable (tests/remediate/
    test_recipe_loki.py); Distributed has no recipe yet, so nothing is moved there."""
    r = recipebook.recipes()["loki"]
    values = {"deploymentMode": "Distributed",
              "loki": {"storage": {"s3": {"endpoint": "ENDPOINT"}}}}
    rendered, keys = recipebook.render(r, values, version="6.22.0")
    assert rendered == values and not keys


def test_grafana_admin_hook_fills_the_user_key_unless_the_values_set_a_user() -> None:
    """With admin.existingSecret the chart reads admin-user too: the Secret holds the chart's
    default user; a tree that sets grafana.adminUser keeps the recipe off."""
    r = recipebook.recipes()["kube-prometheus-stack"]
    _, keys = recipebook.render(r, {"grafana": {"adminPassword": "PASS"}}, version="66.3.1")
    assert keys == {"admin-password": "grafana.adminPassword", "admin-user": "admin"}
    values = {"grafana": {"adminPassword": "PASS", "adminUser": "root"}}
    rendered, keys = recipebook.render(r, values, version="66.3.1")
    assert rendered == values and not keys


def test_alloy_configuration_string_becomes_sys_env() -> None:
    """Alloy reads sys.env("NAME"); alloy.envFrom (chart 0.10-1.11) gives it the Secret."""
    r = recipebook.recipes()["alloy"]
    content = 'remote.s3 "x" {\n  client {\n    endpoint = "https://R2"\n    key = "k"\n  }\n}\n'
    values = {"alloy": {"configMap": {"content": content}, "envFrom": [
        {"secretRef": {"name": "r2"}}]}}
    found = {"alloy.configMap.content.endpoint": ["https://R2"]}
    rendered, keys = recipebook.render(r, values, {"alloy.configMap.content.endpoint": "R2_URL"},
                                       "0.10.1", found=found)
    assert rendered["alloy"]["configMap"]["content"] == content.replace(
        '"https://R2"', 'sys.env("R2_URL")')
    assert rendered["alloy"]["envFrom"] == [{"secretRef": {"name": "r2"}},
                                            {"secretRef": {"name": "alloy-doppler"}}]
    assert keys == {"R2_URL": "alloy.configMap.content.endpoint"}
    assert recipebook.hook_for("alloy", ("alloy", "configMap", "content", "endpoint"),
                               "0.10.1") is not None


def test_oauth2_proxy_cfg_lines_become_variables() -> None:
    """A `cookie_domains = [ "..." ]` line of config.configFile leaves the ConfigMap's
    oauth2_proxy.cfg; oauth2-proxy reads OAUTH2_PROXY_COOKIE_DOMAINS from the Secret instead."""
    r = recipebook.recipes()["oauth2-proxy"]
    cfg = 'email_domains = [ "*" ]\ncookie_domains = [ ".TAILNET.ts.net" ]\nprovider = "oidc"'
    rendered, keys = recipebook.render(r, {"config": {"configFile": cfg}}, version="7.12.0",
                                       found={"config.configFile": ["TAILNET"]})
    assert rendered["config"]["configFile"] == 'email_domains = [ "*" ]\nprovider = "oidc"'
    assert rendered["extraEnv"] == [{"name": "OAUTH2_PROXY_COOKIE_DOMAINS", "valueFrom": {
        "secretKeyRef": {"name": "oauth2-proxy-env", "key": "OAUTH2_PROXY_COOKIE_DOMAINS"}}}]
    assert keys == {"OAUTH2_PROXY_COOKIE_DOMAINS": "config.configFile"}
