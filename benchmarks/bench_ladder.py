"""Ladder benchmarks (issue: sequence-ladder pictures): prints figures, asserts nothing.

  1. A 30-segment ladder drawn and written to PNG (100 dpi).  Target <= 0.3 s.
  2. All frames of a 30-segment stepper (ladder frames and state-diagram
     frames, the widgets built).  Target <= 3 s.
  3. One animation step in the widget.  Stepping is done by the browser: the
     Play button's value is jslinked to the slider, and the slider to each
     Stack's selected_index, so the front end switches images by itself.  What
     Python can measure is the cost of setting ``Play.value`` from Python
     (traitlets validation and the comm message that tells the front end);
     with no front end attached, that is all a step costs on the kernel side.

Run: python benchmarks/bench_ladder.py   (times are the best of several runs,
after one warm-up that loads matplotlib and its fonts, reported separately).
"""

import io
import time

import matplotlib

matplotlib.use("Agg")

import tcpedu  # noqa: E402
from tcpedu.ladder import draw_ladder  # noqa: E402
from tcpedu.stepper import Stepper  # noqa: E402


def thirty_segments() -> tcpedu.Trace:
    """The first 30 segments of a transfer cut into 100-byte segments (and the events up to them)."""
    tr = tcpedu.scenarios.data_transfer(mss=100, request=1300, response=200, client_isn=100,
                                        server_isn=300).trace
    segs = tr.segments[:30]
    end = segs[-1].time
    return tcpedu.Trace(segs, [e for e in tr.events if e.time <= end], tr.profile, dict(tr.isn))


def ladder_png(trace) -> int:
    fig = draw_ladder(trace)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return len(buf.getvalue())


def best(fn, runs: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    trace = thirty_segments()
    n = len(trace)
    start = time.perf_counter()
    ladder_png(trace)
    cold = time.perf_counter() - start
    seconds, size = best(lambda: ladder_png(trace))
    print(f"{n}-segment ladder to PNG: {seconds:.3f} s ({size / 1e3:.0f} kB; first call, loading "
          f"fonts: {cold:.3f} s; target <= 0.3 s)")

    seconds, st = best(lambda: Stepper(trace), runs=3)
    total = sum(map(len, st.frames)) + sum(map(len, st.graph_frames or []))
    graph = f"{len(set(st.graph_frames))} distinct state-diagram frames" if st.graph_frames \
        else f"no state diagram ({st.graph_note})"
    print(f"{n}-segment stepper, all {len(st.frames)} frames: {seconds:.3f} s ({graph}; "
          f"{total / 1e6:.2f} MB of PNG in the widget state; target <= 3 s)")

    steps = 2000
    start = time.perf_counter()
    for k in range(steps):
        st.play.value = k % (n + 1)
    per_step = (time.perf_counter() - start) / steps
    print(f"one animation step, Python side (Play.value = k; the browser switches the linked "
          f"Stack): {per_step * 1e6:.0f} us; no Python callback runs, so a step costs the "
          f"kernel nothing when Play runs in the browser")


if __name__ == "__main__":
    main()
