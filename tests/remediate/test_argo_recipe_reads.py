"""argo-recipe on an app-of-apps value with several readers: a line that feeds a chart of the
tree which never reads that value goes (nothing rendered changes), and a line that sets a chart
flag goes when argo-chart now feeds the variable the app reads for it (oauth2-proxy
`extraArgs.whitelist-domain` and OAUTH2_PROXY_WHITELIST_DOMAINS) with the same composition.
The value leaves only when every reader does."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from secretsync import config
from secretsync.plan import Built, build
from tests.conftest import build_tree
from tests.remediate.test_argo_chart import CREDS_APP as CREDS
from tests.remediate.test_argo_chart import ES, STORE

TAILNET = "tail4f2a9c"
PROXY = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: oauth2-proxy
  namespace: argocd
spec:
  project: default
  sources:
    - repoURL: https://oauth2-proxy.github.io/manifests
      chart: oauth2-proxy
      targetRevision: 7.12.0
      helm:
        valueFiles:
          - $values/helm-values/oauth2-proxy.yaml
        values: |
          extraArgs:
            whitelist-domain: .{{ .Values.global.tailnet }}.ts.net
    - repoURL: {{ .Values.repo }}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: oauth2-proxy
"""
SVC = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: svc
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {{ .Values.repo }}
    targetRevision: main
    path: charts/svc
    helm:
      parameters:
        - name: tailnet
          value: {{ .Values.global.tailnet | quote }}
      valuesObject:
        suffix: -dev
        tailnet: {{ .Values.global.tailnet }}
  destination:
    server: https://kubernetes.default.svc
    namespace: svc
"""


def _tree(root: Path, svc_template: str, cfg_line: bool = True,
          flag_in_file: bool = False) -> Path:
    cfg = f'    whitelist_domains = [ ".{TAILNET}.ts.net" ]\n' if cfg_line else ""
    return build_tree(root, {
        ".secretsync.yaml": "secrets:\n  default_environment: prd\n",
        "stores/doppler-prd.yaml": STORE,
        "apps/Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "apps/values.yaml": f"repo: https://example.com/git.git\nglobal:\n  tailnet: {TAILNET}\n",
        "apps/templates/oauth2-proxy.yaml": PROXY,
        "apps/templates/svc.yaml": SVC,
        "apps/templates/credentials.yaml": CREDS,
        "manifests/credentials/kustomization.yaml": "resources:\n  - other.yaml\n",
        "manifests/credentials/other.yaml": ES,
        "charts/svc/Chart.yaml": "apiVersion: v2\nname: svc\nversion: 0.1.0\n",
        "charts/svc/values.yaml": "suffix: \"\"\n",
        "charts/svc/templates/svc.yaml": svc_template,
        "helm-values/oauth2-proxy.yaml": (
            "config:\n  configFile: |-\n    provider = \"oidc\"\n" + cfg
            + ("extraArgs:\n  whitelist-domain: .example.com\n" if flag_in_file else "")),
    })


def _built(root: Path) -> tuple[Built, dict[str, str]]:
    built = build(root, config.load(root, project="shop"))
    return built, {c.rel: c.data.decode() for c in built.changes}


DEAD = "kind: Service\nmetadata:\n  name: svc{{ .Values.suffix }}\n"


def test_every_reader_goes_so_the_value_goes(tmp_path: Path) -> None:
    built, changed = _built(_tree(tmp_path, DEAD))
    (edit,) = [e for e in built.plan.edits if e.key_path == "global.tailnet"]
    assert edit.kind == "argo-recipe"
    assert not [f for f in built.plan.followups if f.key_path == "global.tailnet"]
    values = YAML(typ="safe").load(changed["apps/values.yaml"])
    assert values["global"] == {}
    svc = changed["apps/templates/svc.yaml"]
    assert "global.tailnet" not in svc and "parameters: []" in svc and "suffix: -dev" in svc
    proxy = changed["apps/templates/oauth2-proxy.yaml"]
    assert "whitelist-domain" not in proxy and "extraArgs: {}" in proxy
    # The variable oauth2-proxy now reads holds what the flag held.
    es = next(t for r, t in changed.items() if r.startswith("manifests/credentials/secretsync-"))
    assert 'OAUTH2_PROXY_WHITELIST_DOMAINS: ".{{ .TAILNET }}.ts.net"' in es
    assert TAILNET not in "".join(changed.values())


def test_a_chart_that_reads_the_value_keeps_it_and_its_line(tmp_path: Path) -> None:
    built, changed = _built(_tree(tmp_path, DEAD + "  host: x.{{ .Values.tailnet }}.ts.net\n"))
    assert [f for f in built.plan.followups if f.key_path == "global.tailnet"]
    assert "apps/templates/svc.yaml" not in changed
    assert TAILNET in changed.get("apps/values.yaml", f"tailnet: {TAILNET}")


def test_a_flag_the_values_file_also_sets_keeps_the_line(tmp_path: Path) -> None:
    """The line overrides the file's flag: without the line the file's flag would win over
    the variable, so the line (and the value) stay."""
    built, changed = _built(_tree(tmp_path, DEAD, flag_in_file=True))
    assert [f for f in built.plan.followups if f.key_path == "global.tailnet"]
    assert "whitelist-domain" in changed.get("apps/templates/oauth2-proxy.yaml", "whitelist-domain")


def test_without_the_variable_fed_the_flag_line_stays(tmp_path: Path) -> None:
    built, changed = _built(_tree(tmp_path, DEAD, cfg_line=False))
    assert [f for f in built.plan.followups if f.key_path == "global.tailnet"]
    assert "apps/templates/svc.yaml" not in changed


def test_a_chart_version_the_recipe_was_not_checked_for_keeps_the_value(tmp_path: Path) -> None:
    """tailscale-operator's recipe is checked for 1.54-1.102: at 1.110.0 the client id (which an
    ExternalSecret of the tree already makes operator-oauth hold) stays, and says why."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "examples"
    shutil.copytree(repo / "examples" / "gitops-platform", root / "gitops-platform")
    tpl = root / "gitops-platform/infrastructure/apps/templates/network/tailscale-operator.yaml"
    tpl.write_text(tpl.read_text().replace("targetRevision: 1.78.3", "targetRevision: 1.110.0"))
    built = build(root, config.load(root, project="gaynance"))
    kp = "global.tailscale.clientId"
    assert not [e for e in built.plan.edits if e.key_path == kp]
    (why,) = [f.reason for f in built.plan.followups if f.key_path == kp]
    assert "checked for chart versions >=1.54.0,<1.103.0, not 1.110.0" in why
