"""Hostile input: a corpus of files built to hurt a scanner, each scanned in its own process with
a time limit and its peak memory measured; a `.secretsync.yaml` and a baseline that try to make
secretsync run code or write outside the tree; files changing during the scan; and hypothesis
property tests of the parser over generated YAML.

Already proved elsewhere and not repeated: binary, Latin-1, unparseable, tab-indented, oversized
(small limit), CRLF, BOM, tagged and duplicate-key files, and a file symlink out of the tree and a
directory symlink loop (tests/test_scan_cli.py::test_bad_input_classes_are_reported_and_the_scan_goes_on);
the rewrite property test (tests/remediate/test_rewrite_property.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from secretsync.documents import parse

from .helpers import Planted, cli, tree_bytes

TIME_LIMIT = 30.0  # seconds, for any one hostile input
RSS_LIMIT_MB = 400  # peak resident memory of the scanning process
_YAML_BREAKS = frozenset("\n\r\x85\u2028\u2029")  # line breaks a YAML 1.1 parser folds

# Peak RSS from /proc/self/status (VmHWM): it belongs to this process's own address space.
# getrusage's ru_maxrss survives fork and exec on Linux, so it would report pytest's own size.
# Time is the process's CPU time (its workers' included), not wall time: a bound that a busy
# machine cannot break, and a runaway parser still can.
MEASURED = r"""
import os, sys
from secretsync.cli import run_cli
code = run_cli(sys.argv[1:])
t = os.times()
print(f"CPU_S={t.user + t.system + t.children_user + t.children_system}", file=sys.stderr)
with open("/proc/self/status") as fh:
    hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
print(f"MAXRSS_KB={hwm}", file=sys.stderr)
sys.exit(code)
"""


def measured(*argv: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run the CLI in a fresh process: (result, CPU seconds, peak RSS in MB)."""
    proc = subprocess.run([sys.executable, "-c", MEASURED, *argv], capture_output=True,
                          text=True, timeout=TIME_LIMIT * 4, check=False)
    elapsed = float(proc.stderr.rsplit("CPU_S=", 1)[1].split()[0])
    rss = int(proc.stderr.rsplit("MAXRSS_KB=", 1)[1].split()[0]) / 1024
    return proc, elapsed, rss


def alias_bomb(levels: int = 12) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\nclientId: k3r7wuCSzd11CNTRL\n"


VALUE_LINE = "tailnet: tail5eed01\n"
CORPUS: dict[str, bytes] = {
    "alias-bomb.yaml": alias_bomb().encode(),
    "alias-bomb-merge.yaml": (b"base: &b {x: 1}\n" + b"".join(
        f"m{i}: &m{i} {{<<: *{'b' if i == 0 else f'm{i - 1}'}, y{i}: 2}}\n".encode()
        for i in range(2000)) + VALUE_LINE.encode()),
    "deep-flow.yaml": b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n" + VALUE_LINE.encode(),
    "deep-flow-unclosed.yaml": b"a: " + b"{x: " * 50_000 + b"\n" + VALUE_LINE.encode(),
    "deep-block.yaml": "".join(f"{' ' * i}k{i}:\n" for i in range(3000)).encode()
    + b" " * 3000 + VALUE_LINE.encode(),
    "long-line.yaml": b"a: " + b"x" * 5_000_000 + b"\n" + VALUE_LINE.encode(),
    "many-docs.yaml": b"---\na: 1\n" * 100_000 + VALUE_LINE.encode(),
    "long-key-path.yaml": (b"- " * 20_000) + VALUE_LINE.encode(),
    "block-scalar-json.yaml": b"config: |\n  " + b"[" * 50_000 + b"\n",
    "nul-late.yaml": VALUE_LINE.encode() + b"a: b\n" * 5000 + b"\x00\x01\x02",
    "utf16.yaml": ("\ufeff" + VALUE_LINE).encode("utf-16"),
    "invalid-utf8.yaml": b"a: \xff\xfe\xc3\x28\n" + VALUE_LINE.encode(),
    "control-chars.yaml": b"a: \x1b[31mred\x07\x08\n" + VALUE_LINE.encode(),
    "huge-int.yaml": b"chatId: -100" + b"9" * 100_000 + b"\n" + VALUE_LINE.encode(),
    "tags.yaml": b"a: !!python/object/apply:os.system ['touch PWNED']\nb: !<tag:yaml.org,2002:"
                 b"python/name:os.system> x\n" + VALUE_LINE.encode(),
    "templates/x.yaml": b"{{- range $i := until 1000000 }}{{ $i }}{{ end }}\n" * 1000,
}


def test_hostile_corpus_is_bounded(tmp_path: Path) -> None:
    """Every hostile file in one tree: the scan finishes in bounded time and memory, reports what
    it could read, and says what it passed over; each alone is bounded too."""
    root = tmp_path / "tree"
    for rel, data in CORPUS.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    out = tmp_path / "out.json"
    proc, elapsed, rss = measured("scan", "--no-progress", "-j", "1", "-f", "json", "-o",
                                  str(out), str(root))
    assert proc.returncode == 1, proc.stderr[-1000:]
    assert elapsed < TIME_LIMIT and rss < RSS_LIMIT_MB, (elapsed, rss)
    assert not (root / "PWNED").exists() and not Path("PWNED").exists()
    doc = json.loads(out.read_text())
    found = {f["path"] for f in doc["findings"]}
    # Files that parse (or fall back to lines) still give their value.
    for rel in ("alias-bomb.yaml", "deep-block.yaml", "many-docs.yaml", "tags.yaml",
                "control-chars.yaml", "invalid-utf8.yaml", "alias-bomb-merge.yaml"):
        assert rel in found, (rel, sorted(found))
    assert "nul-late.yaml" in found or any("nul-late" in w for w in doc["warnings"])
    assert any("larger than" not in w for w in doc["warnings"])


def test_a_100_mb_file_is_skipped_in_bounded_time_and_memory(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    big = root / "big.yaml"
    with big.open("wb") as fh:
        chunk = (b"key: value-" + b"a" * 50 + b"\n") * 16_384
        while fh.tell() < 100 * 1024 * 1024:
            fh.write(chunk)
        fh.write(VALUE_LINE.encode())
    (root / "small.yaml").write_text(VALUE_LINE)
    for extra in ((), ("--max-file-size", str(16 * 1024 * 1024))):
        out = tmp_path / "out.json"
        proc, elapsed, rss = measured("scan", "--no-progress", "-f", "json", "-o", str(out),
                                      *extra, str(root))
        assert proc.returncode == 1, proc.stderr[-500:]
        assert elapsed < 10 and rss < 150, (elapsed, rss)
        doc = json.loads(out.read_text())
        assert [f["path"] for f in doc["findings"]] == ["small.yaml"]
        assert any(w.startswith("big.yaml: larger than") for w in doc["warnings"])
        assert "warning: big.yaml: larger than" in proc.stderr


def test_a_file_of_one_keyword_repeated_is_bounded(tmp_path: Path) -> None:
    """The gates find every place of every keyword in one pass: nearly 8 MB of `key` (2.6
    million places) must not cost memory for each (the automaton's matches are taken a
    window at a time) nor a step each once the file holds."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "dense.yaml").write_bytes(b"key" * 2_600_000 + b"\n" + VALUE_LINE.encode())
    out = tmp_path / "out.json"
    proc, elapsed, rss = measured("scan", "--no-progress", "-j", "1", "-f", "json", "-o",
                                  str(out), str(root))
    assert proc.returncode == 1, proc.stderr[-500:]
    assert elapsed < TIME_LIMIT and rss < 250, (elapsed, rss)
    assert [f["path"] for f in json.loads(out.read_text())["findings"]] == ["dense.yaml"]


def test_symlinks_out_and_in_loops_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "values.yaml").write_text("tailnet: tail0u7s1d\n")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ok.yaml").write_text(VALUE_LINE)
    os.symlink(outside, root / "dir-out")
    os.symlink(outside / "values.yaml", root / "file-out.yaml")
    os.symlink("../tree", root / "loop-up")
    os.symlink(root / "b.yaml", root / "a.yaml")
    os.symlink(root / "a.yaml", root / "b.yaml")  # a file-symlink loop
    os.symlink("/proc/self/environ", root / "environ.yaml")
    os.symlink("/dev/zero", root / "zero.yaml")
    (root / "fifo.yaml").parent.mkdir(exist_ok=True)
    os.mkfifo(root / "fifo.yaml")
    out = tmp_path / "out.json"
    proc, elapsed, rss = measured("scan", "--no-progress", "-f", "json", "-o", str(out),
                                  str(root))
    assert proc.returncode == 1, proc.stderr[-800:]
    assert elapsed < TIME_LIMIT and rss < RSS_LIMIT_MB
    doc = json.loads(out.read_text())
    assert [f["path"] for f in doc["findings"]] == ["ok.yaml"]
    warnings = "\n".join(doc["warnings"])
    for rel in ("dir-out", "file-out.yaml", "loop-up", "environ.yaml", "zero.yaml"):
        assert rel in warnings, (rel, warnings)


def test_paths_with_newlines_unicode_and_markup(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    names = ["a\nb.yaml", "ünï cødé ✓.yaml", "x\x1b[31mred.yaml", "\u202eevil.yaml",
             "[bold]m[", "b].yaml", "tab\tname.yaml"]
    (root / "[bold]m[").mkdir(parents=True)
    for n in names:
        if n != "[bold]m[":
            (root / n).write_text(VALUE_LINE)
    (root / "[bold]m[" / "b].yaml").write_text(VALUE_LINE)  # `[/b]` in the shown path
    for fmt in ("table", "json", "sarif"):
        r = cli(["scan", "--no-progress", "-f", fmt, str(root)])
        assert r.code == 1, (fmt, r.err)
        shown = r.err + (r.out if fmt == "table" else "")  # JSON carries names as they are
        assert "\x1b" not in shown and "\u202e" not in shown
    table = cli(["scan", "--no-progress", str(root)]).out
    assert "a\\u000ab.yaml" in table and "[bold]m[/b].yaml" in table
    doc = json.loads(cli(["scan", "--no-progress", "-f", "json", str(root)]).out)
    assert {f["path"] for f in doc["findings"]} >= {"a\nb.yaml", "ünï cødé ✓.yaml"}


def test_files_changing_or_vanishing_during_the_scan(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import secretsync.scan as scan_mod

    root = tmp_path / "tree"
    root.mkdir()
    for i in range(6):
        (root / f"f{i}.yaml").write_text(VALUE_LINE)
    real_walk = scan_mod.walk

    def walk_then_change(*a: object, **k: object):  # type: ignore[no-untyped-def]
        listed = real_walk(*a, **k)  # type: ignore[arg-type]
        (root / "f0.yaml").unlink()
        (root / "f1.yaml").write_bytes(b"\x00binary now")
        (root / "f2.yaml").write_text("a: [\n")
        (root / "f3.yaml").unlink()
        (root / "f3.yaml").mkdir()
        os.chmod(root / "f4.yaml", 0)
        return listed

    monkeypatch.setattr(scan_mod, "walk", walk_then_change)
    r = cli(["scan", "--no-progress", "-j", "1", "-f", "json", str(root)])
    os.chmod(root / "f4.yaml", 0o644)
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    warnings = "\n".join(doc["warnings"])
    assert "f0.yaml: cannot read" in warnings and "f3.yaml: cannot read" in warnings
    assert "f1.yaml: binary" in warnings
    found = {f["path"] for f in doc["findings"]}
    assert "f5.yaml" in found and "f0.yaml" not in found
    if os.geteuid() != 0:  # root reads a mode-0 file anyway
        assert "f4.yaml: cannot read" in warnings


def _snapshot(base: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in base.rglob("*") if p.is_file()
            and not p.is_symlink()}


HOSTILE_CONFIGS = {
    "python-tag": "project: !!python/object/apply:os.system ['touch {marker}']\n",
    "python-name": "names: !!python/name:os.system {{}}\n",
    "plugins": "detectors: ['{evil}']\nplugins_used: [{{path: 'file://{evil}'}}]\n",
    "secret-name-traversal": "secrets: {{name: '../../../{{app}}'}}\n",
    "store-traversal": "stores: {{dev: {{kind: ClusterSecretStore, name: '../../x'}}}}\n",
    "ref-suffix-traversal": "secrets: {{ref_suffix: '/../../x'}}\n",
    "names-not-doppler": "names: {{'.*': '../../x'}}\n",
    "alias-bomb": alias_bomb(9).replace("clientId: k3r7wuCSzd11CNTRL\n", "project: p\n"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CONFIGS))
def test_hostile_config_runs_nothing_and_writes_nowhere_else(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    root = Planted().tree(tmp_path / "tree")
    (root / ".secretsync.yaml").write_text(
        HOSTILE_CONFIGS[case].format(marker=marker, evil=evil))
    outside_before = _snapshot(tmp_path)
    t0 = time.monotonic()
    codes = [cli([cmd, str(root), "--project", "p", "--offline"]).code
             for cmd in ("plan", "rewrite")]
    codes.append(cli(["init", str(root), "--force", "--project", "p"]).code)
    assert time.monotonic() - t0 < TIME_LIMIT
    assert not marker.exists()
    after = _snapshot(tmp_path)
    changed_outside = sorted(p for p in set(after) | set(outside_before)
                             if not p.startswith(str(root) + os.sep)
                             and after.get(p) != outside_before.get(p))
    assert changed_outside == []
    assert all(c in (0, 2) for c in codes), codes
    if case != "alias-bomb":
        assert codes[0] == 2, case  # refused with a message, not worked around


def test_hostile_baseline_runs_nothing_and_is_bounded(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "v.yaml").write_text(VALUE_LINE)
    salt = secrets.token_hex(16)  # a salt of one repeated byte is refused (issue 12 §2.7)
    good_kdf = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1, "dklen": 16, "salt": salt}
    cases = {
        # detect-secrets style: plugin paths and custom filters in the baseline.
        "plugins": {"version": 1, "kdf": good_kdf, "entries": [],
                    "plugins_used": [{"name": "Evil", "path": f"file://{evil}"}],
                    "filters_used": [{"path": f"file://{evil}::f"}]},
        "huge-n": {"version": 1, "kdf": {**good_kdf, "n": 2**30}, "entries": []},
        "huge-r": {"version": 1, "kdf": {**good_kdf, "r": 10**6}, "entries": []},
        "short-salt": {"version": 1, "kdf": {**good_kdf, "salt": "00"}, "entries": []},
        "other-hash": {"version": 1, "kdf": {**good_kdf, "name": "sha1"}, "entries": []},
        "traversal": {"version": 1, "kdf": good_kdf, "entries": [
            {"path": "../../../../etc/passwd", "place": "x", "detector": "tailscale-tailnet",
             "value_hash": "00"}]},
        "not-a-mapping": [1, 2, 3],
    }
    for name, doc in cases.items():
        bl = tmp_path / f"{name}.json"
        bl.write_text(json.dumps(doc))
        t0 = time.monotonic()
        r = cli(["scan", "--no-progress", "--baseline", str(bl), str(root)])
        assert time.monotonic() - t0 < 10, name
        assert r.code in (1, 2), (name, r.code, r.err)
        if name in ("huge-n", "huge-r", "short-salt", "other-hash", "not-a-mapping"):
            assert r.code == 2 and "baseline" in r.err, (name, r.err)
    assert not marker.exists()
    # --update-baseline writes the one file it was given, and nothing else.
    before = _snapshot(tmp_path)
    bl = tmp_path / "plugins.json"
    assert cli(["scan", "--no-progress", "--baseline", str(bl), "--update-baseline",
                str(root)]).code == 0
    after = _snapshot(tmp_path)
    assert sorted(p for p in after if after[p] != before.get(p)) == [str(bl)]
    assert "plugins_used" not in bl.read_text() and not marker.exists()


def test_apply_never_writes_through_a_directory_symlink(tmp_path: Path) -> None:
    """A chart whose templates/ is a symlink out of the tree: the generated manifest must not
    land outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = Planted().tree(tmp_path / "tree")
    (root / "chart0/templates/deploy.yaml").unlink()
    (root / "chart0/templates").rmdir()
    os.symlink(outside, root / "chart0/templates")
    before = tree_bytes(root)
    r = cli(["rewrite", str(root), "--project", "p", "--offline"])
    assert list(outside.iterdir()) == [], (r.code, r.err)
    assert r.code == 2 and "symlink out of the tree" in r.err
    assert tree_bytes(root) == before


# -- properties -----------------------------------------------------------------------------

SCALARS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["tail5eed01", "k3r7wuCSzd11CNTRL", "-1003078665133", "null", "~", "'",
                     '"', "#", ": ", "- ", "&a", "*a", "!!str", "|", ">", "{", "[", "\r\n"]),
)


@st.composite
def yamlish(draw: st.DrawFn) -> str:
    """Text that is often YAML and often almost YAML: nesting, anchors and aliases, flow style,
    block scalars, comments, unicode, CRLF, documents."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        indent = " " * draw(st.integers(0, 6))
        key = draw(st.sampled_from(["a", "clientId", "tailnet", "env", "- name", "-", "? k",
                                    "<<", "ключ", "\u202e", "x y", ""]))
        kind = draw(st.integers(0, 6))
        v = draw(SCALARS)
        if kind == 0:
            parts.append(f"{indent}{key}: {v}")
        elif kind == 1:
            parts.append(f"{indent}{key}: &a{draw(st.integers(0, 3))} {v}")
        elif kind == 2:
            parts.append(f"{indent}{key}: *a{draw(st.integers(0, 3))}")
        elif kind == 3:
            parts.append(f"{indent}{key}: [{v}, {{k: {v}}}, *a0]")
        elif kind == 4:
            style = draw(st.sampled_from(["|", ">", "|-", ">+", "|2"]))
            parts.append(f"{indent}{key}: {style}\n{indent}  {v}\n{indent}  tail5eed01")
        elif kind == 5:
            parts.append(draw(st.sampled_from(["---", "...", "# c", "%YAML 1.2\n---", ""])))
        else:
            parts.append(f'{indent}{key}: "{v}\\u0041\\x41"  # {v}')
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    return nl.join(parts) + draw(st.sampled_from(["", nl]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yamlish(), st.booleans())
@example("a: [0\n0, {k: 0\n0}, *a0]", False)
@example("a: [b\x85c]", False)
def test_parser_never_crashes_and_spans_are_honest(text: str, bom: bool) -> None:
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogatepass")
    pf, warnings = parse("p.yaml", data)
    assert all(isinstance(w, str) for w in warnings)
    n = len(pf.text)
    lines = pf.text.split("\n")
    for s in pf.scalars:
        assert 0 <= s.start <= s.end <= n
        assert 1 <= s.line <= len(lines)
        token = pf.text[s.start:s.end]
        if s.style in ("plain",) and s.value and not _YAML_BREAKS.intersection(token):
            # A plain one-line scalar's token ends with it (an anchor or tag may lead). A plain
            # scalar over several lines folds each line break (YAML 1.1 counts NEL, LS and PS
            # too) into a space, so its value is not a substring of its token.
            assert token.endswith(s.value), (s.value, token)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_parser_takes_any_bytes(data: bytes) -> None:
    pf, warnings = parse("p.yaml", data)
    assert pf.fallback is None or isinstance(pf.fallback, str)
    assert all(isinstance(w, str) for w in warnings)
