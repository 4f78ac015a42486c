"""The CI recipes in examples/ci/ and the pre-commit hook at the repository root: each parses, and
every `secretsync` command line they run names a real command with real options (and the cheap
ones really run, on a small tree)."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.verify.helpers import REPO, cli

CI = REPO / "examples" / "ci"


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _commands(lines: Iterator[str]) -> list[list[str]]:
    out = []
    for text in lines:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("secretsync "):
                out.append(shlex.split(line)[1:])
    return out


def _options_of(verb: str) -> set[str]:
    r = cli([verb, "--help"])
    assert r.code == 0, f"`secretsync {verb}` does not exist"
    return set(re.findall(r"(--[a-z][a-z-]+)", r.out))


def _assert_real(argv: list[str]) -> None:
    verb, rest = argv[0], argv[1:]
    known = _options_of(verb)
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=")[0] in known, f"secretsync {verb} has no option {arg}"


def _github() -> dict[str, Any]:
    doc: dict[str, Any] = _load(CI / "github-actions.yml")
    return doc


def _runs(job: dict[str, Any]) -> Iterator[str]:
    for step in job["steps"]:
        if "run" in step:
            yield str(step["run"])


def test_github_workflow_triggers_and_permissions() -> None:
    wf = _github()
    # YAML 1.1 reads the key `on` as True.
    on = wf.get("on", wf.get(True))
    assert "pull_request" in on and on["push"]["tags"]
    assert wf["permissions"] == {"contents": "read"}
    scan, verify = wf["jobs"]["scan"], wf["jobs"]["verify"]
    assert "pull_request" in scan["if"] and "refs/tags/" in verify["if"]
    assert scan["permissions"]["security-events"] == "write"


def test_github_scan_uploads_the_sarif_it_writes() -> None:
    scan = _github()["jobs"]["scan"]
    (cmd,) = [c for c in _commands(_runs(scan)) if c[0] == "scan"]
    out = cmd[cmd.index("--output") + 1]
    assert cmd[cmd.index("--format") + 1] == "sarif"
    upload = next(s for s in scan["steps"] if "upload-sarif" in str(s.get("uses")))
    assert upload["with"]["sarif_file"] == out
    assert upload["if"] == "always()"  # scan exits 1 on findings: upload regardless
    # No Doppler token in a pull request job: forks have none.
    assert "DOPPLER" not in str(scan)


def test_github_verify_uses_read_only_tokens_from_secrets() -> None:
    verify = _github()["jobs"]["verify"]
    step = next(s for s in verify["steps"] if "secretsync verify" in str(s.get("run")))
    for name, value in step["env"].items():
        assert name.startswith("DOPPLER_TOKEN_")
        assert re.fullmatch(r"\$\{\{ secrets\.DOPPLER_TOKEN_[A-Z]+ \}\}", value)
    (cmd,) = _commands(iter([step["run"]]))
    assert "--offline" not in cmd
    assert any("setup-kubectl" in str(s.get("uses")) for s in verify["steps"])


def test_gitlab_jobs_parse_and_gate_on_tags() -> None:
    doc = _load(CI / "gitlab-ci.yml")
    assert doc["stages"] == ["test", "release-gate"]
    assert doc["secretsync-scan"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert doc["secretsync-verify"]["rules"][0]["if"] == "$CI_COMMIT_TAG"
    assert "DOPPLER_TOKEN" not in str(doc["secretsync-verify"]["script"])  # from CI variables


def test_pre_commit_hook_at_the_root_runs_scan() -> None:
    hooks = _load(REPO / ".pre-commit-hooks.yaml")
    (hook,) = hooks
    assert hook["id"] == "secretsync-scan" and hook["language"] == "python"
    entry = shlex.split(hook["entry"])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry[0] in scripts  # pre-commit installs the package and runs its script
    assert entry[1] == "scan"
    _assert_real(entry[1:])
    config = _load(CI / ".pre-commit-config.yaml")
    used = config["repos"][0]["hooks"][0]
    assert used["id"] == hook["id"]
    _assert_real(["scan", *used["args"]])


def _all_commands() -> list[list[str]]:
    wf = _github()
    gl = _load(CI / "gitlab-ci.yml")
    lines = [s for job in wf["jobs"].values() for s in _runs(job)]
    lines += [str(x) for job in ("secretsync-scan", "secretsync-verify") for x in
              gl[job].get("script", [])]
    return _commands(iter(lines))


@pytest.mark.parametrize("argv", _all_commands(), ids=lambda a: " ".join(a[:2]))
def test_every_command_line_is_real(argv: list[str]) -> None:
    _assert_real(argv)


def test_pull_request_gates_read_the_config_from_the_target_branch() -> None:
    """Issue 12 §2.9: a pull request's own .secretsync.yaml must not decide its gate."""
    offline = [c for c in _all_commands() if c[0] == "verify" and "--offline" in c]
    assert len(offline) == 2
    for argv in offline:
        assert argv[argv.index("--config-from") + 1] == "FETCH_HEAD", argv
    wf = _github()
    runs = [s["run"] for s in wf["jobs"]["scan"]["steps"] if "run" in s]
    assert any(r.startswith("git fetch") and "$GITHUB_BASE_REF" in r for r in runs)
    gl = _load(CI / "gitlab-ci.yml")["secretsync-scan"]["script"]
    assert any(s.startswith("git fetch") and "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" in s
               for s in gl)


def test_the_offline_command_lines_run(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The pull-request commands, run as written on a clean tree (a git repository whose
    FETCH_HEAD is the target branch): both exit 0."""
    import subprocess

    root = tree({"app/values.yaml": "image: nginx\nreplicas: 2\n",
                 ".secretsync.yaml": "project: demo\n"})
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "HOME": str(tmp_path),
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "PATH": "/usr/bin:/bin"}
    for git in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"], ["fetch", "-q", ".",
                                                                          "HEAD"]):
        subprocess.run(["git", "-C", str(root), *git], check=True, capture_output=True, env=env)
    baseline = root / ".secretsync-baseline.json"
    assert cli(["scan", str(root), "--no-progress", "--baseline", str(baseline),
                "--update-baseline"]).code == 0
    ran = 0
    for argv in _all_commands():
        if argv[0] == "verify" and "--offline" not in argv:
            continue  # needs Doppler: covered by test_verify_loop
        args = [str(root) if a == "." else a for a in argv]
        args = [str(root / a) if a.endswith((".sarif", ".json")) else a for a in args]
        r = cli(args)
        assert r.code == 0, (argv, r.err[-300:])
        ran += 1
    assert ran >= 4
