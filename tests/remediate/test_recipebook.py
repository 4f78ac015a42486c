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
             "name": "oauth2-proxy-credentials", "key": "OAUTH2_PROXY_OIDC_ISSUER_URL"}}}]}),
    "kube-prometheus-stack": (
        {"grafana": {"adminPassword": "PASS", "grafana.ini": {"server": {"root_url": "URL"}}},
         "alertmanager": {"config": {"receivers": [{"name": "null"}, {
             "name": "telegram", "telegram_configs": [{"bot_token": "BOT", "chat_id": -100}]}]}}},
        {"grafana": {"grafana.ini": {"server": {}}, "envFromSecret":
                     "kube-prometheus-stack-doppler",
                     "admin": {"existingSecret": "kube-prometheus-stack-doppler",
                               "userKey": "admin-user", "passwordKey": "admin-password"}},
         "alertmanager": {
             "config": {"receivers": [{"name": "null"}, {"name": "telegram", "telegram_configs": [
                 {"bot_token_file": "/etc/alertmanager/secrets/kube-prometheus-stack-doppler/"
                                    "BOT_TOKEN",
                  "chat_id_file": "/etc/alertmanager/secrets/kube-prometheus-stack-doppler/"
                                  "CHAT_ID"}]}]},
             "alertmanagerSpec": {"secrets": ["kube-prometheus-stack-doppler"]}}}),
    "loki": (
        {"loki": {"storage": {"s3": {"endpoint": "ENDPOINT"}}}},
        {"loki": {"storage": {"s3": {"endpoint": "${S3_ENDPOINT}"}}},
         "global": {"extraArgs": ["-config.expand-env=true"],
                    "extraEnvFrom": [{"secretRef": {"name": "loki-doppler"}}]}}),
    "external-dns": (
        {"env": [{"name": "CF_API_TOKEN", "value": "TOKEN"}], "provider": "cloudflare"},
        {"env": [{"name": "CF_API_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": "external-dns-doppler", "key": "CF_API_TOKEN"}}}], "provider": "cloudflare"}),
    "cluster": (
        {"backups": {"endpointURL": "https://R2", "s3": {"accessKey": "AK", "secretKey": "SK",
                                                          "bucket": "b"}}},
        {"backups": {"endpointURL": "https://R2", "s3": {"bucket": "b"},
                     "secret": {"create": False, "name": "r2-backup-credentials"}}}),
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
    why = recipebook.limit_for("kube-prometheus-stack", ("grafana", "adminPassword"), "66.3.1")
    assert why is not None and "not 66.3.1" in why
    assert recipebook.hook_for("kube-prometheus-stack", ("grafana", "adminPassword"),
                               "66.3.1") is None
    assert recipebook.hook_for("kube-prometheus-stack", ("grafana", "adminPassword"),
                               "88.5.3") is not None
