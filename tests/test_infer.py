"""State inference for captures: the engine replays what the kernel put on the wire."""

import os

import pytest

from tcpedu import Flags, State
from tcpedu.capture import read_pcap
from tcpedu.infer import infer_states
from tcpedu.live import compare
from tcpedu.trace import Trace

from .conformance.scripts import SCRIPTS
from .conformance.test_kernel import recorded

DATA = os.path.join(os.path.dirname(__file__), "data")


def states(trace):
    return [(str(s.client_state), str(s.server_state)) for s in trace]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_inferred_states_of_a_kernel_capture_equal_the_simulated_ones(name):
    captured = infer_states(read_pcap(os.path.join(DATA, f"{name}.pcap"), profile=None), "linux")
    engine = compare(SCRIPTS[name], recorded(name)).trace     # at the kernel's own times
    if name == "backlog_overflow":                  # the first connection of several
        engine = engine.between("client", "server")
    assert states(captured) == states(engine)
    assert not any(s.note for s in captured if "RST instead of FIN" not in s.note)
    if name in ("backlog_overflow", "self_connect"):
        return                                      # several connections / one endpoint
    # the ladder's state events: each side's path through the states, from the table's rows
    for host in ("client", "server"):
        assert [st for _, st in captured.states(host)] == [st for _, st in engine.states(host)]


def test_a_three_way_close_is_marked_under_the_rfc_profile_only():
    capture = read_pcap(os.path.join(DATA, "three_way_close.pcap"), profile=None)
    rfc, linux = infer_states(capture, "rfc"), infer_states(capture, "linux")
    merged = [s for s in rfc if "carries the delayed ACK" in s.note]
    assert len(merged) == 1 and merged[0].sender == "server" and merged[0].flags.tcpdump() == "F."
    assert not any(s.note for s in linux)
    assert (rfc[-1].client_state, rfc[-1].server_state) == (State.TIME_WAIT, State.CLOSED)


def test_an_rst_where_a_fin_was_expected_says_why():
    for name in ("rst_unread_data", "abortive_close"):
        inferred = infer_states(read_pcap(os.path.join(DATA, f"{name}.pcap"), profile=None), "linux")
        rst = inferred[-1] if Flags.RST in inferred[-1].flags else \
            next(s for s in inferred if Flags.RST in s.flags)
        assert "close" in rst.note and "unread" in rst.note and "SO_LINGER" in rst.note
    refused = infer_states(read_pcap(os.path.join(DATA, "connection_refused.pcap"), profile=None), "linux")
    assert refused[1].note == "" and refused[1].client_state is State.CLOSED


def test_a_capture_that_starts_after_the_handshake_resumes_in_established():
    full = read_pcap(os.path.join(DATA, "four_way_close.pcap"), profile=None)
    tail = Trace(full.segments[3:], [], "", {}, "tail")
    inferred = infer_states(tail, "linux")
    assert "no SYN captured" in inferred[0].note
    assert [str(s.client_state) for s in inferred][-4:] == ["FIN-WAIT-1", "FIN-WAIT-2",
                                                            "TIME-WAIT", "TIME-WAIT"]
    assert inferred[-1].server_state is State.CLOSED


def test_inference_leaves_the_input_alone():
    capture = read_pcap(os.path.join(DATA, "abortive_close.pcap"), profile=None)
    before = [(s.note, s.client_state) for s in capture]
    infer_states(capture, "rfc")
    assert [(s.note, s.client_state) for s in capture] == before


def test_read_pcap_infers_states_by_default():
    trace = read_pcap(os.path.join(DATA, "half_close_server_data.pcap"))
    assert trace.profile == "linux" and trace.events
    assert (trace[-1].client_state, trace[-1].server_state) == (State.TIME_WAIT, State.CLOSED)
    raw = read_pcap(os.path.join(DATA, "half_close_server_data.pcap"), profile=None)
    assert raw[-1].client_state is None and not raw.events


def test_a_syn_the_server_never_answered_leaves_it_listening():
    trace = read_pcap(os.path.join(DATA, "backlog_overflow.pcap"), connection=2)
    assert all(s.server_state is State.LISTEN for s in trace)
    assert all("no answer from the server" in s.note for s in trace)
    assert [round(s.time) for s in trace] == [0, 1, 2, 3]               # the SYN retransmissions
    assert sum(s.retransmission for s in trace) == 3
