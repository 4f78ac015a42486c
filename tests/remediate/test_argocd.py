"""Argo CD in the deploy graph: Applications and ApplicationSets, plain and rendered by the
examples' app-of-apps chart, who reads each value, and the reasons plan gives."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from secretsync.remediate import argocd

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
GOLDEN_AFTER = REPO / "tests" / "golden" / "examples-after"
APPS = "gitops-platform/infrastructure/apps"


def _rels(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _graph(root: Path = EXAMPLES) -> argocd.ArgoGraph:
    return argocd.build(root, _rels(root))


def test_every_helm_values_file_has_its_application() -> None:
    g = _graph()
    helm_values = [r for r in _rels(EXAMPLES) if "/helm-values/" in r]
    unread = sorted(r for r in helm_values if not g.consumers(r))
    # minio-local.yaml says so itself ("Not deployed by ArgoCD"); no Application names the
    # SOPS-encrypted copy of the oauth2-proxy values.
    assert unread == sorted(f"{root}/infrastructure/helm-values/{f}"
                            for root in ("gitops-platform", "example-monorepo/modules")
                            for f in ("data/minio-local.yaml", "network/oauth2-proxy.sops.yaml"))
    (app, src), = g.consumers("gitops-platform/infrastructure/helm-values/network/"
                              "tailscale-operator.yaml")
    assert (app.name, app.namespace, src.chart, src.version) == (
        "tailscale-operator", "tailscale", "tailscale-operator", "1.78.3")
    assert app.rendered_by == APPS
    # An ApplicationSet's `$values/.../postgres-{{ .env }}-defaults.yaml` names both files.
    for env in ("dev", "prd"):
        (app, src), = g.consumers(f"gitops-platform/infrastructure/helm-values/data/"
                                  f"postgres-{env}-defaults.yaml")
        assert app.kind == "ApplicationSet" and src.chart == "cluster"
    # The root Application deploys the app-of-apps chart with its values.yaml.
    (root, _), = g.consumers(f"{APPS}/values.yaml")
    assert root.name == "root" and root.rendered_by is None


def test_git_generator_directories_resolve_to_the_service_charts() -> None:
    g = _graph()
    deployed = {a.name for a, _ in g.deploying("gitops-platform/deploy/services/example-api")}
    assert deployed == {"*-*"}
    assert not g.deploying("gitops-platform/infrastructure/apps/templates/services")
    assert g.consumers("gitops-platform/deploy/services/example-ui/values-prd.yaml")


def test_app_of_apps_reads_trace_each_global_value_to_its_chart() -> None:
    g = _graph()
    tailnet = g.reads_of(APPS, ("global", "tailnet"))
    assert sorted((r.app, r.source.label if r.source else "", r.chart_key, r.whole)
                  for r in tailnet) == [
        ("*-*", "chart gitops-platform/infrastructure/charts/service-ingress", ("tailnet",), True),
        ("*-main-db-*", "chart gitops-platform/infrastructure/charts/tailscale-service",
         ("tailnet",), True),
        ("oauth2-proxy", "chart oauth2-proxy 7.12.0", ("extraArgs", "whitelist-domain"), False),
        ("protected-services", "chart gitops-platform/infrastructure/charts/protected-services",
         ("tailnet",), True),
    ]
    (cid,) = g.reads_of(APPS, ("global", "tailscale", "clientId"))
    assert (cid.template, cid.line, cid.field, cid.chart_key) == (
        f"{APPS}/templates/network/tailscale-operator.yaml", 22, "spec.sources[0].helm.values",
        ("oauth", "clientId"))
    assert not g.reads_of(APPS, ("global", "s3", "endpoint"))


def test_directory_recurse_and_single_source(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "manifests" / "a" / "b").mkdir(parents=True)
    (tmp_path / "manifests" / "a" / "b" / "cm.yaml").write_text("kind: ConfigMap\n")
    (tmp_path / "apps" / "app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: m}\n"
        "spec:\n  source:\n    path: manifests/a\n    directory: {recurse: true}\n"
        "  destination: {namespace: tools}\n")
    g = _graph(tmp_path)
    (app,) = g.apps
    assert app.namespace == "tools" and app.sources[0].recurse
    assert app.sources[0].paths == ("manifests/a",)


def test_no_rendered_application_field_loses_its_value() -> None:
    """Render each app-of-apps template's `.Values` reads (text level) before and after apply
    (the golden after-tree, templates and values.yaml): nothing renders empty after, and every
    read that had a value keeps it, except the lines apply removed together with their value
    (argo-recipe: the chart reads it from a Secret an ExternalSecret of the tree makes, or the
    line fed a chart of the tree that never reads it)."""
    removed_with_value = {".Values.global.tailscale.clientId", ".Values.global.auth0.clientId",
                          ".Values.global.auth0.domain", ".Values.global.tailnet"}
    for chart in (APPS, "example-monorepo/modules/infrastructure/apps"):
        def after(rel: str, chart: str = chart) -> str:
            f = GOLDEN_AFTER / chart / rel
            return (f if f.exists() else EXAMPLES / chart / rel).read_text(encoding="utf-8")

        before_values = YAML(typ="safe").load((EXAMPLES / chart / "values.yaml").read_text())
        after_values = YAML(typ="safe").load(after("values.yaml"))
        checked = 0
        for tpl in sorted((EXAMPLES / chart / "templates").rglob("*.yaml")):
            rel = tpl.relative_to(EXAMPLES / chart).as_posix()
            was = argocd.rendered_exprs(tpl.read_text(encoding="utf-8"), before_values)
            now = argocd.rendered_exprs(after(rel), after_values)
            assert all(v is not None for e, v in now if any(e == x for x, w in was if w)), rel
            lost = [e for e, v in was if v is not None and (e, v) not in now]
            assert set(lost) <= removed_with_value, f"{rel}: {lost} render empty after apply"
            checked += sum(1 for _, v in was if v is not None)
        assert checked > 50


def test_render_reads_sees_a_removed_key() -> None:
    text = "x: {{ .Values.global.tailnet }}\ny: https://{{ .Values.global.auth0.domain }}/\n"
    assert argocd.render_reads(text, {"global": {"tailnet": "t", "auth0": {"domain": "d"}}}) \
        == {(1, 4): "t", (2, 12): "d"}
    broken = {"global": {"tailnetSecretRef": {"name": "s", "key": "K"}, "auth0": {}}}
    assert argocd.render_reads(text, broken) == {(1, 4): None, (2, 12): None}


def test_reasons_name_the_reader_and_the_missing_mechanism() -> None:
    g = _graph()
    why = argocd.reason(g, f"{APPS}/values.yaml", ("global", "tailscale", "clientId"), True,
                        False)
    assert why is not None
    assert "templates/network/tailscale-operator.yaml:22" in why
    assert "Argo CD cannot put Secret data into Helm values" in why
    unread = argocd.reason(g, f"{APPS}/values.yaml", ("global", "telegram", "chatId"), True,
                           False)
    assert unread is not None and unread.startswith("no template of the app-of-apps chart")
    cnpg = argocd.reason(g, "gitops-platform/infrastructure/helm-values/data/"
                         "postgres-prd-defaults.yaml", ("backups", "endpointURL"), True, False)
    assert cnpg is not None and "endpointURL is a plain string" in cnpg
    chat = argocd.reason(g, "gitops-platform/infrastructure/helm-values/monitoring/"
                         "kube-prometheus-stack.yaml", ("alertmanager", "config", "receivers", 1,
                                                        "telegram_configs", 0, "chat_id"),
                         True, False)
    assert chat is not None and "Alertmanager v0.31.0" in chat and "v0.27.0" in chat
    # A file no Application reads is not Argo's business.
    assert argocd.reason(g, "gitops-platform/apps/base/example-api/release.yaml",
                         ("spec",), True, False) is None


def test_a_value_keeps_the_name_the_trees_externalsecret_reads() -> None:
    """tailscale-operator reads oauth.clientId from Secret operator-oauth (key client_id, its
    recipe); the tree's ExternalSecret operator-oauth in namespace tailscale reads client_id from
    TAILSCALE_OAUTH_CLIENT_ID: the value in the chart's values and in the app-of-apps values
    (read into that chart) is that Doppler secret."""
    from secretsync.models import Finding, SecretGroup
    from secretsync.remediate.names import known_names

    def place(path: str, kp: tuple[str, ...]) -> Finding:
        return Finding(path=path, line=1, column=1, end_line=1, end_column=2, start=0, end=1,
                       key_path=kp,
                       value="v", detector="tailscale-oauth-client-id")

    g = _graph()
    rels = _rels(EXAMPLES)
    via_values = SecretGroup("a", "TAILSCALE_CLIENT_ID", "tailscale-oauth-client-id", ("prd",), (
        place("gitops-platform/infrastructure/helm-values/network/tailscale-operator.yaml",
              ("oauth", "clientId")),))
    via_global = SecretGroup("b", "TAILSCALE_CLIENT_ID", "tailscale-oauth-client-id", ("prd",), (
        place(f"{APPS}/values.yaml", ("global", "tailscale", "clientId")),))
    unrelated = SecretGroup("c", "TAILNET", "tailscale-tailnet", ("prd",), (
        place(f"{APPS}/values.yaml", ("global", "tailnet")),))
    assert known_names(g, EXAMPLES, rels, [via_values, via_global, unrelated]) == {
        "a": "TAILSCALE_OAUTH_CLIENT_ID", "b": "TAILSCALE_OAUTH_CLIENT_ID"}
