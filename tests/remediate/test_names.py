"""Doppler names (issue 10 item 6): the names the tree already uses, one name per role across
environments, and a `_2` only when two different roles truly collide."""

from __future__ import annotations

from pathlib import Path

from secretsync.detectors import is_dev_value
from secretsync.group import group
from secretsync.models import Finding, SecretGroup
from secretsync.remediate import argocd
from secretsync.remediate.names import aligned, known_names

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _place(path: str, kp: tuple[str | int, ...], value: str, detector: str,
           envs: tuple[str, ...], *, env_name: str | None = None) -> Finding:
    return Finding(path=path, line=1, column=1, end_line=1, end_column=2, start=0, end=1,
                   key_path=kp, value=value, detector=detector, environments=envs,
                   env_name=env_name)


def test_templates_align_field_by_field_or_not_at_all() -> None:
    recipe = '{"AccountTag":"{{ .cloudflare.account }}","TunnelID":"{{ .cloudflare.tunnelId }}"}'
    tree = '{"AccountTag":"{{ .accountTag }}","TunnelID":"{{.tunnelId}}"}'
    assert aligned(recipe, tree) == {"cloudflare.account": "accountTag",
                                     "cloudflare.tunnelId": "tunnelId"}
    # Other text around the actions: another file format, nothing is inferred from it.
    assert aligned(recipe, '{"Account":"{{ .accountTag }}","TunnelID":"{{ .tunnelId }}"}') \
        is None
    assert aligned(recipe, '{"AccountTag":"{{ .accountTag }}"}') is None


def test_a_value_a_recipe_templates_keeps_the_name_of_the_trees_template() -> None:
    """cloudflare-tunnel renders credentials.json from cloudflare.account (its recipe's
    template); the tree's ExternalSecret cloudflare-tunnel-credentials (namespace cloudflare)
    renders the same JSON with AccountTag from remoteRef CLOUDFLARE_ACCOUNT_ID: the account id in
    the chart's values file is CLOUDFLARE_ACCOUNT_ID, not a new CLOUDFLARE_ACCOUNT."""
    rels = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file())
    g = argocd.build(EXAMPLES, rels)
    account = SecretGroup("a", "CLOUDFLARE_ACCOUNT", "cloudflare-account-id", ("prd",), tuple(
        _place(f"{root}/infrastructure/helm-values/network/cloudflare-tunnel.yaml",
               ("cloudflare", "account"), "v", "cloudflare-account-id", ("prd",))
        for root in ("gitops-platform", "example-monorepo/modules")))
    # tunnelName: the recipe has no hook for it, so no ExternalSecret's name applies.
    name = SecretGroup("b", "TUNNEL_NAME", "generic", ("prd",), (
        _place("gitops-platform/infrastructure/helm-values/network/cloudflare-tunnel.yaml",
               ("cloudflare", "tunnelName"), "w", "generic", ("prd",)),))
    assert known_names(g, EXAMPLES, rels, [account, name]) == {"a": "CLOUDFLARE_ACCOUNT_ID"}


def test_a_leaking_value_and_the_environments_own_value_share_the_role_name() -> None:
    """The dev tenant in a base file reaches prd only as an env leak; prd's own patch names the
    prd tenant for the same env var: both are AUTH0_DOMAIN, each in its own config (before:
    the prd tenant became AUTH0_DOMAIN_2)."""
    dev_tenant = "dev-q8w2k5z1m7x3c9v4.eu.auth0.com"
    prd_tenant = "homelab-prd.eu.auth0.com"
    base = "apps/base/billing/release.yaml"
    kp = ("spec", "values", "env", 0, "value")
    findings = [
        _place(base, kp, dev_tenant, "auth0-domain", ("dev", "prd"), env_name="AUTH0_DOMAIN"),
        _place(base, kp, dev_tenant, "env-leak", ("prd",), env_name="AUTH0_DOMAIN"),
        _place("apps/prd/patches/shop-env.yaml", kp, prd_tenant, "auth0-domain", ("prd",),
               env_name="AUTH0_DOMAIN"),
    ]
    _, groups = group(findings, is_dev_value)
    assert [g.name for g in groups] == ["AUTH0_DOMAIN", "AUTH0_DOMAIN"]


def test_two_roles_in_one_environment_still_get_two_names() -> None:
    """Two different values under one env var name in the same environment (not a leak): one
    Doppler config cannot hold both, so the later one takes a longer name from its key path."""
    kp_a = ("shop", "env", 0, "value")
    kp_b = ("billing", "env", 0, "value")
    findings = [
        _place("a/values-prd.yaml", kp_a, "prd-shop.eu.auth0.com", "auth0-domain", ("prd",),
               env_name="AUTH0_DOMAIN"),
        _place("b/values-prd.yaml", kp_b, "prd-billing.eu.auth0.com", "auth0-domain", ("prd",),
               env_name="AUTH0_DOMAIN"),
    ]
    _, groups = group(findings, is_dev_value)
    names = [g.name for g in groups]
    assert names[0] == "AUTH0_DOMAIN" and names[1] != "AUTH0_DOMAIN"


def test_a_value_that_drifted_between_two_copies_keeps_one_name() -> None:
    """The platform and its monorepo copy set the same env var at the same place to different
    tenants: one role, one name (the conflict is plan's to report), not AUTH0_DOMAIN_2."""
    kp = ("env", 1, "value")
    findings = [
        _place("gitops-platform/deploy/services/api/values-dev.yaml", kp, "dev-a.us.auth0.com",
               "auth0-domain", ("dev",), env_name="AUTH0_DOMAIN"),
        _place("example-monorepo/modules/deploy/services/api/values-dev.yaml", kp,
               "dev-b.us.auth0.com", "auth0-domain", ("dev",), env_name="AUTH0_DOMAIN"),
    ]
    _, groups = group(findings, is_dev_value)
    assert [g.name for g in groups] == ["AUTH0_DOMAIN", "AUTH0_DOMAIN"]


def test_verify_hints_name_what_apply_uses() -> None:
    """verify's advice for a value left in the tree names the plan's Doppler name (the tree's
    own CLOUDFLARE_ACCOUNT_ID), not the scan's first guess, and a place apply rewrites inside a
    block scalar (argocd-cm oidc.config) is "run apply", not "template it by hand"."""
    from dataclasses import replace

    from secretsync.verify.checks import _literal_fix

    f = replace(_place("a/values.yaml", ("cloudflare", "account"), "v", "cloudflare-account-id",
                       ("prd",)), suggested_name="CLOUDFLARE_ACCOUNT", style="literal")
    fix = _literal_fix(f, {}, {("a/values.yaml", 1): "CLOUDFLARE_ACCOUNT_ID"},
                       frozenset({("a/values.yaml", 1)}))
    assert "to move it to Doppler as CLOUDFLARE_ACCOUNT_ID;" in fix and "block scalar" not in fix
    assert "as CLOUDFLARE_ACCOUNT;" in _literal_fix(replace(f, style="plain"), {})


def test_init_suggests_the_names_plan_uses(tmp_path: Path) -> None:
    import shutil

    from secretsync.cli import run_cli

    tree = tmp_path / "examples"
    shutil.copytree(EXAMPLES, tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    assert run_cli(["init", str(tree), "--project", "gaynance"]) == 0
    text = (tree / ".secretsync.yaml").read_text()
    assert "'cloudflare\\.account': 'CLOUDFLARE_ACCOUNT_ID'" in text
    assert "'CLOUDFLARE_ACCOUNT'" not in text
