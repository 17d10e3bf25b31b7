"""RFC 9293's own figures as exact test vectors (profile "rfc").

Each figure lists, line by line, the sender's state after sending, the
segment in <SEQ=..><ACK=..><CTL=..> notation, and the receiver's state after
receiving it; the trace records the same three columns.
"""

import tcpedu
from tcpedu import Flags, State


def rows(trace):
    """(sender, header, client state, server state) per segment."""
    return [(s.sender, s.header(), str(s.client_state), str(s.server_state)) for s in trace]


def test_figure_6_basic_three_way_handshake():
    sim = tcpedu.Simulation(profile="rfc", client_isn=100, server_isn=300)
    sim.server.listen()
    assert sim.server.state is State.LISTEN and sim.client.state is State.CLOSED   # line 1
    sim.client.connect()
    sim.client.send(b"data")
    assert rows(sim.trace)[:4] == [
        ("client", "<SEQ=100><CTL=SYN>", "SYN-SENT", "SYN-RECEIVED"),                    # line 2
        ("server", "<SEQ=300><ACK=101><CTL=SYN,ACK>", "ESTABLISHED", "SYN-RECEIVED"),    # line 3
        ("client", "<SEQ=101><ACK=301><CTL=ACK>", "ESTABLISHED", "ESTABLISHED"),         # line 4
        ("client", "<SEQ=101><ACK=301><CTL=ACK><DATA 4>", "ESTABLISHED", "ESTABLISHED"),  # line 5
    ]


def test_figure_7_simultaneous_open():
    sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=100, server_isn=300)
    sim.client.connect()
    sim.server.connect()
    sim.wait(0.05)
    headers = sorted((s.sender, s.header()) for s in sim.trace)
    assert headers == sorted([
        ("client", "<SEQ=100><CTL=SYN>"),                    # line 2
        ("server", "<SEQ=300><CTL=SYN>"),                    # line 3
        ("client", "<SEQ=100><ACK=301><CTL=SYN,ACK>"),       # line 5
        ("server", "<SEQ=300><ACK=101><CTL=SYN,ACK>"),       # line 6
    ])
    for host in ("client", "server"):
        assert [str(s) for _, s in sim.trace.states(host)] == ["SYN-SENT", "SYN-RECEIVED",
                                                              "ESTABLISHED"]


def test_figure_8_recovery_from_old_duplicate_syn():
    sim = tcpedu.scenarios.old_duplicate_syn(profile="rfc", client_isn=100, server_isn=(300, 400),
                                             old_isn=90)
    assert [(s.sender, s.header()) for s in sim.trace] == [
        ("client", "<SEQ=90><CTL=SYN>"),                  # line 3 (the old duplicate)
        ("client", "<SEQ=100><CTL=SYN>"),                 # line 2 (held up in the network)
        ("server", "<SEQ=300><ACK=91><CTL=SYN,ACK>"),     # line 4
        ("client", "<SEQ=91><CTL=RST>"),                  # line 5
        ("server", "<SEQ=400><ACK=101><CTL=SYN,ACK>"),    # line 7
        ("client", "<SEQ=101><ACK=401><CTL=ACK>"),        # line 8
    ]
    assert [str(s) for _, s in sim.trace.states("server")] == [
        "LISTEN", "SYN-RECEIVED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    assert [str(s) for _, s in sim.trace.states("client")] == ["SYN-SENT", "ESTABLISHED"]


def _established(latency=0.01):
    # SND.NXT = 100 at the client and 300 at the server, as in Figures 12 and 13
    sim = tcpedu.Simulation(profile="rfc", latency=latency, client_isn=99, server_isn=299)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.1)
    start = len(sim.trace)
    return sim, start


def test_figure_12_normal_close_sequence():
    sim, start = _established()
    sim.client.close()
    sim.wait(0.05)
    assert sim.server.recv() == b""
    sim.server.close()
    sim.wait(0.05)
    assert rows(sim.trace)[start:] == [
        ("client", "<SEQ=100><ACK=300><CTL=FIN,ACK>", "FIN-WAIT-1", "CLOSE-WAIT"),   # line 2
        ("server", "<SEQ=300><ACK=101><CTL=ACK>", "FIN-WAIT-2", "CLOSE-WAIT"),       # line 3
        ("server", "<SEQ=300><ACK=101><CTL=FIN,ACK>", "TIME-WAIT", "LAST-ACK"),      # line 4
        ("client", "<SEQ=101><ACK=301><CTL=ACK>", "TIME-WAIT", "CLOSED"),            # line 5
    ]
    sim.wait(239.8)                                  # 2 MSL = 240 s after entering TIME-WAIT
    assert sim.client.state is State.TIME_WAIT
    sim.wait(0.2)
    assert sim.client.state is State.CLOSED                                          # line 6


def test_figure_13_simultaneous_close_sequence():
    sim, start = _established()
    sim.client.close()
    sim.server.close()
    sim.wait(0.05)
    assert sorted((s.sender, s.header()) for s in sim.trace[start:]) == sorted([
        ("client", "<SEQ=100><ACK=300><CTL=FIN,ACK>"),     # line 2
        ("server", "<SEQ=300><ACK=100><CTL=FIN,ACK>"),
        ("client", "<SEQ=101><ACK=301><CTL=ACK>"),         # line 3
        ("server", "<SEQ=301><ACK=101><CTL=ACK>"),
    ])
    for host in ("client", "server"):
        assert [str(s) for _, s in sim.trace.states(host)][-3:] == ["FIN-WAIT-1", "CLOSING",
                                                                    "TIME-WAIT"]
    sim.wait(240)
    assert sim.client.state is State.CLOSED and sim.server.state is State.CLOSED  # line 4


def test_figures_hold_across_the_sequence_number_wrap():
    """Figure 6 with ISNs just below 2**32: every number is taken modulo 2**32."""
    sim = tcpedu.Simulation(profile="rfc", client_isn=2**32 - 1, server_isn=2**32 - 2)
    sim.server.listen()
    sim.client.connect()
    sim.client.send(b"abc")
    assert [s.header() for s in sim.trace][:4] == [
        "<SEQ=4294967295><CTL=SYN>",
        "<SEQ=4294967294><ACK=0><CTL=SYN,ACK>",
        "<SEQ=0><ACK=4294967295><CTL=ACK>",
        "<SEQ=0><ACK=4294967295><CTL=ACK><DATA 3>",
    ]
    assert sim.trace[4].flags == Flags.ACK and sim.trace[4].ack == 3
