"""secretsync.coercion converts plain option values exactly as typer's pydantic path does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from secretsync.cli import app
from secretsync.coercion import PlainParam

_SAMPLES: dict[str, list[Any]] = {
    "int": ["0", "8", "-3", "+4", "007", "abc", "1.5", "", " 5", 12],
    "str": ["x", "", "a b", "*.yaml"],
    "Path": ["x.yaml", ".", "/", "no/such/dir", Path("p")],
    "bool": [True, False],
}


def _params() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    out: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        name, cmd = stack.pop()
        out.extend((f"{name} {p.name}", p) for p in cmd.params)
        stack.extend((f"{name} {n}", c) for n, c in getattr(cmd, "commands", {}).items())
    return out


def _coerce(rt: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        return "ok", rt.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()


def test_every_plain_parameter_converts_as_typer_does() -> None:
    checked = 0
    for label, param in _params():
        param._runtime_param = None
        fast = param.get_runtime_param()
        if not isinstance(fast, PlainParam):
            continue
        slow = build_runtime_param(param.type_descriptor)
        ctx = Context(typer.main.get_command(app))
        ann = param.type_descriptor.annotation
        leaf = getattr(ann, "__args__", (ann,))[0]
        kind = getattr(leaf, "__name__", "")
        samples = _SAMPLES.get(kind) or [m.value for m in leaf] + ["nope"]
        multi = param.multiple or param.nargs == -1
        for v in samples:
            value = (v, v) if multi else v
            assert _coerce(fast, value, param, ctx) == _coerce(slow, value, param, ctx), (label, v)
            checked += 1
    assert checked > 50


def test_scan_imports_neither_pydantic_nor_requests_nor_rich(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "a.yaml").write_text("a: 1\n")
    code = ("import sys; from secretsync.cli import run_cli; "
            f"run_cli(['scan', '--no-progress', '-f', 'json', '-o', {str(tmp_path / 'r')!r}, "
            f"{str(tmp_path)!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'urllib3', 'rich') or m.startswith(('detect_secrets.core.scan', "
            "'detect_secrets.filters'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_detect_secrets_still_works_whole_after_a_scan_deferred_its_init(tmp_path: Path) -> None:
    """The scan leaves detect_secrets' package `__init__` unrun; the first name asked of the
    package runs it, and detect-secrets then scans as usual in the same process."""
    import subprocess

    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "k.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    code = ("import sys; from secretsync.cli import run_cli; "
            f"run_cli(['scan', '--no-progress', '-f', 'json', '-o', {str(tmp_path / 'r')!r}, "
            f"{str(tmp_path)!r}]); "
            "from detect_secrets import SecretsCollection; "
            "from detect_secrets.settings import default_settings; "
            "c = SecretsCollection()\n"
            "with default_settings():\n"
            f"    c.scan_file({str(tmp_path / 'k.pem')!r})\n"
            "print(sorted(s.type for _, s in c))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['Private Key']"


@pytest.mark.parametrize("value", ["-1", "x"])
def test_bad_jobs_value_is_still_typers_usage_error(value: str) -> None:
    from secretsync.cli import run_cli

    assert run_cli(["scan", "--jobs", value, "."]) == 2


def test_a_typer_without_its_coercion_internals_keeps_its_own(tmp_path: Path) -> None:
    """`install` is a no-op when typer lacks the internal it replaces (another typer release):
    the CLI still converts options (typer's own path) and scans."""
    import subprocess

    (tmp_path / "a.yaml").write_text("tailnet: tail5eed01\n")
    code = (
        "import sys, typer.core, typer._coercion\n"
        "del typer._coercion.build_runtime_param\n"
        "from secretsync.cli import run_cli\n"
        "from typer import core\n"
        "assert not getattr(core._TyperParameter, '_secretsync_plain', False)\n"
        f"sys.exit(run_cli(['scan', '--no-progress', '-j', '1', '-f', 'json', {str(tmp_path)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert '"tailnet"' in proc.stdout or "tailscale" in proc.stdout, proc.stdout[:500]
