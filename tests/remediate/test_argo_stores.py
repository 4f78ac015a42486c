"""Stores and environments: apply pushes only to a project the tree's stores read, and plan
never guesses which environment's store a chart with one values file for several reads."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from secretsync.testing import DopplerTestServer

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("regen_golden", REPO / "scripts" /
                                               "regen_golden.py")
assert _spec is not None and _spec.loader is not None
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)

TOKEN = "7384915026:AAGx7Hq2Lm9Zr4Vt8Ny1Kc6Bw3Pd5Jf0EsQ"
STORE = """apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: doppler-{env}
spec:
  provider:
    doppler:
      project: shop
      config: {env}
      auth:
        secretRef:
          dopplerToken: {{name: doppler-token, key: dopplerToken, namespace: external-secrets}}
"""


def test_apply_refuses_a_project_no_store_reads_before_pushing(tmp_path: Path) -> None:
    tree = regen.copy_examples(tmp_path / "examples")
    before = regen.tree_files(tree)
    with regen.doppler_env() as srv:
        assert isinstance(srv, DopplerTestServer)
        srv.add_project("platform")
        proc = subprocess.run([sys.executable, "-m", "secretsync", "apply", str(tree),
                               "--project", "platform"], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert "no Doppler store in the tree reads project platform" in proc.stderr
        assert "gaynance" in proc.stderr
        for config in ("dev", "stg", "prd"):
            assert srv.secrets("platform", config) == {}
    assert regen.tree_files(tree) == before


def _chart_tree(root: Path) -> Path:
    (root / "stores").mkdir(parents=True)
    for env in ("dev", "prd"):
        (root / "stores" / f"doppler-{env}.yaml").write_text(STORE.format(env=env))
    chart = root / "charts" / "bot"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bot\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(
        f"env:\n  - name: TELEGRAM_BOT_TOKEN\n    value: \"{TOKEN}\"\n")
    (chart / "templates" / "deployment.yaml").write_text("env: {{ toYaml .Values.env }}\n")
    return root


def test_plan_asks_which_store_instead_of_guessing_prd(tmp_path: Path) -> None:
    tree = _chart_tree(tmp_path / "tree")
    code, out = regen.run(["plan", str(tree), "--project", "shop", "--offline"])
    assert code == 2, out
    assert "doppler-prd" not in out
    (tree / ".secretsync.yaml").write_text("secrets:\n  default_environment: dev\n")
    code, out = regen.run(["plan", str(tree), "--project", "shop", "--offline"])
    assert code == 0
    assert "ClusterSecretStore/doppler-dev" in out
