"""Engine benchmarks (issue 2): prints figures, asserts nothing.

  1. 10,000 complete connections (handshake, 1 KB each way, close), one
     Simulation each, profile "rfc" and "linux", on one core.  Target <= 1 s.
  2. ``python -c "import tcpedu"`` wall time (best of 7).  Target <= 0.15 s.
"""

import subprocess
import sys
import time

import tcpedu

KB = b"x" * 1000


def one_connection(profile: str, isn: int) -> tcpedu.Simulation:
    sim = tcpedu.Simulation(profile=profile, client_isn=isn, server_isn=isn ^ 0xFFFF)
    sim.server.listen()
    sim.client.connect()
    sim.client.send(KB)
    sim.server.recv()
    sim.server.send(KB)
    sim.client.recv()
    sim.client.close()
    sim.server.recv()
    sim.server.close()
    return sim


def bench_connections(profile: str, n: int = 10_000) -> tuple[float, int]:
    segments = 0
    start = time.perf_counter()
    for i in range(n):
        segments += len(one_connection(profile, i * 7919).trace.segments)
    return time.perf_counter() - start, segments


def best_wall_time(code: str, runs: int = 7) -> float:
    """Best of ``runs`` wall times of ``python -c code`` in a fresh interpreter."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    for profile in ("rfc", "linux"):
        seconds, segments = bench_connections(profile)
        print(f"10,000 connections ({profile}): {seconds:.2f} s, {segments} segments, "
              f"{seconds / 10_000 * 1e6:.0f} us per connection (target <= 1 s)")
    imp, bare = best_wall_time("import tcpedu"), best_wall_time("pass")
    print(f"python -c 'import tcpedu': {imp:.3f} s (python alone {bare:.3f} s; "
          f"tcpedu adds {imp - bare:.3f} s; target <= 0.15 s)")


if __name__ == "__main__":
    main()
