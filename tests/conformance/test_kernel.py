"""The "linux" profile against the real kernel: recorded captures, and fresh ones where possible.

Each script of ``scripts.SCRIPTS`` is played on the engine (profile "linux",
latency 0: loopback) and compared with the kernel's run: the segments (sender,
flags, relative seq/ack, payload length, order), what each call returned or
raised, and both sockets' states after every step.
"""

import json
import os

import pytest

from tcpedu.capture import read_pcap
from tcpedu.live import capture_supported, run_live
from tcpedu.script import run_simulated, sides

from .scripts import SCRIPTS, SETTLE

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "data")


LOOPBACK_MSS = 65483   # MTU 65536 - 40 bytes of headers - 12 of timestamp option


def engine(name):
    return run_simulated(SCRIPTS[name], profile="linux", latency=0.0, settle=SETTLE,
                         mss=LOOPBACK_MSS)


def _as_client(trace, host):
    """The connection of ``host`` with the server, with ``host`` named "client" as a capture
    names the side that sent the first SYN."""
    if host == "client":
        return trace.between("client", "server") if any(s.receiver == "server" for s in trace) \
            else trace
    part = trace.between(host, "server")
    for s in part.segments:
        s.sender = "client" if s.sender == host else s.sender
        s.receiver = "client" if s.receiver == host else s.receiver
    return part


def check(name, pcap, results, states):
    sim, outcome = engine(name)
    clients = [s for s in sides(SCRIPTS[name]) if s != "server"]
    for i, host in enumerate(clients):
        mine = _as_client(engine(name)[0].trace, host)
        if not mine.segments:
            continue
        diff = mine.compare(read_pcap(pcap, i))
        assert diff.same, f"{name} ({host}): engine vs kernel\n{diff}\nengine:\n{mine.relative()}"
    assert outcome.results == results, name
    assert outcome.states == states, name


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_engine_matches_recorded_kernel_capture(name):
    with open(os.path.join(DATA, f"{name}.json")) as f:
        meta = json.load(f)
    check(name, os.path.join(DATA, f"{name}.pcap"), meta["results"], meta["states"])


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_engine_matches_this_kernel_now(name, tmp_path):
    why = capture_supported()
    if why:
        pytest.skip(f"cannot capture loopback traffic: {why}")
    run = run_live(SCRIPTS[name], capture=str(tmp_path / f"{name}.pcap"), settle=SETTLE)
    check(name, run.capture, run.outcome.results, run.outcome.states)


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
