"""Issue 12 §2.10: file names and keys from a tree reach a terminal or a CI log only escaped (one
function, `secretsync.redact.printable`): no ESC sequence, no line that starts a GitHub Actions
workflow command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import Planted, cli

_HOSTILE_DIR = "evil\x1b]0;pwned\x07\x1b[31m"
_HOSTILE_KEY = "x\\n::error file=a::pwned\\e[2J"  # as written in a double-quoted YAML key


def _tree(tmp_path: Path) -> Path:
    p = Planted()
    root = p.tree(tmp_path / "tree")
    (root / ".secretsync.yaml").write_text(f"project: {'canary'}\n")
    chart = root / _HOSTILE_DIR
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: evil\nversion: 0.1.0\n")
    for env in ("dev", "prd"):  # one store per environment, as plan asks of a chart
        (chart / f"values-{env}.yaml").write_text("replicaCount: 1\n")
    (chart / "values.yaml").write_text(
        f'"{_HOSTILE_KEY}":\n  botToken: {p.bot_token}\n'
        f'"{_HOSTILE_KEY}2":\n  note: "see {p.bot_token} # here"\n')
    return root


def _assert_clean(text: str, where: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, where
    for line in text.splitlines():
        assert not re.match(r"\s*::", line), f"{where}: a workflow command: {line!r}"


@pytest.mark.parametrize("argv", [
    ["plan", "--offline"],
    ["verify", "--offline"],
    ["rewrite", "--dry-run", "--offline"],
    ["scan", "--no-progress"],
])
def test_hostile_names_and_keys_are_escaped_in_human_output(tmp_path: Path,
                                                            argv: list[str]) -> None:
    root = _tree(tmp_path)
    r = cli([*argv, str(root)])
    assert r.code in (0, 1), r.err[-2000:]
    assert "pwned" in r.out + r.err  # the hostile names are shown, escaped
    _assert_clean(r.out, "stdout")
    _assert_clean(r.err, "stderr")


def test_printable_escapes_controls_bidi_and_line_breaks() -> None:
    from secretsync.redact import printable

    assert printable("a\nb\rc\x1b[0m\u202e\u2028\x85d") == (
        "a\\u000ab\\u000dc\\u001b[0m\\u202e\\u2028\\u0085d")
    assert printable("plain/path.yaml:3 key.path") == "plain/path.yaml:3 key.path"
