"""argocd-cm (issue 10 item 4): oidc.config fields become `$<secret>:<key>` references to a
Secret an ExternalSecret renders (label app.kubernetes.io/part-of: argocd, Argo CD >= 2.8),
in the store the tree's other Argo-deployed ExternalSecrets read; argocd-cm `url`, which Argo
CD reads as is, stays with that reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

from secretsync.config import load
from secretsync.manifests import validate_manifest
from secretsync.plan import build
from tests.remediate.test_examples import SCHEMAS

REPO = Path(__file__).resolve().parents[2]
CM = "gitops-platform/infrastructure/manifests/argocd/argocd-cm.yaml"
ES = "gitops-platform/infrastructure/manifests/argocd/secretsync-argocd.yaml"
KUST = "gitops-platform/infrastructure/manifests/argocd/kustomization.yaml"


def test_oidc_config_fields_read_the_secret_argo_cd_resolves(tmp_path: Path) -> None:
    tree = tmp_path / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    built = build(tree, load(tree, project="gaynance", env={}))
    after = {c.rel: c.data.decode() for c in built.changes}
    cm = YAML(typ="safe").load(after[CM])
    oidc = YAML(typ="safe").load(cm["data"]["oidc.config"])
    assert oidc["issuer"] == "$secretsync-argocd:oidc.issuer"
    assert oidc["clientID"] == "$secretsync-argocd:oidc.clientID"
    # Untouched: the existing argocd-secret reference, the other fields, the url (a limit).
    assert oidc["clientSecret"] == "$oidc.auth0.clientSecret"
    assert oidc["requestedScopes"] == ["openid", "profile", "email"]
    assert cm["data"]["url"] == "https://argocd.tail876052.ts.net"
    (url,) = [f for f in built.plan.followups if f.path == CM]
    assert url.key_path == "data.url" and "reads argocd-cm data.url as is" in url.reason
    es = YAML(typ="safe").load(after[ES])
    assert validate_manifest(es, SCHEMAS) == []
    assert es["metadata"] == {"name": "secretsync-argocd", "namespace": "argocd"}
    # The store the tree's own Argo-deployed ExternalSecrets read (credentials/: doppler-prd).
    assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "doppler-prd"}
    tpl = es["spec"]["target"]["template"]
    assert tpl["metadata"]["labels"] == {"app.kubernetes.io/part-of": "argocd"}
    assert tpl["data"] == {"oidc.issuer": "https://{{ .AUTH0_DOMAIN }}/",
                           "oidc.clientID": "{{ .AUTH0_CLIENT_ID }}"}
    assert [d["remoteRef"]["key"] for d in es["spec"]["data"]] == [
        "AUTH0_CLIENT_ID", "AUTH0_DOMAIN"]
    assert "secretsync-argocd.yaml" in YAML(typ="safe").load(after[KUST])["resources"]
    # The dev tenant is an env leak in prd: prd's value is the human's to set, never the dev one.
    prd = {s.name: s.status for s in built.plan.secrets if s.env == "prd"}
    assert prd["AUTH0_DOMAIN"] == "needs-value"
    assert "dev-tgrsoxiakeqdr1gg" not in after[ES] and "wsZ3vIm5" not in after[ES]


def test_without_one_shared_store_the_place_asks(tmp_path: Path) -> None:
    tree = tmp_path / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    cred = tree / "gitops-platform/infrastructure/manifests/credentials/oauth2-proxy.yaml"
    cred.write_text(cred.read_text().replace("name: doppler-prd", "name: doppler-dev"))
    built = build(tree, load(tree, project="gaynance", env={}))
    assert CM not in {c.rel for c in built.changes}
    reasons = [f.reason for f in built.plan.followups if f.path == CM
               and f.key_path in ("data.oidc.config.issuer", "data.oidc.config.clientID")]
    assert len(reasons) == 2 and all("no single Doppler store" in r for r in reasons)
