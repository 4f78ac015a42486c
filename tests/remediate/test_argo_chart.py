"""argo-chart on the seed tree: a value an Argo CD Application feeds to a third-party chart
through a values file moves to a Secret the chart reads (its recipe), with an ExternalSecret
where the tree's own ExternalSecrets are deployed. The values written are exactly what
`recipebook.render` says; the ExternalSecrets pass the ESO schema and their kustomization builds."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secretsync import config, manifests, reading
from secretsync.plan import Built, build
from secretsync.remediate import recipebook

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("gitops-platform/infrastructure", "example-monorepo/modules/infrastructure")
WIRED = {
    "helm-values/monitoring/kube-prometheus-stack.yaml": ("kube-prometheus-stack", "66.3.1"),
    "helm-values/monitoring/loki.yaml": ("loki", "6.22.0"),
    "helm-values/network/cloudflare-tunnel.yaml": ("cloudflare-tunnel", "0.3.2"),
}
OAUTH = "helm-values/network/oauth2-proxy.yaml"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Built]]:
    tree = tmp_path_factory.mktemp("argo") / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns(
        "README.md", "VALUES.md", "expected"))
    built = build(tree, config.load(tree, project="gaynance"))
    before = {c.rel: (tree / c.rel).read_bytes() for c in built.changes
              if (tree / c.rel).exists()}
    after = tree.parent / "after"
    shutil.copytree(tree, after)
    for c in built.changes:
        (after / c.rel).parent.mkdir(parents=True, exist_ok=True)
        (after / c.rel).write_bytes(c.data)
    assert before  # the originals stay in `tree`
    yield after, built


def _load(path: Path) -> Any:
    return reading.load_all(path.read_text(encoding="utf-8"))[0]


def _followup(built: Built, rel: str, key: str) -> str | None:
    return next((f.reason for f in built.plan.followups if f.path == rel and f.key_path == key),
                None)


def test_chart_hook_places_move_and_real_limits_stay(planned: tuple[Path, Built]) -> None:
    _, built = planned
    moved = {(e.path, e.key_path) for e in built.plan.edits if e.kind == "argo-chart"}
    for root in ROOTS:
        kps = f"{root}/helm-values/monitoring/kube-prometheus-stack.yaml"
        for key in ("grafana.adminPassword", "grafana.grafana.ini.server.root_url",
                    "grafana.grafana.ini.auth.generic_oauth.client_id",
                    "grafana.grafana.ini.auth.generic_oauth.auth_url",
                    "alertmanager.config.receivers[1].telegram_configs[0].bot_token"):
            assert (kps, key) in moved, (kps, key)
            assert _followup(built, kps, key) is None
        assert (f"{root}/helm-values/monitoring/loki.yaml", "loki.storage.s3.endpoint") in moved
        assert (f"{root}/{OAUTH}", "config.cookieSecret") in moved
        assert (f"{root}/{OAUTH}", "extraArgs.redirect-url") in moved
        tunnel = f"{root}/helm-values/network/cloudflare-tunnel.yaml"
        assert (tunnel, "cloudflare.account") in moved
        # Chart 0.3.x never reads configMap: the tunnel id there goes with its text.
        assert (tunnel, "configMap.config.yaml.tunnel") in moved
        assert _load(planned[0] / tunnel)["configMap"] == {}
        # What stays is a real limit, and the reason names it.
        chat = _followup(built, kps, "alertmanager.config.receivers[1].telegram_configs[0]."
                                     "chat_id")
        assert chat is not None and "chat_id_file" in chat and "v0.27.0" in chat
        assert (f"{root}/{OAUTH}", "config.configFile") in moved
        assert _followup(built, f"{root}/{OAUTH}", "config.configFile") is None


def test_values_written_are_what_the_recipe_renders(planned: tuple[Path, Built]) -> None:
    """The rewritten values file, loaded, is `recipebook.render` of the original (for the
    places plan moved, with the Doppler names it chose): every hook field exactly as the recipe,
    checked against the chart at that version, says."""
    from secretsync.models import dotted

    after, built = planned
    before_root = after.parent / "examples"
    names = {(e.path, e.key_path): str(e.key) for e in built.plan.edits
             if e.kind == "argo-chart"}
    for root in ROOTS:
        for rel, (chart, version) in {**WIRED, OAUTH: ("oauth2-proxy", "7.7.1")}.items():
            path = f"{root}/{rel}"
            old = _load(before_root / path)
            by_path = {recipebook.dotted(kp): names[(path, dotted(kp))]
                       for kp, _v in recipebook._paths(old) if (path, dotted(kp)) in names}
            assert by_path, path
            found = {"config.configFile": ["tail876052"]} if rel == OAUTH else None
            # A configuration text the chart never reads goes whole with the values in it.
            inside = {recipebook.dotted(kp) for kp, _v in recipebook._paths(old)
                      if any(p == path and k.startswith(dotted(kp) + ".") for p, k in names)}
            want, keys = recipebook.render(recipebook.recipes()[chart], old, by_path, version,
                                           only=set(by_path) | inside, found=found)
            assert keys, path
            assert _load(after / path) == want, path


def test_alloy_reads_the_endpoint_from_its_environment(planned: tuple[Path, Built]) -> None:
    after, built = planned
    endpoint = "https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com"
    for root in ROOTS:
        path = f"{root}/helm-values/monitoring/alloy.yaml"
        (edit,) = [e for e in built.plan.edits if e.kind == "argo-chart" and e.path == path]
        old = _load(after.parent / "examples" / path)
        d = "alloy.configMap.content.endpoint"
        want, keys = recipebook.render(recipebook.recipes()["alloy"], old, {d: str(edit.key)},
                                       "0.10.1", found={d: [endpoint]})
        assert keys == {str(edit.key): d}
        got = _load(after / path)
        assert got == want
        assert endpoint not in got["alloy"]["configMap"]["content"]
        assert f'sys.env("{edit.key}")' in got["alloy"]["configMap"]["content"]


def test_externalsecrets_are_valid_and_hold_every_key_the_chart_reads(
        planned: tuple[Path, Built]) -> None:
    after, _ = planned
    for root in ROOTS:
        creds = after / root / "manifests" / "credentials"
        made: dict[str, dict[str, Any]] = {}
        for p in sorted(creds.glob("*.yaml")):
            for doc in reading.load_all(p.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("kind") == "ExternalSecret":
                    assert manifests.validate_manifest(doc) == [], p
                    target = doc["spec"]["target"]
                    keys = set((target.get("template") or {}).get("data") or {}) or \
                        {d["secretKey"] for d in doc["spec"]["data"]}
                    made[target["name"]] = {"ns": doc["metadata"]["namespace"], "keys": keys,
                                            "store": doc["spec"]["secretStoreRef"]["name"]}
        assert made["kube-prometheus-stack-doppler"]["keys"] == {"admin-user", "admin-password"}
        assert made["grafana-env-doppler"]["keys"] == {
            "GF_SERVER_ROOT_URL", "GF_AUTH_GENERIC_OAUTH_CLIENT_ID",
            "GF_AUTH_GENERIC_OAUTH_AUTH_URL", "GF_AUTH_GENERIC_OAUTH_TOKEN_URL",
            "GF_AUTH_GENERIC_OAUTH_API_URL"}
        assert made["oauth2-proxy-credentials"]["keys"] == {"client-id", "client-secret",
                                                            "cookie-secret"}
        assert made["oauth2-proxy-env"]["keys"] == {
            "OAUTH2_PROXY_OIDC_ISSUER_URL", "OAUTH2_PROXY_REDIRECT_URL",
            "OAUTH2_PROXY_COOKIE_DOMAINS", "OAUTH2_PROXY_WHITELIST_DOMAINS"}
        assert len(made["loki-doppler"]["keys"]) == 1
        assert made["alertmanager-doppler"]["ns"] == "monitoring"
        assert made["alloy-doppler"]["ns"] == "monitoring"
        # The store the tree's own ExternalSecrets in that directory read.
        assert {m["store"] for m in made.values()} == {"doppler-prd"}
        # Each key the rewritten values point at exists in that Secret.
        kps = _load(after / root / "helm-values/monitoring/kube-prometheus-stack.yaml")
        bot = kps["alertmanager"]["config"]["receivers"][1]["telegram_configs"][0]
        _, _, _, _, secret, key = bot["bot_token_file"].split("/")
        assert secret in kps["alertmanager"]["alertmanagerSpec"]["secrets"]
        assert key in made[secret]["keys"]
        loki = _load(after / root / "helm-values/monitoring/loki.yaml")
        var = loki["loki"]["storage"]["s3"]["endpoint"]
        assert var[2:-1] in made["loki-doppler"]["keys"] and var.startswith("${")
        assert {"secretRef": {"name": "loki-doppler"}} in loki["singleBinary"]["extraEnvFrom"]
        assert "-config.expand-env=true" in loki["singleBinary"]["extraArgs"]
        oauth = _load(after / root / OAUTH)
        for env in oauth["extraEnv"]:
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["key"] in made[ref["name"]]["keys"]


def test_the_credentials_kustomization_builds_with_the_new_manifests(
        planned: tuple[Path, Built]) -> None:
    after, _ = planned
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is required (house rule: kustomizations are built)"
    for root in ROOTS:
        out = subprocess.run([kubectl, "kustomize", str(after / root / "manifests/credentials")],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        for name in ("kube-prometheus-stack-doppler", "grafana-env-doppler", "loki-doppler",
                     "alertmanager-doppler", "oauth2-proxy-env", "alloy-doppler"):
            assert f"name: {name}\n" in out, (root, name)


# -- a small app-of-apps: what stays, and why -------------------------------------------------
COOKIE = "q3V8mZp2Lw9Xk4Rt7Yb1Nc6Hd0Gf5Js8Ua2Ve4Wi6Qo="
APP = """apiVersion: argoproj.io/v1alpha1
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
    - repoURL: {{ .Values.repo }}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: oauth2-proxy
"""
CREDS_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: credentials
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {{ .Values.repo }}
    targetRevision: main
    path: manifests/credentials
  destination:
    server: https://kubernetes.default.svc
    namespace: external-secrets
"""
ES = """apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: other
  namespace: other
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: doppler-prd}
  target:
    name: other
  data:
    - secretKey: k
      remoteRef:
        key: K
"""
STORE = """apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: doppler-prd
spec:
  provider:
    doppler:
      project: shop
      config: prd
      auth:
        secretRef:
          dopplerToken: {name: doppler-token, key: dopplerToken, namespace: external-secrets}
"""


def _small(root: Path, *, credentials: bool, existing_secret: bool, extra: str = "") -> Path:
    files = {
        ".secretsync.yaml": "secrets:\n  default_environment: prd\n",
        "stores/doppler-prd.yaml": STORE,
        "apps/Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "apps/values.yaml": "repo: https://example.com/git.git\n",
        "apps/templates/oauth2-proxy.yaml": APP,
        "helm-values/oauth2-proxy.yaml": (
            "config:\n" + ("  existingSecret: oauth2-proxy-credentials\n" if existing_secret
                           else "") + f'  cookieSecret: "{COOKIE}"\n' + extra),
    }
    if credentials:
        files.update({"apps/templates/credentials.yaml": CREDS_APP,
                      "manifests/credentials/kustomization.yaml":
                          "resources:\n  - other.yaml\n",
                      "manifests/credentials/other.yaml": ES})
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _reason(root: Path, key: str = "config.cookieSecret") -> str:
    built = build(root, config.load(root, project="shop"))
    assert not [e for e in built.plan.edits if e.kind == "argo-chart"]
    reason = _followup(built, "helm-values/oauth2-proxy.yaml", key)
    assert reason is not None
    assert COOKIE not in reason
    return reason


def test_a_secret_missing_keys_the_chart_then_reads_is_not_created(tmp_path: Path) -> None:
    """With config.existingSecret the chart reads client-id and client-secret too: moving only
    the cookie secret into a new Secret would break oauth2-proxy, so the place stays."""
    reason = _reason(_small(tmp_path, credentials=True, existing_secret=False))
    assert "reads keys client-id, client-secret of Secret oauth2-proxy/oauth2-proxy-credentials" \
        in reason


def test_without_a_directory_of_externalsecrets_the_place_says_what_to_add(
        tmp_path: Path) -> None:
    root = _small(tmp_path, credentials=False, existing_secret=True,
                  extra="extraArgs:\n  redirect-url: https://auth.tail876052.ts.net/cb\n")
    reason = _reason(root, "extraArgs.redirect-url")
    assert "no directory that an Application of apps deploys holds ExternalSecrets" in reason


def test_the_new_key_goes_into_the_trees_own_externalsecret(tmp_path: Path) -> None:
    """An ExternalSecret of the tree already makes oauth2-proxy-credentials with client-id and
    client-secret: cookie-secret is appended to it, and the inline value leaves."""
    root = _small(tmp_path, credentials=True, existing_secret=True)
    (root / "manifests/credentials/oauth2-proxy.yaml").write_text(
        ES.replace("name: other\n  namespace: other", "name: oauth2-proxy-credentials\n"
                   "  namespace: oauth2-proxy").replace("name: other\n",
                                                        "name: oauth2-proxy-credentials\n")
        .replace("    - secretKey: k\n      remoteRef:\n        key: K\n",
                 "    - secretKey: client-id\n      remoteRef:\n        key: AUTH0_CLIENT_ID\n"
                 "    - secretKey: client-secret\n      remoteRef:\n        key: AUTH0_SECRET\n"))
    built = build(root, config.load(root, project="shop"))
    assert [e.key_path for e in built.plan.edits if e.kind == "argo-chart"] == [
        "config.cookieSecret"]
    changed = {c.rel: c.data.decode() for c in built.changes}
    assert COOKIE not in changed["helm-values/oauth2-proxy.yaml"]
    es = reading.load_all(changed["manifests/credentials/oauth2-proxy.yaml"])[0]
    assert manifests.validate_manifest(es) == []
    assert [d["secretKey"] for d in es["spec"]["data"]] == ["client-id", "client-secret",
                                                            "cookie-secret"]
    assert not built.plan.manifests  # no new file: the tree's ExternalSecret holds it


DOMAIN = "dev-tgrsoxiakeqdr1gg.us.auth0.com"


@pytest.mark.parametrize(("line", "moves"), [
    ("oidc-issuer-url: https://{{ .Values.global.auth0.domain }}/", True),
    ("oidc-issuer-url: https://{{ .Values.global.auth0.domain }}/v2/", False),
])
def test_a_template_line_goes_only_when_the_secret_feeds_the_same_value(
        tmp_path: Path, line: str, moves: bool) -> None:
    """The app-of-apps template sets extraArgs.oidc-issuer-url in helm.values (it overrides the
    values file). Once argo-chart feeds that flag from Secret oauth2-proxy-env as
    `https://{{ .AUTH0_DOMAIN }}/`, the template line (and the global value only it reads) can
    go, but only when the line composes the same value."""
    root = _small(tmp_path, credentials=True, existing_secret=False,
                  extra=f"extraArgs:\n  oidc-issuer-url: https://{DOMAIN}/\n")
    (root / "helm-values/oauth2-proxy.yaml").write_text(
        f"extraArgs:\n  oidc-issuer-url: https://{DOMAIN}/\n")
    (root / "apps/values.yaml").write_text(
        f"repo: https://example.com/git.git\nglobal:\n  auth0:\n    domain: {DOMAIN}\n")
    (root / "apps/templates/oauth2-proxy.yaml").write_text(APP.replace(
        "          - $values/helm-values/oauth2-proxy.yaml\n",
        "          - $values/helm-values/oauth2-proxy.yaml\n        values: |\n"
        f"          extraArgs:\n            {line}\n            provider: oidc\n"))
    built = build(root, config.load(root, project="shop"))
    kinds = {(e.path, e.kind) for e in built.plan.edits}
    assert ("helm-values/oauth2-proxy.yaml", "argo-chart") in kinds
    assert (("apps/values.yaml", "argo-recipe") in kinds) == moves
    changed = {c.rel: c.data.decode() for c in built.changes}
    if moves:
        assert DOMAIN not in changed["apps/values.yaml"]
        tpl = changed["apps/templates/oauth2-proxy.yaml"]
        assert ".Values.global.auth0.domain" not in tpl and "provider: oidc" in tpl
    else:
        assert "apps/values.yaml" not in changed
        reason = _followup(built, "apps/values.yaml", "global.auth0.domain")
        assert reason is not None and "oauth2-proxy.yaml" in reason
