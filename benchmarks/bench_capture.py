"""Capture-reader benchmark: prints figures, asserts nothing.

    python benchmarks/bench_capture.py [packets]        # default 1,000,000

  1. Makes a capture of ``packets`` packets with Trace.to_pcap: one simulated
     connection (handshake, 1000 bytes each way, close: 15 segments) repeated
     with shifted times (a new connection every 0.1 s), ports and ISNs.
  2. Reads it with tcpedu: iter_segments over every packet, read_pcap of one
     connection, list_connections.
  3. Reads it with scapy's rdpcap (pip install "tcpedu[bench]") on the first
     100,000 packets only (rdpcap of 1M packets takes minutes and gigabytes),
     and tcpedu on the same 100,000, and prints the ratio on equal counts.
  4. Memory: tracemalloc peak while iterating the first 100,000 packets and
     all of them (flat: nothing is kept per packet, and a closed connection
     is forgotten 2 MSL after its last packet), next to the peak of keeping
     100,000 segments in a list.
"""

import itertools
import os
import sys
import tempfile
import time
import tracemalloc

import tcpedu
from tcpedu.capture import iter_segments, list_connections, read_pcap

EQUAL_COUNT = 100_000
GAP = 0.1                     # seconds between the starts of two connections


def template() -> list[tcpedu.Segment]:
    sim = tcpedu.scenarios.data_transfer(profile="rfc", client_isn=1000, server_isn=5000)
    sim.client.close()
    sim.wait(0.3)
    sim.server.recv()
    sim.server.close()
    sim.wait(0.3)
    return [s for s in sim.trace if not s.lost]


def big_trace(packets: int) -> tcpedu.Trace:
    """``packets`` segments: copies of the template, each with its own time, port and ISNs."""
    one = template()
    segments = []
    for k in range(-(-packets // len(one))):
        port = 1024 + k % 64000
        shift_c, shift_s = (k * 7919) % 2**32, (k * 104729) % 2**32
        for s in one:
            client = s.sender == "client"
            mine, theirs = (shift_c, shift_s) if client else (shift_s, shift_c)
            segments.append(s.replace(
                sport=port if client else 80, dport=80 if client else port, time=k * GAP + s.time,
                seq=(s.seq + mine) % 2**32,
                ack=(s.ack + theirs) % 2**32 if tcpedu.Flags.ACK in s.flags else 0))
    return tcpedu.Trace(segments[:packets])


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def line(label: str, seconds: float, detail: str) -> None:
    print(f"{label:<46}{seconds:7.2f} s  ({detail})")


def count_tcpedu(path, n=None) -> int:
    return sum(1 for _ in itertools.islice(iter_segments(path), n))


def peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    result = fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top, result


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = os.path.join(tempfile.mkdtemp(prefix="tcpedu-bench-"), "big.pcap")

    start = time.perf_counter()
    trace = big_trace(packets)
    build = time.perf_counter() - start
    trace.to_pcap(path)
    write = time.perf_counter() - start - build
    del trace
    size = os.path.getsize(path)
    print(f"capture: {packets:,} packets, {size / 1e6:.0f} MB, made with Trace.to_pcap "
          f"(building the trace {build:.1f} s, to_pcap {write:.1f} s = "
          f"{write / packets * 1e6:.1f} us per packet)")

    every, n = timed(lambda: count_tcpedu(path))
    line(f"tcpedu iter_segments, all {n:,} packets", every,
         f"{every / n * 1e6:.1f} us per packet, {n / every:,.0f} packets/s")
    listing, conns = timed(lambda: list_connections(path))
    line("tcpedu list_connections", listing, f"{len(conns):,} connections")
    middle = len(conns) // 2
    one, conn = timed(lambda: read_pcap(path, middle))
    line(f"tcpedu read_pcap(path, {middle})", one, f"{len(conn)} segments; it reads the whole file")

    equal = min(EQUAL_COUNT, packets)
    ours, _ = timed(lambda: count_tcpedu(path, equal))
    try:
        from scapy.all import rdpcap  # scapy.all: the layers are registered and dissected
    except ImportError:
        print("scapy is not installed (pip install 'tcpedu[bench]'): no comparison")
    else:
        theirs, got = timed(lambda: rdpcap(path, count=equal))
        print(f"first {equal:,} packets: scapy rdpcap {theirs:.2f} s "
              f"({theirs / len(got) * 1e6:.0f} us per packet), tcpedu iter_segments {ours:.2f} s "
              f"({ours / equal * 1e6:.1f} us per packet)")
        print(f"ratio on equal counts: tcpedu is {theirs / ours:.1f}x faster than rdpcap")
        del got

    small, _ = peak(lambda: count_tcpedu(path, equal))
    large, _ = peak(lambda: count_tcpedu(path))
    kept, _ = peak(lambda: list(itertools.islice(iter_segments(path), equal)))
    print(f"tracemalloc peak while iterating: {equal:,} packets {small / 1e6:.2f} MB, "
          f"{packets:,} packets {large / 1e6:.2f} MB  (for comparison, keeping {equal:,} "
          f"segments in a list: {kept / 1e6:.1f} MB)")
    os.remove(path)
    os.rmdir(os.path.dirname(path))


if __name__ == "__main__":
    main()
