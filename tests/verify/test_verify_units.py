"""verify on small trees, with a fake DopplerAPI where Doppler matters: reference resolution,
settings, suppressions, env-leak rules, and that exceptions and outputs never hold a value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from secretsync.doppler.interface import (
    ChangeRequest,
    ConfigInfo,
    DopplerAPI,
    ProjectInfo,
    TokenInfo,
)
from secretsync.errors import ConfigError
from secretsync.verify import CheckId, Status, VerifyOptions, fixed_factory, run_verify
from secretsync.verify.render import render
from secretsync.verify.settings import parse
from tests.verify.helpers import cli

STORE = """\
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: doppler-{env}
spec:
  provider:
    doppler:
      project: app
      config: {env}
      auth:
        secretRef:
          dopplerToken: {{name: doppler-token-{env}, key: dopplerToken, namespace: eso}}
"""
ES = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: api-doppler
spec:
  secretStoreRef: {{kind: ClusterSecretStore, name: doppler-{env}}}
  target: {{name: api-doppler}}
  data:
    - secretKey: AUTH0_DOMAIN
      remoteRef: {{key: AUTH0_DOMAIN}}
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: api
          env:
            - name: AUTH0_DOMAIN
              valueFrom:
                secretKeyRef: {name: api-doppler, key: AUTH0_DOMAIN}
"""


def _tree(make, **extra: str):  # type: ignore[no-untyped-def]
    files = {
        "stores/dev.yaml": STORE.format(env="dev"),
        "stores/prd.yaml": STORE.format(env="prd"),
        "overlays/dev/es.yaml": ES.format(env="dev"),
        "overlays/prd/es.yaml": ES.format(env="prd"),
        "base/deploy.yaml": DEPLOY,
    }
    files.update(extra)
    return make(files)


class FakeDoppler(DopplerAPI):
    """Values live here only; records which names were read."""

    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self.data = data
        self.reads: list[tuple[str, tuple[str, ...]]] = []

    def me(self) -> TokenInfo:
        return TokenInfo("personal", "t", "t", "w", "w")

    def list_projects(self) -> Sequence[ProjectInfo]:
        return [ProjectInfo("app", "app")]

    def list_configs(self, project: str) -> Sequence[ConfigInfo]:
        return [ConfigInfo(project, c, c, True) for c in self.data]

    def secret_names(self, project: str, config: str) -> frozenset[str]:
        return frozenset(self.data[config])

    def get_values(self, project: str, config: str, names: Iterable[str]) -> dict[str, str]:
        wanted = tuple(names)
        self.reads.append((config, wanted))
        return {n: self.data[config][n] for n in wanted if n in self.data[config]}

    def write(self, project: str, config: str, change_requests: Sequence[ChangeRequest]) -> None:
        raise AssertionError("verify never writes")


def _run(root: Path, fake: FakeDoppler | None = None, **kw: object):  # type: ignore[no-untyped-def]
    opts = VerifyOptions(offline=fake is None, skip=frozenset({CheckId.BUILD}), **kw)  # type: ignore[arg-type]
    factory = (lambda: fixed_factory(lambda _ref: fake)) if fake is not None else None
    return run_verify(root, opts, api_factory=factory)


def test_clean_small_tree_passes_offline(tree) -> None:  # type: ignore[no-untyped-def]
    report = _run(_tree(tree))
    assert report.passed, [(r.id, r.problems) for r in report.failed()]
    assert report.result(CheckId.MISSING_REMOTE).status is Status.SKIPPED


def test_wrong_key_and_unknown_secret(tree) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tree, **{"base/deploy.yaml": DEPLOY.replace("key: AUTH0_DOMAIN", "key: DOMAIN")
                          + "---\n" + DEPLOY.replace("name: api-doppler", "name: nowhere")
                          .replace("name: api}", "name: api2}")})
    r = _run(root).result(CheckId.UNRESOLVED_REF)
    assert r.status is Status.FAIL
    msgs = sorted(p.message for p in r.problems)
    assert "no key DOMAIN" in msgs[0] and "(it has: AUTH0_DOMAIN)" in msgs[0]
    assert msgs[1].startswith("Secret nowhere")
    assert all(p.path == "base/deploy.yaml" and p.line > 0 for p in r.problems)


def test_cnpg_secret_and_declared_external_resolve(tree) -> None:  # type: ignore[no-untyped-def]
    cnpg = ("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: db}\n"
            "spec: {instances: 1}\n")
    refs = DEPLOY.replace("name: api-doppler, key: AUTH0_DOMAIN", "name: db-app, key: password")
    refs += "---\n" + DEPLOY.replace("name: api-doppler", "name: pull-secret").replace(
        "name: api}", "name: api3}")
    root = _tree(tree, **{"db.yaml": cnpg, "base/more.yaml": refs,
                          ".secretsync.yaml": "verify:\n  external_secrets: [pull-secret]\n"})
    assert _run(root).result(CheckId.UNRESOLVED_REF).status is Status.PASS
    wrong_key = refs.replace("key: password", "key: passwd")
    (root / "base/more.yaml").write_text(wrong_key)
    problems = _run(root).result(CheckId.UNRESOLVED_REF).problems
    assert len(problems) == 1 and "no key passwd" in problems[0].message


def test_inline_suppression_by_check_id(tree) -> None:  # type: ignore[no-untyped-def]
    deploy = DEPLOY.replace("                secretKeyRef: {name: api-doppler",
                            "                # secretsync:ignore[unresolved-ref]\n"
                            "                secretKeyRef: {name: elsewhere")
    root = _tree(tree, **{"base/deploy.yaml": deploy})
    r = _run(root).result(CheckId.UNRESOLVED_REF)
    assert r.status is Status.PASS and r.suppressed == 1
    # Another check's id does not suppress it.
    (root / "base/deploy.yaml").write_text(deploy.replace("[unresolved-ref]", "[store]"))
    assert _run(root).result(CheckId.UNRESOLVED_REF).status is Status.FAIL


def test_prd_external_secret_on_the_dev_store_fails_store(tree) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tree, **{"overlays/prd/es.yaml": ES.format(env="dev")})
    r = _run(root).result(CheckId.STORE)
    assert r.status is Status.FAIL
    assert "is for prd but reads doppler-dev" in r.problems[0].message
    assert "config prd" in r.problems[0].fix


def test_missing_remote_reads_names_only(tree) -> None:  # type: ignore[no-untyped-def]
    fake = FakeDoppler({"dev": {"AUTH0_DOMAIN": "dev-x.us.auth0.com"}, "prd": {}})
    report = _run(_tree(tree), fake, only=frozenset({CheckId.MISSING_REMOTE}))
    r = report.result(CheckId.MISSING_REMOTE)
    assert r.status is Status.FAIL
    assert [p.subject for p in r.problems] == ["app/prd/AUTH0_DOMAIN"]
    assert "secretsync push --set AUTH0_DOMAIN --config prd --project app" in r.problems[0].fix
    assert fake.reads == []  # no value was read for this check


@pytest.mark.parametrize(("prd", "why"), [
    ("dev-x.us.auth0.com", "same value as the dev config"),
    ("staging-y.us.auth0.com", "dev-looking value"),
    ("prod-z.eu.auth0.com", None),
])
def test_env_leak_compares_keyed_hashes(tree, prd: str, why: str | None) -> None:  # type: ignore[no-untyped-def]
    fake = FakeDoppler({"dev": {"AUTH0_DOMAIN": "dev-x.us.auth0.com"},
                        "prd": {"AUTH0_DOMAIN": prd}})
    report = _run(_tree(tree), fake, only=frozenset({CheckId.ENV_LEAK}))
    r = report.result(CheckId.ENV_LEAK)
    if why is None:
        assert r.status is Status.PASS
    else:
        assert r.status is Status.FAIL and why in r.problems[0].message
        assert "--overwrite" in r.problems[0].fix
    for fmt in ("table", "json", "sarif"):
        text = render(report, fmt)
        assert prd not in text and "dev-x" not in text


def test_ids_are_not_environment_specific_unless_configured(tree) -> None:  # type: ignore[no-untyped-def]
    es = ES.replace("AUTH0_DOMAIN", "CHAT_ID")
    deploy = DEPLOY.replace("AUTH0_DOMAIN", "CHAT_ID")
    files = {"overlays/dev/es.yaml": es.format(env="dev"), "overlays/prd/es.yaml":
             es.format(env="prd"), "base/deploy.yaml": deploy}
    fake = FakeDoppler({"dev": {"CHAT_ID": "-100123"}, "prd": {"CHAT_ID": "-100123"}})
    root = _tree(tree, **files)
    assert _run(root, fake).result(CheckId.ENV_LEAK).status is Status.PASS
    (root / ".secretsync.yaml").write_text("verify:\n  env_specific: [CHAT_ID]\n")
    r = _run(root, fake).result(CheckId.ENV_LEAK)
    assert r.status is Status.FAIL and "CHAT_ID in Doppler app/prd" in r.problems[0].message


def test_settings_reject_unknown_ids_and_keys() -> None:
    with pytest.raises(ConfigError, match="not a check id"):
        parse({"skip": ["literals"]})
    with pytest.raises(ConfigError, match="unknown verify setting"):
        parse({"skipp": []})
    with pytest.raises(ConfigError, match="not a Doppler name"):
        parse({"env_specific": ["lower"]})
    s = parse({"skip": ["build"], "stores": ["shared"]})
    assert s.skip == {CheckId.BUILD} and "shared" in s.stores


def test_config_skip_and_cli_exit_codes(tree) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tree, **{".secretsync.yaml": "verify:\n  skip: [build, follow-up]\n"})
    r = cli(["verify", str(root), "--offline", "--format", "json"])
    assert r.code == 0
    ids = [c["id"] for c in r.json()["checks"]]
    assert "build" not in ids and "follow-up" not in ids and "literal" in ids
    (root / ".secretsync.yaml").write_text("verify:\n  skip: [nope]\n")
    assert cli(["verify", str(root), "--offline"]).code == 2
    assert cli(["verify", str(root / "missing"), "--offline"]).code == 2
    assert cli(["verify", str(root), "--check", "bogus"]).code == 2


def test_unexpected_error_exits_3_without_the_message(tree, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tree)

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("dev-x.us.auth0.com")

    monkeypatch.setattr("secretsync.verify.checks.unresolved_ref", boom)
    r = cli(["verify", str(root), "--offline"])
    assert r.code == 3 and "dev-x" not in r.out + r.err
