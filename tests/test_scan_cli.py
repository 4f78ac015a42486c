"""The scan command end to end: exit codes, formats, suppression, baseline, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from secretsync.cli import run_cli

from .conftest import SHARED

VALUES = """\
global:
  tailnet: tail876052
  tailscale:
    clientId: k3r7wuCSzd11CNTRL
"""


def scan(*args: str) -> int:
    return run_cli(["scan", "--no-progress", *args])


def scan_json(tmp_path: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = tmp_path / "out.json"
    code = scan(*args, "--format", "json", "--output", str(out))
    return code, (json.loads(out.read_text()) if out.exists() else {})


def test_exit_0_when_clean(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({"a.yaml": "a: 1\nimage: nginx\n"})
    code, doc = scan_json(tmp_path, str(root))
    assert code == 0 and doc["findings"] == []


def test_exit_1_with_findings_and_json_contract(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({"apps/values.yaml": VALUES})
    code, doc = scan_json(tmp_path, str(root))
    assert code == 1
    f = {x["detector"]: x for x in doc["findings"]}
    client = f["tailscale-oauth-client-id"]
    assert client["path"] == "apps/values.yaml"
    assert (client["line"], client["column"]) == (4, 15)
    assert client["key_path"] == "global.tailscale.clientId"
    assert client["suggested_name"] == "TAILSCALE_CLIENT_ID"
    assert set(client) >= {"path", "line", "column", "key_path", "detector", "environments",
                           "fingerprint", "preview", "suggested_name"}
    assert "k3r7wuCSzd11CNTRL" not in json.dumps(doc)


def test_exit_2_on_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan(str(tmp_path / "missing")) == 2
    assert "no such file" in capsys.readouterr().err
    assert run_cli(["scan", "--format", "xml", str(tmp_path)]) == 2
    assert scan("--update-baseline", str(tmp_path)) == 2
    assert run_cli(["no-such-command"]) == 2


def test_exit_2_on_a_malformed_baseline(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({"values.yaml": VALUES})
    bad = tmp_path / "bl.json"
    bad.write_text("{not json")
    assert scan(str(root), "--baseline", str(bad)) == 2


def test_exit_3_on_a_bug_without_leaking(monkeypatch: pytest.MonkeyPatch, tree,  # type: ignore[no-untyped-def]
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = tree({"values.yaml": VALUES})

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("value k3r7wuCSzd11CNTRL in a message")

    monkeypatch.setattr("secretsync.commands.scan.run_scan", boom)
    assert run_cli(["--verbose", "scan", str(root)]) == 3
    err = capsys.readouterr().err
    assert "bug" in err and "k3r7wuCSzd11CNTRL" not in err and "RuntimeError" in err


def test_exit_130_on_ctrl_c(monkeypatch: pytest.MonkeyPatch, tree) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C while a command waits: exit 130 and a short message, no traceback. The process
    is interrupted only once it is blocked reading its stdin (so the CLI is fully loaded)."""
    env = {**os.environ, "DOPPLER_TOKEN": "dp.pt.canary", "DOPPLER_API_HOST": "http://127.0.0.1:9"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "secretsync", "push", "--set", "X", "--config", "prd",
         "--project", "p"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        # A shell's background job inherits SIGINT ignored, and Python then installs no handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # read(2) on x86_64 and aarch64, on fd 0: start-up reads module files too (other fds), and
    # a SIGINT then lands inside the import system, before the CLI can map it to 130.
    read_syscalls = {"0", "63"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/syscall") as fh:
            fields = fh.read().split()
        if len(fields) > 1 and fields[0] in read_syscalls and int(fields[1], 16) == 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err and b"canary" not in err
    # In-process too: KeyboardInterrupt anywhere in a command maps to 130.
    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("secretsync.commands.scan.run_scan", interrupted)
    assert scan(str(tree({"a.yaml": VALUES}))) == 130


def test_sarif_validates_and_fingerprints_survive_line_moves(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
    root = tree({"values.yaml": VALUES})
    out = tmp_path / "a.sarif"
    assert scan(str(root), "--format", "sarif", "--output", str(out)) == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, schema)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"tailscale-tailnet", "tailscale-oauth-client-id"}
    assert "k3r7wuCSzd11CNTRL" not in out.read_text()
    before = {r["ruleId"]: r["partialFingerprints"] for r in results}
    (root / "values.yaml").write_text("# a new comment\n\n" + VALUES)
    assert scan(str(root), "--format", "sarif", "--output", str(out)) == 1
    moved = json.loads(out.read_text())["runs"][0]["results"]
    assert {r["ruleId"]: r["partialFingerprints"] for r in moved} == before
    assert moved[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4


def test_table_groups_by_secret(tree, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    root = tree({"a/values.yaml": VALUES, "b/values.yaml": VALUES})
    assert scan(str(root)) == 1
    out = capsys.readouterr().out
    assert "2 secrets in 4 places" in out
    assert "TAILSCALE_CLIENT_ID" in out and "k3r7wuCSzd11CNTRL" not in out


def test_inline_suppression_by_id(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({"values.yaml": (
        "a:\n  tailnet: tail876052  # secretsync:ignore[tailscale-tailnet]\n"
        "  # secretsync:ignore\n  clientId: k3r7wuCSzd11CNTRL\n"
        "  other: tail123abc  # secretsync:ignore[auth0-domain]\n")})
    code, doc = scan_json(tmp_path, str(root))
    assert code == 1
    assert [(f["line"], f["detector"]) for f in doc["findings"]] == [(5, "tailscale-tailnet")]
    assert doc["stats"]["suppressed_inline"] == 2


def test_baseline_survives_moves_and_reports_new_values(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({"values.yaml": VALUES})
    bl = tmp_path / "baseline.json"
    assert scan(str(root), "--baseline", str(bl), "--update-baseline") == 0
    text = bl.read_text()
    assert "tail876052" not in text and "876052" not in text and "k3r7wu" not in text
    assert len(json.loads(text)["entries"]) == 2
    assert scan(str(root), "--baseline", str(bl)) == 0
    (root / "values.yaml").write_text("# moved\n\n\n" + VALUES)
    assert scan(str(root), "--baseline", str(bl)) == 0
    (root / "values.yaml").write_text(VALUES.replace("tail876052", "tail99aa01"))
    code, doc = scan_json(tmp_path, str(root), "--baseline", str(bl))
    assert code == 1 and [f["detector"] for f in doc["findings"]] == ["tailscale-tailnet"]
    assert doc["stats"]["baselined"] == 1


def test_bad_input_classes_are_reported_and_the_scan_goes_on(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({
        "bin.yaml": b"\x00\x01\x02binary",
        "latin1.yaml": "tailnet: tail876052 caf\xe9\n".encode("latin-1"),
        "bad.yaml": "a: [\n  tailnet: tail876052\n",
        "tabs.yaml": "a:\n\tb: 1\n",
        "big.yaml": "a: " + "x" * 5000 + "\n",
        "crlf.yaml": VALUES.replace("\n", "\r\n"),
        "bom.yaml": "\ufeff" + VALUES,
        "tags.yaml": "a: !env_var FOO\nb: !!python/name:os.system ''\n",
        "dup.yaml": "a: 1\na: 2\n",
    })
    outside = tmp_path / "outside.yaml"
    outside.write_text(VALUES)
    os.symlink(outside, root / "link-out.yaml")
    os.symlink(root, root / "loop")
    code, doc = scan_json(tmp_path, str(root), "--max-file-size", "4096")
    warnings = "\n".join(doc["warnings"])
    assert code == 1
    assert "bin.yaml: binary" in warnings
    assert "latin1.yaml: not valid UTF-8" in warnings
    assert "bad.yaml: does not parse as YAML" in warnings
    assert "big.yaml: larger than" in warnings
    assert "link-out.yaml: symlink pointing outside" in warnings
    assert "loop: directory symlink not followed" in warnings
    found = {(f["path"], f["detector"]) for f in doc["findings"]}
    assert ("bad.yaml", "tailscale-tailnet") in found
    assert ("crlf.yaml", "tailscale-oauth-client-id") in found
    assert ("bom.yaml", "tailscale-oauth-client-id") in found
    assert ("latin1.yaml", "tailscale-tailnet") in found
    assert not any(p.startswith(("link-out", "loop/")) for p, _ in found)
    assert "tail876052" not in warnings


def test_parallel_and_serial_scans_agree(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tree({f"d{i}/values-{'dev' if i % 2 else 'prd'}.yaml": VALUES for i in range(300)})
    c1, serial = scan_json(tmp_path, str(root), "-j", "1")
    c2, parallel = scan_json(tmp_path, str(root), "-j", "2")
    assert c1 == c2 == 1
    assert serial["findings"] == parallel["findings"] and len(serial["findings"]) == 600


def test_other_places_of_a_found_value_are_reported(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uuid = "f6746974-5104-49ef-beed-c66a048f5062"
    root = tree({
        "dns.yaml": f"cloudflare:\n  tunnelId: {uuid}\n  targets: [{uuid}.cfargotunnel.com]\n",
        "release.yaml": f"args:\n  - tunnel\n  - run\n  - \"{uuid}\"\n",
        "other.yaml": f"note: x{uuid}y\nsecretName: {uuid}\n",
        "acct.yaml": "cloudflare:\n  accountId: 4aa95df965d3bc2bfaabe9012a35857c\n"
                     "s3: https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com\n",
    })
    code, doc = scan_json(tmp_path, str(root))
    assert code == 1
    got = sorted((f["path"], f["line"], f["detector"]) for f in doc["findings"])
    assert got == [
        ("acct.yaml", 2, "cloudflare-account-id"),
        ("acct.yaml", 3, "cloudflare-r2-endpoint"),  # the account id inside is not repeated
        ("dns.yaml", 2, "cloudflare-tunnel-id"),
        ("dns.yaml", 3, "cloudflare-tunnel-id"),
        ("release.yaml", 4, "cloudflare-tunnel-id"),  # a bare argument: known from dns.yaml
    ]  # not inside a longer word, not under a reference key
    bare = next(f for f in doc["findings"] if f["path"] == "release.yaml")
    assert bare["key_path"] == "args[2]" and "dns.yaml:2" in bare["message"]
    assert len({f["secret"] for f in doc["findings"] if "tunnel" in f["detector"]}) == 1
    # The bare argument's key (`args`) does not name the secret; the place with context does.
    assert {f["suggested_name"] for f in doc["findings"] if "tunnel" in f["detector"]} == {
        "CLOUDFLARE_TUNNEL_ID"}
