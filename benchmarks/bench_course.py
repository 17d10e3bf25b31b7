"""Course benchmark: the whole test suite as CI runs it; prints figures, asserts nothing.

Times the three steps of ``make test`` on 2 cores (this process and its children are
pinned to two CPUs where the machine has more):

  1. ``ruff check tcpedu tests notebooks exercises benchmarks``
  2. ``pytest -n 2 --dist loadfile tests`` (the kernel-capture tests run only as root
     with tcpdump, the browser test only with Chromium and playwright: the line says
     how many were skipped)
  3. ``pytest -n 2 --dist loadfile --nbval --nbval-sanitize-with notebooks/sanitize.cfg
     notebooks exercises``

and reports each, the total against the target of 120 s for the whole suite, the
slowest test files, and every notebook's nbval time (kernel start and all its cells,
from pytest's JUnit XML), slowest first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 120.0          # s, the whole suite on 2 cores
CORES = 2
PYTEST = [sys.executable, "-m", "pytest", "-n", str(CORES), "--dist", "loadfile", "-p", "no:cacheprovider"]
SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped)|^Found \d+|^All checks")   # pytest's, ruff's
NBVAL = ["--nbval", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "notebooks", "exercises"]


def pin_to_two_cores() -> str:
    """Like CI's 2-core machine: pin this process (children inherit it) to two CPUs."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:             # not Linux
        return f"{os.cpu_count()} cores, not pinned"
    if len(cpus) > CORES:
        os.sched_setaffinity(0, cpus[:CORES])
        return f"pinned to CPUs {cpus[:CORES]} of {len(cpus)}"
    return f"{len(cpus)} cores"


def ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    return [str(exe)] if exe.exists() else [shutil.which("ruff") or "ruff"]


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall time, exit status and the last line of output (pytest's summary)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    lines = [ln.strip("= ") for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    wanted = [ln for ln in lines if SUMMARY.search(ln)]
    summary = (wanted or lines or [""])[-1]
    return took, proc.returncode, summary


def source_file(case: ET.Element) -> str:
    """The file a JUnit test case comes from: its classname ("tests.test_api",
    "tests.test_x.TestClass", "notebooks.00_start_here.ipynb") made back into a path."""
    parts = case.get("classname", "").split(".")
    for n in range(len(parts), 0, -1):
        for suffix in (".py", ""):
            name = "/".join(parts[:n]) + suffix
            if n > 1 and parts[n - 1] == "ipynb":
                name = "/".join(parts[:n - 1]) + ".ipynb"
            if (ROOT / name).is_file():
                return name
    return case.get("classname", "?")


def times_by_file(junit: Path) -> tuple[dict[str, float], list[str]]:
    """Seconds per file (setup + call + teardown of its items) and the failed tests."""
    per_file: dict[str, float] = defaultdict(float)
    failed = []
    for case in ET.parse(junit).iter("testcase"):
        per_file[source_file(case)] += float(case.get("time") or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{source_file(case)}::{case.get('name')}")
    return dict(per_file), failed


def main() -> None:
    where = pin_to_two_cores()
    with tempfile.TemporaryDirectory() as tmp:
        tests_xml, nb_xml = Path(tmp, "tests.xml"), Path(tmp, "nbval.xml")
        steps = [
            ("ruff check", [*ruff(), "check", "tcpedu", "tests", "notebooks", "exercises", "benchmarks"]),
            ("pytest tests", [*PYTEST, f"--junitxml={tests_xml}", "tests"]),
            ("nbval notebooks exercises", [*PYTEST, f"--junitxml={nb_xml}", *NBVAL]),
        ]
        print(f"the test suite as `make test` runs it ({where}, python {sys.version.split()[0]})")
        if hasattr(os, "getloadavg"):
            load = os.getloadavg()[0]
            busy = " (other processes share the cores: the times are upper bounds)" if load >= 1 else ""
            print(f"  load average before: {load:.2f}{busy}")
        total = 0.0
        for label, cmd in steps:
            took, code, summary = run(cmd)
            total += took
            status = "ok" if code == 0 else f"exit status {code}"
            print(f"  {label:27} {took:7.1f} s  {status}: {summary}")
        verdict = "within" if total <= TARGET else "OVER"
        print(f"  {'total':27} {total:7.1f} s  ({verdict} the target of {TARGET:.0f} s)")

        if tests_xml.exists():
            per_file, failed = times_by_file(tests_xml)
            print("slowest test files (their tests' seconds summed; the 2 workers run files in parallel):")
            for name, secs in sorted(per_file.items(), key=lambda kv: -kv[1])[:8]:
                print(f"  {secs:7.1f} s  {name}")
            for name in failed:
                print(f"  failed: {name}")
        if nb_xml.exists():
            per_nb, failed = times_by_file(nb_xml)
            per_nb = sorted(per_nb.items(), key=lambda kv: -kv[1])
            print(f"nbval, per notebook (kernel start and every cell), slowest first; "
                  f"{len(per_nb)} notebooks, {sum(s for _, s in per_nb):.1f} s summed:")
            for name, secs in per_nb:
                print(f"  {secs:7.1f} s  {name}")
            for name in failed:
                print(f"  failed: {name}")


if __name__ == "__main__":
    main()
