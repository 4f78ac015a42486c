"""configmap-env: a ConfigMap key of a chart of the tree, which its pods read only through
`envFrom: configMapRef`, comes from a Secret the pods also read through envFrom. Rendered at
text level before and after (the ConfigMap's data lines with the values files, and the
ExternalSecret's template over Doppler's values): every environment's pods get the same
variables with the same values, and no value is left in Git."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secretsync import config
from secretsync.plan import Built, build
from secretsync.remediate import configmap_env
from tests.conftest import build_tree
from tests.remediate.test_argo_stores import STORE

TAILNET = "tail4f2a9c"
CLIENT = "Qm7RtZ2xKp9LwV4bN8cD1fG6hJ3sA5eY"
APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: ui
  namespace: argocd
spec:
  generators:
    - list:
        elements:
          - env: dev
          - env: prd
  template:
    metadata:
      name: 'ui-{{env}}'
    spec:
      project: default
      source:
        repoURL: https://example.com/git.git
        targetRevision: main
        path: charts/ui
        helm:
          valueFiles:
            - values.yaml
            - 'values-{{env}}.yaml'
      destination:
        server: https://kubernetes.default.svc
        namespace: 'ui-{{env}}'
"""
CONFIGMAP = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {{{{ .Release.Name }}}}-config
data:
  API_BASE_URL: {{{{ .Values.apiBaseUrl | quote }}}}
  AUDIENCE: {{{{ .Values.audience | quote }}}}
  CLIENT_ID: {{{{ .Values.clientId | default "{CLIENT}" | quote }}}}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: web
          image: "web:1"
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}-config
"""


def _tree(root: Path, deployment: str = DEPLOYMENT) -> Path:
    return build_tree(root, {
        ".secretsync.yaml": "secrets:\n  default_environment: prd\n",
        "stores/doppler-dev.yaml": STORE.format(env="dev"),
        "stores/doppler-prd.yaml": STORE.format(env="prd"),
        "apps/ui.yaml": APPSET,
        "charts/ui/Chart.yaml": "apiVersion: v2\nname: ui\nversion: 0.1.0\n",
        "charts/ui/values.yaml": "audience: https://api.example.org\napiBaseUrl: /api\n",
        "charts/ui/values-dev.yaml": f"replicas: 1\n\napiBaseUrl: https://api-dev.{TAILNET}.ts.net\n",
        "charts/ui/values-prd.yaml": "replicas: 2\napiBaseUrl: https://api.example.org\n",
        "charts/ui/templates/configmap.yaml": CONFIGMAP,
        "charts/ui/templates/deployment.yaml": deployment,
    })


def _built(root: Path) -> tuple[Built, dict[str, str]]:
    built = build(root, config.load(root, project="shop"))
    return built, {c.rel: c.data.decode() for c in built.changes}


_LINE = re.compile(r'^  (\w+): \{\{ \.Values\.(\w+)(?: \| default "([^"]*)")? \| quote \}\}$')


def _configmap_env(tree: dict[str, str], env: str) -> dict[str, str]:
    """The ConfigMap's data for one environment (its `{{ .Values.x [| default] | quote }}`
    lines over values.yaml then values-<env>.yaml)."""
    y = YAML(typ="safe")
    values: dict[str, Any] = {**(y.load(tree["charts/ui/values.yaml"]) or {}),
                              **(y.load(tree[f"charts/ui/values-{env}.yaml"]) or {})}
    out: dict[str, str] = {}
    for line in tree["charts/ui/templates/configmap.yaml"].split("\n"):
        m = _LINE.match(line)
        if m:
            v = values.get(m.group(2), m.group(3))
            assert v is not None, line
            out[m.group(1)] = str(v)
    return out


def _secret_env(tree: dict[str, str], env: str, doppler: dict[str, str]) -> dict[str, str]:
    """The Secret the ExternalSecret renders (its template over Doppler's values), when the
    deployment reads it with envFrom after the ConfigMap."""
    if "secretRef:" not in tree["charts/ui/templates/deployment.yaml"]:
        return {}
    block = YAML(typ="safe").load(tree[f"charts/ui/values-{env}.yaml"]).get("secretsyncConfig")
    assert block is not None
    assert set(block["remote"]) <= set(doppler)
    return {k: re.sub(r"\{\{ \.(\w+) \}\}", lambda m: doppler[m.group(1)], v)
            for k, v in block["env"].items()}


def test_every_environment_reads_the_same_variables(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    before = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
    built, changed = _built(root)
    after = {**before, **changed}
    assert {e.kind for e in built.plan.edits} >= {configmap_env.NAME}
    assert not built.plan.followups, [f.reason for f in built.plan.followups]
    # Doppler's values, by the names plan gave the places (offline: values from the tree).
    by_place = {(e.path, e.key_path): e.key for e in built.plan.edits
                if e.kind == configmap_env.NAME and e.key}
    doppler = {by_place[("charts/ui/values-dev.yaml", "apiBaseUrl")]: TAILNET,
               by_place[("charts/ui/templates/configmap.yaml", "data.CLIENT_ID")]: CLIENT}
    assert {s.name for s in built.plan.secrets} == set(doppler)
    for env in ("dev", "prd"):
        was = _configmap_env(before, env)
        now = {**_configmap_env(after, env), **_secret_env(after, env, doppler)}
        assert now == was, env
        # No key is in both (envFrom would take the later one; the same value either way).
        assert not set(_configmap_env(after, env)) & set(_secret_env(after, env, doppler))
    assert TAILNET not in "".join(changed.values()) and CLIENT not in "".join(changed.values())
    assert "{{- with .Values.secretsyncConfig }}" in changed["charts/ui/templates/deployment.yaml"]
    assert changed["charts/ui/templates/secretsync-config.yaml"] == configmap_env.TEMPLATE
    # One ExternalSecret per environment, each with its own store (plan checked each against
    # the ESO v1 schema as the template renders it).
    mine = [m for m in built.plan.manifests if m.secret == "ui-config-doppler"]
    assert sorted((m.envs, m.stores) for m in mine) == [
        (("dev",), ("ClusterSecretStore/doppler-dev",)),
        (("prd",), ("ClusterSecretStore/doppler-prd",))]


@pytest.mark.parametrize("other_read", [
    "      annotations:\n        api: {{ .Values.apiBaseUrl }}\n",
    "      volumes:\n        - name: c\n          configMap:\n            name: {{ .Release.Name }}-config\n",
    "          env:\n            - name: X\n              valueFrom:\n                configMapKeyRef:\n                  name: {{ .Release.Name }}-config\n                  key: AUDIENCE\n",
])
def test_a_configmap_read_otherwise_stays(tmp_path: Path, other_read: str) -> None:
    """Mounted as files or read key by key, the ConfigMap is not only environment: its keys
    stay, with their limit."""
    root = _tree(tmp_path / "t", DEPLOYMENT + other_read)
    built, changed = _built(root)
    assert not [e for e in built.plan.edits if e.kind == configmap_env.NAME]
    assert "charts/ui/templates/configmap.yaml" not in changed
    why = {(f.path, f.key_path): f.reason for f in built.plan.followups}
    assert why[("charts/ui/values-dev.yaml", "apiBaseUrl")].startswith(
        "charts/ui/templates/configmap.yaml:6 renders .Values.apiBaseUrl")
    assert "ConfigMap data API_BASE_URL: a ConfigMap cannot take data from a Secret" in \
        why[("charts/ui/values-dev.yaml", "apiBaseUrl")]
    assert why[("charts/ui/templates/configmap.yaml", "data.CLIENT_ID")].startswith(
        "a literal in a Helm template of chart charts/ui, rendered into ConfigMap data CLIENT_ID")
