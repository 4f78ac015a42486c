"""Time `secretsync scan` against `detect-secrets scan --all-files` on the synthetic tree.

    python benchmarks/bench_scan.py [--files 6000] [--runs 3] [--ds-runs 1]

Generates benchmarks/out/tree with gen_tree.py when it is missing (or has another file count),
then runs both scanners as subprocesses from this interpreter's environment, best of N each,
and prints files, MB, seconds, MB/s, the ratio (detect-secrets time / secretsync time), the peak
RSS of each run and secretsync's single-core MB/s (pinned with `taskset -c 0` when available).
`secretsync scan` exiting 1 means "found something" and is not a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_tree  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    findings: int | None = None
    error: str | None = None

    @property
    def best(self) -> float:
        return min(self.seconds) if self.seconds else float("nan")


def run(
    cmd: list[str], ok_codes: tuple[int, ...], stdout_path: Path, cwd: Path | None = None
) -> tuple[float, float]:
    """Run cmd; return (wall seconds, peak RSS in MB) of it and its waited-for children."""
    with stdout_path.open("wb") as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok_codes:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {proc.returncode}: {tail}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def secretsync_cmd() -> list[str]:
    exe = BIN / "secretsync"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "secretsync"]


def bench_secretsync(tree: Path, runs: int, pin: bool) -> Result:
    res = Result("secretsync" + (" (1 core)" if pin else ""))
    prefix = ["taskset", "-c", "0"] if pin else []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "findings.json")
        for _ in range(runs):
            cmd = [*prefix, *secretsync_cmd(), "scan", str(tree),
                   "--format", "json", "--output", str(report)]
            try:
                secs, rss = run(cmd, (0, 1), Path(tmp, "stdout"))
            except (RuntimeError, OSError) as exc:
                res.error = str(exc)
                return res
            res.seconds.append(secs)
            res.peak_rss_mb = max(res.peak_rss_mb, rss)
        try:
            res.findings = len(json.loads(report.read_text())["findings"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            res.error = f"unreadable JSON report: {exc}"
    return res


def bench_detect_secrets(tree: Path, runs: int) -> Result:
    res = Result("detect-secrets")
    exe = BIN / "detect-secrets"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "baseline.json")
        for _ in range(runs):
            try:
                # cwd=tree: detect-secrets scans relative to where it runs, as in CI.
                secs, rss = run([str(exe), "scan", "--all-files", "."], (0,), out, cwd=tree)
            except (RuntimeError, OSError) as exc:
                res.error = str(exc)
                return res
            res.seconds.append(secs)
            res.peak_rss_mb = max(res.peak_rss_mb, rss)
        results = json.loads(out.read_text())["results"]
        res.findings = sum(len(v) for v in results.values())
    return res


def ensure_tree(tree: Path, files: int, seed: int) -> None:
    manifest = tree.parent / f"{tree.name}.planted.json"
    if tree.is_dir() and manifest.exists():
        meta = json.loads(manifest.read_text())
        if (meta.get("files"), meta.get("seed"), meta.get("version")) == (
            files, seed, gen_tree.GEN_VERSION):
            return
    print(f"generating {files} files into {tree} ...", file=sys.stderr)
    gen_tree.main(["--files", str(files), "--out", str(tree), "--seed", str(seed)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tree", type=Path, default=HERE / "out" / "tree")
    ap.add_argument("--runs", type=int, default=3, help="secretsync runs (best of)")
    ap.add_argument("--ds-runs", type=int, default=1, help="detect-secrets runs (best of)")
    ap.add_argument("--skip-detect-secrets", action="store_true")
    ap.add_argument("--skip-secretsync", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)

    tree = args.tree.resolve()
    ensure_tree(tree, args.files, args.seed)
    paths = [p for p in tree.rglob("*") if p.is_file()]
    mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"tree: {tree}\nfiles: {len(paths)}  size: {mb:.2f} MB  cpus: {os.cpu_count()}")

    results: list[Result] = []
    if not args.skip_secretsync:
        results.append(bench_secretsync(tree, args.runs, pin=False))
        if shutil.which("taskset"):
            results.append(bench_secretsync(tree, args.runs, pin=True))
    if not args.skip_detect_secrets:
        results.append(bench_detect_secrets(tree, args.ds_runs))

    print(f"{'tool':<22}{'runs':>5}{'best s':>10}{'MB/s':>9}{'peak RSS MB':>13}{'findings':>10}")
    for r in results:
        if r.error:
            print(f"{r.name:<22}  FAILED: {r.error.strip().splitlines()[-1][:200]}")
            continue
        print(f"{r.name:<22}{len(r.seconds):>5}{r.best:>10.2f}{mb / r.best:>9.2f}"
              f"{r.peak_rss_mb:>13.1f}{r.findings if r.findings is not None else '-':>10}")
    by = {r.name: r for r in results if not r.error}
    ratio = None
    if "secretsync" in by and "detect-secrets" in by:
        ratio = by["detect-secrets"].best / by["secretsync"].best
        print(f"ratio (detect-secrets time / secretsync time): {ratio:.1f}x")
    if "secretsync (1 core)" in by:
        print(f"secretsync single-core: {mb / by['secretsync (1 core)'].best:.2f} MB/s")
    if args.json:
        args.json.write_text(json.dumps({
            "files": len(paths), "mb": round(mb, 3), "ratio": ratio,
            "results": [{"tool": r.name, "seconds": r.seconds, "peak_rss_mb": r.peak_rss_mb,
                         "findings": r.findings, "error": r.error} for r in results],
        }, indent=2) + "\n")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
