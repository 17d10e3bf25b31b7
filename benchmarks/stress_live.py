"""The live comparisons under load: the engine against this machine's kernel, many times,
with CPU-bound busy loops running beside them.  Prints counts; exits 1 on any difference.

    python benchmarks/stress_live.py [--rounds 10] [--busy 2]

Each round plays, on real loopback sockets, the live lab's scripts of tests/test_live.py
(``live.lab``) and every conformance script of tests/conformance (``run_live`` with a
capture where this process may run tcpdump, then ``live.compare``), exactly as the tests
do.  A run "fails" when a result, a state or a segment differs from the engine replayed
at the kernel's times; a step that raced a kernel timer is counted apart, with its note.
Linux only (kernel states come from /proc/net/tcp).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from tcpedu import live  # noqa: E402
from tests.conformance.scripts import SCRIPTS, settle  # noqa: E402

# tests/test_live.py's lab runs: (script, capture segments too)
LAB_SCRIPTS = (("three_way_close", False), ("connection_refused", False), ("abortive_close", True))


def one_round(tmp: str, capture: bool) -> list[tuple[str, live.LabRun]]:
    runs = [(f"lab {name}", live.lab(SCRIPTS[name], capture=capture and also))
            for name, also in LAB_SCRIPTS]
    for name, steps in SCRIPTS.items():
        pcap = os.path.join(tmp, f"{name}.pcap") if capture else None
        real = live.run_live(steps, capture=pcap, settle=settle(name))
        runs.append((f"conformance {name}", live.compare(steps, real.outcome, pcap)))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="how many rounds (default 10)")
    parser.add_argument("--busy", type=int, default=2, help="busy loops beside them (default 2)")
    args = parser.parse_args()
    if not live.states_supported():
        print(f"stress_live: needs Linux's /proc/net/tcp; this is {sys.platform}", file=sys.stderr)
        return 2
    why = live.capture_supported()
    print(f"kernel {os.uname().release}, tick {live.kernel_tick() * 1000:g} ms, "
          f"{os.cpu_count()} cores, {args.busy} busy loops; "
          f"segments {'captured' if why is None else 'not captured: ' + why}")
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(args.busy)]
    runs = failures = races = 0
    start = time.perf_counter()
    try:
        for r in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                results = one_round(tmp, why is None)
            bad = [(name, run) for name, run in results if not run.agree]
            raced = [(name, note) for name, run in results for note in run.races]
            runs, failures, races = runs + len(results), failures + len(bad), races + len(raced)
            print(f"round {r:2}: {len(results)} runs, {len(bad)} failed, {len(raced)} timer races")
            for name, note in raced:
                print(f"    race  {name}: {note}")
            for name, run in bad:
                print(f"    FAILED {name}:\n{run}")
    finally:
        for p in loops:
            p.kill()
            p.wait()
    print(f"{failures} failures in {runs} runs ({args.rounds} rounds, "
          f"{time.perf_counter() - start:.0f} s); {races} steps decided by a timer race")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
