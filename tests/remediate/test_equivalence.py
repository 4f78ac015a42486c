"""The equivalence check on the Flux platform fixture: after apply every cluster renders the same
effective configuration (the env leak shows as an intended change), and each kind of break is
reported by object and field, never by value."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from secretsync.remediate import check
from secretsync.remediate.render import Result
from secretsync.testing import DopplerTestServer
from tests.remediate.test_examples import regen
from tests.remediate.test_flux_platform import VALUES

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is part of the CI image")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Path, DopplerTestServer]]:
    tree = regen.copy_flux(tmp_path_factory.mktemp("eq") / "flux-platform")
    with regen.doppler_env() as srv:
        regen.remediate(tree, regen.FLUX_PROJECT)
        assert isinstance(srv, DopplerTestServer)
        yield tree, srv


def _equivalence(after: Path, srv: DopplerTestServer, offline: bool = False) -> Result:
    values = None if offline else (lambda c: srv.secrets(regen.FLUX_PROJECT, c))
    return check.run(regen.FLUX, after, values, KUBECTL)


def _broken(applied: tuple[Path, DopplerTestServer], tmp_path: Path, rel: str, old: str,
            new: str) -> Path:
    tree, _ = applied
    copy = tmp_path / "broken"
    shutil.copytree(tree, copy)
    path = copy / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return copy


def _where(result: Result) -> set[str]:
    return {f"{d.cluster}:{d.kind}/{d.name}:{d.field}" for d in result.differences}


def test_equivalent_after_apply(applied: tuple[Path, DopplerTestServer]) -> None:
    tree, srv = applied
    r = _equivalence(tree, srv)
    assert r.clusters == ("dev", "prd")
    assert r.differences == ()
    # The env leak: prd's billing AUTH0_DOMAIN waits for a human; not a failure.
    assert [str(d) for d in r.intended] == [
        "prd: HelmRelease billing/billing spec.values.env[0].value: intended change (a value "
        "a human sets: env leak)"]
    assert _equivalence(tree, srv, offline=True).differences == ()


def test_after_the_human_step_the_leak_is_still_intended(
        applied: tuple[Path, DopplerTestServer]) -> None:
    tree, srv = applied
    # `secretsync push --set AUTH0_DOMAIN --config prd` (the tests below run after it too).
    srv.set_secret(regen.FLUX_PROJECT, "prd", "AUTH0_DOMAIN", "homelab-prd.eu.auth0.com")
    r = _equivalence(tree, srv)
    assert r.differences == ()
    assert [d.field for d in r.intended] == ["spec.values.env[0].value"]


def test_chat_id_delivered_as_a_string(applied: tuple[Path, DopplerTestServer],
                                       tmp_path: Path) -> None:
    after = _broken(applied, tmp_path,
                    "infrastructure/controllers/kube-prometheus-stack/helmrelease.yaml",
                    "valuesKey: TELEGRAM_CHAT_ID\n", "valuesKey: TELEGRAM_CHAT_ID\n"
                    "      literal: true\n")
    r = _equivalence(after, applied[1])
    field = ("HelmRelease/kube-prometheus-stack:spec.values.alertmanager.config.receivers[1]."
             "telegram_configs[0].chat_id")
    assert _where(r) == {f"dev:{field}", f"prd:{field}"}
    assert all("type differs (int before, str after)" in d.what for d in r.differences)


def test_secret_in_the_wrong_namespace(applied: tuple[Path, DopplerTestServer],
                                       tmp_path: Path) -> None:
    after = _broken(applied, tmp_path, "apps/dev/secretsync-shop-doppler.yaml",
                    "namespace: shop", "namespace: default")
    r = _equivalence(after, applied[1])
    assert "dev:HelmRelease/shop:spec.values.env[1].value" in _where(r)
    assert all(d.cluster == "dev" for d in r.differences)
    offline = _equivalence(after, applied[1], offline=True)
    assert any(d.kind == "HelmRelease" and d.name == "shop" and "another namespace" in d.what
               for d in offline.differences)


def test_variable_no_secret_defines(applied: tuple[Path, DopplerTestServer],
                                    tmp_path: Path) -> None:
    after = _broken(applied, tmp_path, "apps/base/shop/ingress.yaml",
                    "${TAILSCALE_TAILNET}", "${TAILSCALE_TAILNET_TYPO}")
    for offline in (False, True):
        r = _equivalence(after, applied[1], offline=offline)
        undefined = [d for d in r.differences if "undefined variable TAILSCALE_TAILNET_TYPO"
                     in d.what]
        assert {(d.cluster, d.kind, d.name) for d in undefined} == {
            ("dev", "Ingress", "shop"), ("prd", "Ingress", "shop")}


def test_wrong_value_in_doppler(applied: tuple[Path, DopplerTestServer]) -> None:
    tree, srv = applied
    srv.set_secret(regen.FLUX_PROJECT, "prd", "TAILSCALE_TAILNET", "tail000000")
    try:
        r = _equivalence(tree, srv)
    finally:
        srv.set_secret(regen.FLUX_PROJECT, "prd", "TAILSCALE_TAILNET", "tail4c21e9")
    where = _where(r)
    assert "prd:Ingress/shop:spec.rules[0].host" in where
    assert ("prd:HelmRelease/kube-prometheus-stack:spec.values.grafana.grafana.ini.server."
            "root_url") in where
    assert not any(w.startswith("dev:") for w in where)
    # Places and kinds of difference only: no value in any message.
    text = "\n".join(str(d) for d in r.differences)
    for value in (*VALUES, "tail000000"):
        assert value not in text


def _git(tree: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-C", str(tree), "-c", "user.email=t@example.com", "-c",
                    "user.name=t", *args], capture_output=True, check=True, timeout=60)


def test_verify_exits_0_after_the_human_step_and_1_naming_the_field(tmp_path: Path) -> None:
    tree = regen.copy_flux(tmp_path / "flux-platform")
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-qm", "before")
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        assert regen.run(["apply", str(tree)])[0] == 0
        # The printed human step for the env leak.
        srv.set_secret(regen.FLUX_PROJECT, "prd", "AUTH0_DOMAIN", "homelab-prd.eu.auth0.com")
        code, out = regen.run(["verify", str(tree)])
        assert code == 0, out
        assert "every cluster runs the same configuration" in out
        # A second apply changes nothing.
        assert "nothing to do" in regen.run(["apply", str(tree)])[1]
        srv.set_secret(regen.FLUX_PROJECT, "dev", "TELEGRAM_CHAT_ID", "-1000000000001")
        code, out = regen.run(["verify", str(tree), "--check", "equivalence"])
    assert code == 1
    assert ("dev: HelmRelease monitoring/kube-prometheus-stack spec.values.alertmanager.config."
            "receivers[1].telegram_configs[0].chat_id: value differs") in " ".join(out.split())
    assert "-1000000000001" not in out and "-1002873541906" not in out


def _run_err(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    from secretsync.cli import run_cli

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = run_cli(argv)
    return code, err.getvalue()


def test_apply_refuses_a_change_that_is_not_equivalent(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A remediation that would deliver the chat id as a string is refused before anything is
    pushed or written; --allow-changes writes it anyway."""
    from secretsync.remediate import base

    monkeypatch.setattr(base.Place, "typed", property(lambda self: "str"))
    tree = regen.copy_flux(tmp_path / "flux-platform")
    before = regen.tree_files(tree)
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        code, err = _run_err(["apply", str(tree), "--dry-run"])
        assert code == 0
        assert ("differs: dev: HelmRelease monitoring/kube-prometheus-stack spec.values."
                "alertmanager.config.receivers[1].telegram_configs[0].chat_id: type differs "
                "(int before, str after)") in err
        code, err = _run_err(["apply", str(tree)])
        assert code == 2
        assert "would alter what the clusters run" in err and "--allow-changes" in err
        assert "-1002873541906" not in err
        assert regen.tree_files(tree) == before
        assert srv.secrets(regen.FLUX_PROJECT, "dev") == {}
        code, _ = regen.run(["apply", str(tree), "--allow-changes"])
        assert code == 0
        assert regen.tree_files(tree) != before
