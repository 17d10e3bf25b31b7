"""The "linux" profile against the real kernel: recorded captures, and fresh ones where possible.

Each script of ``scripts.SCRIPTS`` is played on the kernel (loopback), then on the engine
(profile "linux", latency 0) at the very times the kernel's run made each call and read
each state (:func:`tcpedu.live.compare`), and the two are compared: the segments (sender,
flags, relative seq/ack, payload length, order), what each call returned or raised, and
both sockets' states after every step.  A busy machine makes the kernel's steps late; the
engine then makes them late too, so no comparison depends on the load.
"""

import json
import os

import pytest

from tcpedu.capture import read_pcap
from tcpedu.live import capture_supported, compare, run_live
from tcpedu.script import Outcome, StepTimes

from .scripts import SCRIPTS, settle

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "data")


def recorded(name: str) -> Outcome:
    with open(os.path.join(DATA, f"{name}.json")) as f:
        meta = json.load(f)
    times = [StepTimes(tuple(t["call"]), tuple(t["sample"])) for t in meta["times"]]
    return Outcome(SCRIPTS[name], meta["results"], meta["states"], times)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_engine_matches_recorded_kernel_capture(name):
    run = compare(SCRIPTS[name], recorded(name), os.path.join(DATA, f"{name}.pcap"))
    assert run.agree, f"{name}: engine vs kernel\n{run}"
    assert not run.races, f"{name}: recorded on a quiet machine, yet {run.races}"


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_engine_matches_this_kernel_now(name, tmp_path):
    why = capture_supported()
    if why:
        pytest.skip(f"cannot capture loopback traffic: {why}")
    real = run_live(SCRIPTS[name], capture=str(tmp_path / f"{name}.pcap"), settle=settle(name))
    run = compare(SCRIPTS[name], real.outcome, real.capture)
    assert run.agree, f"{name}: engine vs kernel\n{run}"


def test_a_reply_at_the_same_instant_enters_pingpong_mode():
    """Two request/response rounds with no wait, close() right after the last recv():
    the kernel's FIN carries the ACK of the last reply (no separate pure ACK)."""
    cap = read_pcap(os.path.join(DATA, "request_response_close.pcap")).relative()
    tail = [(s.sender, s.flags.tcpdump(), s.len) for s in cap][-3:]
    assert tail == [("server", "P.", 7), ("client", "F.", 0), ("server", ".", 0)]
    run = compare(SCRIPTS["request_response_close"], recorded("request_response_close"))
    flags = [s.flags.tcpdump() for s in run.trace.segments]
    assert flags[-3:] == ["P.", "F.", "."], run.trace


def test_replaying_the_kernels_times_makes_a_late_step_late_in_the_engine_too():
    """The race of the CI failure: the state read after client.close() came just before the
    peer's delayed ACK (kernel FIN-WAIT-1) or after it (FIN-WAIT-2); the engine follows
    the times it is given, and says "race" when the read is within a tick of the timer."""
    base = recorded("four_way_close")
    i = SCRIPTS["four_way_close"].index(("client", "close"))
    t0 = base.times[i].call[0]

    def lab(delay: float, kernel_state: str):
        times = [StepTimes((t.call[0] + 0.05, t.call[1] + 0.05), (t.sample[0] + 0.05, t.sample[1] + 0.05))
                 if j > i else t for j, t in enumerate(base.times)]          # later steps: later
        times[i] = StepTimes((t0, t0 + 0.0001), (t0 + delay, t0 + delay + 0.0001))
        states = [dict(s) for s in base.states]
        states[i]["client"] = kernel_state
        return compare(SCRIPTS["four_way_close"], Outcome(base.steps, base.results, states, times),
                       tick=0.004)

    def read_at(delay: float, kernel_state: str):
        return lab(delay, kernel_state).verdicts[i]

    assert read_at(0.030, "FIN-WAIT-1").status == "same"       # long before the 40 ms timer
    assert read_at(0.030, "FIN-WAIT-2").status == "differs"
    assert read_at(0.047, "FIN-WAIT-2").status == "same"       # the ACK has surely left
    assert read_at(0.047, "FIN-WAIT-1").status == "differs"
    for kernel_state in ("FIN-WAIT-1", "FIN-WAIT-2"):          # 42 ms: either can be seen
        verdict = read_at(0.042, kernel_state)
        assert verdict.status == "race" and "delayed-ack timer" in verdict.note, verdict
        assert f"the kernel gave ok, client {kernel_state}" in verdict.note
    assert read_at(0.042, "CLOSED").status == "differs"
    raced = lab(0.042, "FIN-WAIT-1")          # (the later steps' recorded states are not moved)
    assert raced.verdicts[i].ok and raced.races[0].startswith(f"step {i + 1}: server's")
    assert "≈ timer race" in raced._repr_html_() and "✗ differs" in lab(0.042, "CLOSED")._repr_html_()


def test_recorded_captures_show_the_linux_facts_the_profile_encodes():
    """Read straight from the kernel's captures, independent of the engine."""
    three = read_pcap(os.path.join(DATA, "three_way_close.pcap")).relative()
    closing = [s for s in three if s.time >= three[-4].time]
    assert [s.flags.tcpdump() for s in closing[-3:]] == ["F.", "F.", "."]      # three segments
    four = read_pcap(os.path.join(DATA, "four_way_close.pcap"))
    fin, ack = four[-4], four[-3]
    assert fin.flags.tcpdump() == "F." and ack.flags.tcpdump() == "."
    assert ack.time - fin.time >= 0.040                                       # delayed ACK
    rst = read_pcap(os.path.join(DATA, "rst_unread_data.pcap")).relative()[-1]
    assert rst.flags.tcpdump() == "R." and rst.ack == 11                       # no FIN; acks all
    abort = read_pcap(os.path.join(DATA, "abortive_close.pcap"))
    assert [s.flags.tcpdump() for s in abort][-1] == "R."
    refused = read_pcap(os.path.join(DATA, "connection_refused.pcap"))
    assert (refused[1].flags.tcpdump(), refused[1].seq, refused[1].ack) == ("R.", 0,
                                                                           refused[0].seq + 1)
    shut = read_pcap(os.path.join(DATA, "shutdown_rd.pcap")).relative()
    assert not any(s.flags.tcpdump() in ("F.", "R.", "R") for s in shut)       # SHUT_RD: silent
