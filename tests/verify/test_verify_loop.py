"""The whole loop on the seed example against the embedded Doppler: scan finds the values, apply
moves them, verify fails on the production Auth0 domain until `push --set` provides it, then
passes. Then one way to break the tree or Doppler per check, each seen by its check id with a
message that says what to do. One server and one applied tree for the module; each breaking test
works on its own copy and puts Doppler back."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from secretsync.testing import DopplerTestServer
from tests.remediate.test_examples import SEED_VALUES, regen
from tests.verify.helpers import (
    DEV_TENANT,
    PROD_TENANT,
    PROJECT,
    SCHEMAS,
    Run,
    cli,
    copy_tree,
    delete_secret,
    verify,
)

_MISSING = re.compile(r"^([A-Z_][A-Z0-9_]*) is not in Doppler gaynance/(\w+) ")


@dataclass(frozen=True, slots=True)
class Loop:
    tree: Path
    srv: DopplerTestServer
    token: str
    baseline: Path
    scan: Run
    before_apply: Run
    after_apply: Run
    after_set: Run
    offline: Run
    outputs: tuple[str, ...]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    tmp = tmp_path_factory.mktemp("loop")
    tree = regen.copy_examples(tmp / "examples")
    for store in tree.rglob("doppler-*.yaml"):
        # The stores must read the project apply pushes to, whichever the examples name today.
        store.write_text(store.read_text().replace("project: k3s-home", f"project: {PROJECT}"))
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        token = os.environ["DOPPLER_TOKEN"]
        scan = cli(["scan", str(tree), "--no-progress", "--format", "json"])
        before = verify(tree)
        # What the hand-written ExternalSecrets read, beyond what apply will push, already
        # lives in Doppler in real life.
        plan_file = tmp / "plan.json"
        assert cli(["plan", str(tree), "--project", PROJECT, "--offline", "-o",
                    str(plan_file)]).code == 0
        planned = {(s["config"], s["name"]) for s in json.loads(plan_file.read_text())["secrets"]}
        for p in before.check("missing-remote")["problems"]:
            m = _MISSING.match(p["message"])
            assert m, p["message"]
            if (m.group(2), m.group(1)) not in planned:
                srv.set_secret(PROJECT, m.group(2), m.group(1), f"existing-{m.group(1).lower()}")
        applied = cli(["apply", str(tree), "--project", PROJECT])
        assert applied.code == 0, applied.err
        baseline = tmp / "baseline.json"
        accepted = cli(["scan", str(tree), "--no-progress", "--baseline", str(baseline),
                        "--update-baseline"])
        assert accepted.code == 0, accepted.err
        after_apply = verify(tree, "--baseline", str(baseline))
        pushed = cli(["push", "--set", "AUTH0_DOMAIN", "--config", "prd", "--project", PROJECT],
                     stdin=PROD_TENANT + "\n")
        assert pushed.code == 0, pushed.err
        after_set = verify(tree, "--baseline", str(baseline))
        offline = verify(tree, "--baseline", str(baseline), "--offline")
        outputs = tuple(x for r in (scan, before, applied, after_apply, pushed, after_set, offline)
                        for x in (r.out, r.err) if r is not scan)
        yield Loop(tree, srv, token, baseline, scan, before, after_apply, after_set, offline,
                   outputs)


def test_scan_finds_the_seed_values(loop: Loop) -> None:
    assert loop.scan.code == 1
    names = {f["suggested_name"] for f in loop.scan.json()["findings"]}
    # scan names the Tailscale client id from its place; plan keeps the name the tree's
    # operator-oauth ExternalSecret already reads it under.
    assert set(SEED_VALUES.values()) - {"TAILSCALE_OAUTH_CLIENT_ID"} | {"TAILSCALE_CLIENT_ID"} \
        <= names


def test_before_apply_verify_fails_on_literals_and_the_env_leak(loop: Loop) -> None:
    assert loop.before_apply.code == 1
    assert {"literal", "env-leak", "missing-remote"} <= loop.before_apply.failing()
    leak = loop.before_apply.check("env-leak")["problems"]
    assert leak and all("prd" in p["message"] and "push --set AUTH0_DOMAIN" in p["fix"]
                        for p in leak)


def test_after_apply_only_the_production_auth0_domain_fails(loop: Loop) -> None:
    r = loop.after_apply
    assert r.code == 1
    assert r.failing() == {"missing-remote"}
    problems = r.check("missing-remote")["problems"]
    assert problems
    for p in problems:
        assert p["message"].startswith("AUTH0_DOMAIN is not in Doppler gaynance/prd")
        assert "secretsync push --set AUTH0_DOMAIN --config prd --project gaynance" in p["fix"]
    # The generated overlay manifest is among the places named.
    assert "gitops-platform/apps/prd/secretsync-example-api-doppler.yaml" in {
        p["path"] for p in problems}


def test_after_push_set_verify_passes(loop: Loop) -> None:
    r = loop.after_set
    assert r.code == 0, r.failing()
    doc = r.json()
    assert doc["passed"] is True and doc["mode"] == "full"
    status = {c["id"]: c["status"] for c in doc["checks"]}
    assert status == {"literal": "pass", "unresolved-ref": "pass", "missing-remote": "pass",
                      "store": "pass", "env-leak": "pass", "schema": "pass", "build": "pass",
                      "follow-up": "warn", "equivalence": "pass"}
    # Places apply cannot move stay listed, with the missing mechanism, until someone does them.
    follow = r.check("follow-up")["problems"]
    assert any(p["message"].startswith("annotation tailscale.com/tailnet-fqdn") for p in follow)
    assert any("argocd-cm data.url" in p["message"] for p in follow)
    # apply left no template reading a key it rewrote (the app-of-apps values stay).
    assert not any(p["message"].startswith("template reads") for p in follow)


def test_offline_mode_skips_doppler_and_still_passes(loop: Loop) -> None:
    r = loop.offline
    assert r.code == 0
    assert r.check("missing-remote")["status"] == "skipped"
    assert r.json()["mode"] == "offline"


def test_offline_mode_makes_no_request(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOPPLER_TOKEN")
    loop.srv.clear_log()
    r = verify(loop.tree, "--baseline", str(loop.baseline), "--offline")
    assert r.code == 0
    assert loop.srv.request_log == []


def test_full_mode_without_a_token_is_a_configuration_error(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOPPLER_TOKEN")
    monkeypatch.setattr("secretsync.credentials._keyring_call", lambda *a: None)
    r = verify(loop.tree, "--baseline", str(loop.baseline))
    assert r.code == 2
    assert "--offline" in r.err or "DOPPLER_TOKEN" in r.err


def test_no_value_or_token_in_any_output(loop: Loop) -> None:
    for blob in loop.outputs:
        for value in (*SEED_VALUES, DEV_TENANT, PROD_TENANT, loop.token):
            assert value not in blob
    assert "dp.pt." not in "".join(loop.outputs)


def test_sarif_validates_and_names_the_check(loop: Loop) -> None:
    schema = (SCHEMAS / "sarif-schema-2.1.0.json").read_text()
    r = cli(["verify", str(loop.tree), "--offline", "--format", "sarif"])
    assert r.code == 1  # no baseline: the literals apply left fail
    doc = json.loads(r.out)
    jsonschema.validate(doc, json.loads(schema))
    rules = {res["ruleId"] for res in doc["runs"][0]["results"]}
    assert "literal" in rules and "follow-up" in rules
    levels = {res["ruleId"]: res["level"] for res in doc["runs"][0]["results"]}
    assert levels["literal"] == "error" and levels["follow-up"] == "warning"


def test_table_summary_then_details(loop: Loop) -> None:
    r = cli(["verify", str(loop.tree), "--baseline", str(loop.baseline)])
    assert r.code == 0
    head = r.out.split("WARN follow-up:")[0]
    for check in ("literal", "unresolved-ref", "missing-remote", "store", "env-leak", "schema",
                  "build", "follow-up"):
        assert check in head
    assert "PASSED" in head and "fix:" in r.out


# -- one way to break it per check ---------------------------------------------------------------
@pytest.fixture
def broken(loop: Loop, tmp_path: Path) -> Path:
    return copy_tree(loop.tree, tmp_path / "tree")


def _fails_with(r: Run, check: str, *fix_words: str) -> list[dict[str, object]]:
    assert r.code == 1
    assert check in r.failing(), r.failing()
    problems = r.check(check)["problems"]
    assert problems
    for word in fix_words:
        assert any(word in str(p["fix"]) for p in problems), [p["fix"] for p in problems]
    return list(problems)


def test_deleted_remote_key_fails_missing_remote(loop: Loop) -> None:
    delete_secret(loop.srv, loop.token, "prd", "AUTH0_CLIENT_ID")
    try:
        r = verify(loop.tree, "--baseline", str(loop.baseline), "--skip", "build")
    finally:
        loop.srv.set_secret(PROJECT, "prd", "AUTH0_CLIENT_ID",
                            SEED_VALUES_BY_NAME["AUTH0_CLIENT_ID"])
    problems = _fails_with(r, "missing-remote",
                           "secretsync push --set AUTH0_CLIENT_ID --config prd")
    assert all(str(p["message"]).startswith("AUTH0_CLIENT_ID is not in Doppler gaynance/prd")
               for p in problems)
    assert r.failing() == {"missing-remote"}


SEED_VALUES_BY_NAME = {name: value for value, name in SEED_VALUES.items()}


def test_renamed_secret_fails_unresolved_ref(loop: Loop, broken: Path) -> None:
    f = broken / "gitops-platform/apps/prd/secretsync-example-api-doppler.yaml"
    f.write_text(f.read_text().replace("  target:\n    name: example-api-doppler",
                                       "  target:\n    name: example-api-secrets"))
    # The dev overlay and the charts still produce it: break the one the HelmRelease needs.
    for rel in ("gitops-platform/apps/dev/secretsync-example-api-doppler.yaml",):
        g = broken / rel
        g.write_text(g.read_text().replace("  target:\n    name: example-api-doppler",
                                           "  target:\n    name: example-api-secrets"))
    base = broken / "gitops-platform/deploy/services/example-api/values.yaml"
    base.write_text(base.read_text().replace("key: AUTH0_DOMAIN", "key: AUTH0_DOMAN"))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal")
    problems = _fails_with(r, "unresolved-ref", "secretKey: AUTH0_DOMAN")
    assert any("no key AUTH0_DOMAN" in str(p["message"]) for p in problems)


def test_secret_nothing_produces_fails_unresolved_ref(loop: Loop, broken: Path) -> None:
    base = broken / "gitops-platform/apps/base/example-api/release.yaml"
    base.write_text(base.read_text().replace("name: example-api-doppler",
                                             "name: example-api-credentials"))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal", "--offline")
    problems = _fails_with(r, "unresolved-ref", "verify.external_secrets")
    assert any("example-api-credentials" in str(p["message"]) for p in problems)
    # Declaring it external in .secretsync.yaml is the documented way out.
    (broken / ".secretsync.yaml").write_text(
        "verify:\n  external_secrets: [example-api-credentials]\n")
    assert verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal", "--offline").code == 0


def test_literal_put_back_fails_literal(loop: Loop, broken: Path) -> None:
    values = broken / "gitops-platform/infrastructure/apps/values.yaml"
    values.write_text(values.read_text() + "extra:\n  tailnet: tail876052\n")
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--offline")
    problems = _fails_with(r, "literal", "--update-baseline")
    assert [p["path"] for p in problems] == ["gitops-platform/infrastructure/apps/values.yaml"]
    # The advice is what plan would do with it (issue 12 §3): nothing deploys `extra`, so apply
    # pushes it and deletes the key (unread), under the name plan uses.
    (fix,) = [str(p["fix"]) for p in problems]
    # apply left no plain tailnet in the tree to name it after (global.tailnet went with its
    # readers), so plan names it from its key, and the hint says what plan says.
    assert "secretsync apply" in fix and "as EXTRA_TAILNET" in fix
    assert "tail876052" not in r.out


def test_production_pointed_at_the_dev_tenant_fails_env_leak(loop: Loop) -> None:
    loop.srv.set_secret(PROJECT, "prd", "AUTH0_DOMAIN", DEV_TENANT)
    try:
        r = verify(loop.tree, "--baseline", str(loop.baseline), "--skip", "build")
    finally:
        loop.srv.set_secret(PROJECT, "prd", "AUTH0_DOMAIN", PROD_TENANT)
    problems = _fails_with(r, "env-leak", "push --set AUTH0_DOMAIN --config prd")
    assert r.failing() == {"env-leak"}
    assert all(str(p["message"]).startswith("AUTH0_DOMAIN in Doppler gaynance/prd")
               for p in problems)
    assert DEV_TENANT not in r.out + r.err


def test_same_value_in_prd_and_dev_fails_env_leak_for_configured_names(
    loop: Loop, broken: Path
) -> None:
    # AUTH0_CLIENT_ID is the same in dev and prd by design of the seed; naming it
    # environment-specific makes verify demand a production client of its own.
    (broken / ".secretsync.yaml").write_text("verify:\n  env_specific: [AUTH0_CLIENT_ID]\n")
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal")
    problems = _fails_with(r, "env-leak", "push --set AUTH0_CLIENT_ID --config prd")
    assert any("same value as the dev config" in str(p["message"]) for p in problems)


def test_corrupt_store_fails_store(loop: Loop, broken: Path) -> None:
    store = broken / "gitops-platform/infrastructure/manifests/secret-stores/doppler-prd.yaml"
    text = store.read_text()
    store.write_text(text.replace("            namespace: external-secrets\n", ""))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal", "--offline")
    problems = _fails_with(r, "store", "exactly one of secretRef")
    assert any("namespace is required" in str(p["message"]) for p in problems)
    # A store the ExternalSecrets name that is not in the tree at all (in neither repository).
    store.write_text(text.replace("name: doppler-prd", "name: doppler-production"))
    other = broken / ("example-monorepo/modules/infrastructure/manifests/secret-stores/"
                      "doppler-prd.yaml")
    other.write_text(other.read_text().replace("name: doppler-prd", "name: doppler-production"))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal", "--offline")
    _fails_with(r, "store", "verify.stores")


def test_store_config_not_in_doppler_fails_store(loop: Loop, broken: Path) -> None:
    store = broken / "gitops-platform/infrastructure/manifests/secret-stores/doppler-prd.yaml"
    store.write_text(store.read_text().replace("config: prd", "config: prd_missing"))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal")
    problems = _fails_with(r, "store", "DOPPLER_TOKEN_PRD_MISSING")
    assert any("gaynance/prd_missing" in str(p["message"]) for p in problems)


def test_service_token_of_another_config_fails_store(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Per-config read-only tokens: DOPPLER_TOKEN_PRD wins over DOPPLER_TOKEN for prd.
    wrong = loop.srv.issue_token("service_token", project=PROJECT, config="dev", write=False)
    monkeypatch.setenv("DOPPLER_TOKEN_PRD", wrong)
    r = verify(loop.tree, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal")
    problems = _fails_with(r, "store", "DOPPLER_TOKEN_PRD")
    assert wrong not in r.out + r.err
    assert r.check("missing-remote")["status"] in ("pass", "not-checked")
    assert any("gaynance/prd" in str(p["message"]) for p in problems)


def test_read_only_service_tokens_per_config_pass(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOPPLER_TOKEN")
    for config in ("dev", "prd"):
        monkeypatch.setenv(f"DOPPLER_TOKEN_{config.upper()}", loop.srv.issue_token(
            "service_token", project=PROJECT, config=config, write=False))
    loop.srv.clear_log()
    r = verify(loop.tree, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal")
    assert r.code == 0, r.failing()
    assert {e.method for e in loop.srv.request_log} == {"GET"}


def test_invalid_external_secret_fails_schema(loop: Loop, broken: Path) -> None:
    es = broken / "gitops-platform/apps/dev/secretsync-example-ui-doppler.yaml"
    es.write_text(es.read_text().replace("key: AUTH0_CLIENT_ID", "key: auth0-client-id")
                  .replace("refreshInterval: \"1h\"", "refreshInterval: [1h]"))
    r = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--skip", "literal", "--offline")
    problems = _fails_with(r, "schema", "external-secrets.io/v1")
    messages = " ".join(str(p["message"]) for p in problems)
    assert "remoteRef.key is not a Doppler secret name" in messages
    assert "refreshInterval" in messages


@pytest.mark.skipif(shutil.which("kubectl") is None and not Path("/usr/bin/kubectl").exists(),
                    reason="kubectl is part of the CI image")
def test_broken_kustomization_fails_build(loop: Loop, broken: Path) -> None:
    k = broken / "gitops-platform/apps/prd/kustomization.yaml"
    k.write_text(k.read_text().replace("secretsync-example-ui-doppler.yaml",
                                       "secretsync-example-ui-doppler-gone.yaml"))
    r = verify(broken, "--baseline", str(loop.baseline), "--offline")
    problems = _fails_with(r, "build", "fix the kustomization")
    assert [p["path"] for p in problems] == ["gitops-platform/apps/prd/kustomization.yaml"]
    assert str(broken) not in r.out


def test_build_without_kubectl_is_not_checked_never_passed(loop: Loop, broken: Path) -> None:
    r = verify(broken, "--baseline", str(loop.baseline), "--offline", "--kubectl",
               str(broken / "no-kubectl"))
    assert r.code == 0
    build = r.check("build")
    assert build["status"] == "not-checked" and "kubectl not found" in build["summary"]
    eq = r.check("equivalence")
    assert eq["status"] == "not-checked" and "kubectl not found" in eq["summary"]
    strict = verify(broken, "--baseline", str(loop.baseline), "--offline", "--kubectl",
                    str(broken / "no-kubectl"), "--strict")
    assert strict.code == 1


def test_follow_up_fails_on_a_template_reading_a_rewritten_key(loop: Loop, broken: Path) -> None:
    """The rewrite apply no longer makes (an app-of-apps value read into an Application): done by
    hand, the follow-up check fails, naming the template, until the template reads it too."""
    tpl = broken / "gitops-platform/infrastructure/apps/templates/network/protected-services.yaml"
    values = broken / "gitops-platform/infrastructure/apps/values.yaml"
    # apply removed every reader of global.tailnet with it; a human puts one back and writes
    # the value as a reference.
    tpl.write_text(tpl.read_text().replace("parameters: []", (
        "parameters:\n        - name: tailnet\n"
        "          value: {{ .Values.global.tailnet | quote }}")))
    values.write_text(values.read_text().replace(
        "global:\n", "global:\n  tailnetSecretRef: {name: apps-doppler, key: TAILNET}\n"))
    before = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--offline",
                    "--check", "follow-up")
    assert before.code == 1 and before.check("follow-up")["status"] == "fail"
    mine = [p for p in before.check("follow-up")["problems"] if p["path"] == str(
        tpl.relative_to(broken))]
    assert mine and "global.tailnetSecretRef" in str(mine[0]["message"])
    for t in (broken / "gitops-platform/infrastructure/apps/templates").rglob("*.yaml"):
        t.write_text(t.read_text().replace(".Values.global.tailnet }}",
                                           ".Values.global.tailnetSecretRef.name }}")
                     .replace(".Values.global.tailnet |", ".Values.global.tailnetSecretRef.name |"))
    after = verify(broken, "--baseline", str(loop.baseline), "--skip", "build", "--offline",
                   "--check", "follow-up")
    assert not [p for p in after.check("follow-up")["problems"]
                if p["path"] == str(tpl.relative_to(broken))]
    assert after.check("follow-up")["status"] != "fail"
    # Only the selected check ran.
    assert [c["id"] for c in after.json()["checks"]] == ["follow-up"]
