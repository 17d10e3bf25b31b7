"""The public API's contract: socket-module-like errors, argument checking, printing, scenarios.

A course notebook calls ``sim.client.send(...)`` the way a program calls a socket, so
the simulated calls must fail the way the ``socket`` module fails: the same exception
classes and errno values, with a message that names the TCP state.
"""

from __future__ import annotations

import errno
import re
import socket

import pytest

import tcpedu
from tcpedu import Flags, State

PROFILES = ["rfc", "linux"]
SEQ_MAX = 2**32 - 1


def connected(profile: str, latency: float = 0.0, **kw) -> tcpedu.Simulation:
    sim = tcpedu.Simulation(profile=profile, latency=latency, client_isn=100, server_isn=300, **kw)
    sim.server.listen()
    sim.client.connect()
    sim.wait(3 * latency)
    assert (sim.client.state, sim.server.state) == (State.ESTABLISHED, State.ESTABLISHED)
    return sim


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("latency", [0.0, 0.01])
@pytest.mark.parametrize("profile", PROFILES)
def test_send_after_shut_wr_is_broken_pipe_naming_the_state(profile, latency):
    sim = connected(profile, latency)
    sim.client.send(b"before")                       # still allowed
    sim.client.shutdown(socket.SHUT_WR)
    with pytest.raises(BrokenPipeError) as info:
        sim.client.send(b"after")
    assert info.value.errno == errno.EPIPE
    state = sim.client.state
    assert state in (State.FIN_WAIT_1, State.FIN_WAIT_2)
    assert str(state) in str(info.value)
    # the refused bytes never reach the wire: the last data segment is the 6 allowed bytes
    assert [s.payload for s in sim.trace if s.sender == "client" and s.payload] == [b"before"]


@pytest.mark.parametrize("profile", PROFILES)
def test_socket_methods_after_close_raise_ebadf(profile):
    sim = connected(profile)
    sock = sim.client.socket
    sim.client.close()
    calls = {
        "send": lambda: sock.send(b"x"),
        "recv": lambda: sock.recv(),
        "shutdown": lambda: sock.shutdown(socket.SHUT_WR),
        "setsockopt": lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        "keepalive": lambda: sock.keepalive(),
        "host send": lambda: sim.client.send(b"x"),      # the host acts on the same socket
    }
    for what, call in calls.items():
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EBADF, what
        assert not isinstance(info.value, BrokenPipeError), what
        assert "close()" in str(info.value), what
    segments = len(sim.trace)
    assert sock.close() is None and sock.abort() is None      # closing again is a no-op
    assert len(sim.trace) == segments


@pytest.mark.parametrize("latency", [0.0, 0.01])
@pytest.mark.parametrize("profile", PROFILES)
def test_recv_after_peer_abort_is_reset_then_eof_then_broken_pipe(profile, latency):
    """Linux (measured): ECONNRESET once, then EOF; a send after that is EPIPE."""
    sim = connected(profile, latency)
    sim.server.abort()
    sim.wait(2 * latency)
    rst = sim.trace[-1]
    assert rst.sender == "server" and rst.flags == sim.profile.abort_flags and rst.seq == 301
    assert sim.client.state is State.CLOSED
    with pytest.raises(ConnectionResetError) as info:
        sim.client.recv()
    assert info.value.errno == errno.ECONNRESET
    assert sim.client.recv() == b""
    assert sim.client.recv() == b""
    with pytest.raises(BrokenPipeError) as info:
        sim.client.send(b"x")
    assert info.value.errno == errno.EPIPE


@pytest.mark.parametrize("client_isn, ack", [(100, 101), (SEQ_MAX, 0)])
@pytest.mark.parametrize("profile", PROFILES)
def test_connect_to_a_host_not_listening_is_refused(profile, client_isn, ack):
    sim = tcpedu.Simulation(profile=profile, latency=0, client_isn=client_isn)
    with pytest.raises(ConnectionRefusedError) as info:
        sim.client.connect()
    assert info.value.errno == errno.ECONNREFUSED
    assert sim.client.state is State.CLOSED
    syn, rst = sim.trace.segments
    assert (syn.sender, syn.flags, syn.seq) == ("client", Flags.SYN, client_isn)
    # RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    assert (rst.sender, rst.flags, rst.seq, rst.ack) == ("server", Flags.RST | Flags.ACK, 0, ack)


@pytest.mark.parametrize("profile", PROFILES)
def test_connect_twice_is_eisconn(profile):
    sim = connected(profile)
    segments = len(sim.trace)
    with pytest.raises(OSError) as info:
        sim.client.connect()
    assert info.value.errno == errno.EISCONN
    assert "ESTABLISHED" in str(info.value)
    assert len(sim.trace) == segments and sim.client.state is State.ESTABLISHED


def test_recv_with_nothing_to_read_is_blocking_io_error():
    sim = connected("rfc")
    with pytest.raises(BlockingIOError) as info:
        sim.server.recv()
    assert info.value.errno == errno.EAGAIN
    sim.client.send(b"hello")
    assert sim.server.recv(2) == b"he"
    assert sim.server.recv() == b"llo"


# ----------------------------------------------------------------------------- argument checks

def _raises_value_error(call, *allowed: str) -> str:
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    for word in allowed:
        assert word in text, f"{text!r} does not mention {word!r}"
    return text


def test_negative_wait_is_a_value_error():
    sim = tcpedu.Simulation()
    _raises_value_error(lambda: sim.wait(-1), "wait", ">= 0", "-1")
    _raises_value_error(lambda: sim.wait(float("nan")), "wait", "finite")
    assert sim.now == 0.0


def test_unknown_profile_is_a_value_error_naming_the_profiles():
    _raises_value_error(lambda: tcpedu.Simulation(profile="bsd"), "'bsd'", "'linux'", "'rfc'")


@pytest.mark.parametrize("value", [-1, 2**32, 1.5, "7", True])
@pytest.mark.parametrize("which", ["client_isn", "server_isn"])
def test_isn_outside_32_bits_is_a_value_error(which, value):
    text = _raises_value_error(lambda: tcpedu.Simulation(**{which: value}), which, "0..2**32-1")
    assert repr(value) in text


@pytest.mark.parametrize("isn", [0, SEQ_MAX])
def test_isn_at_the_ends_of_the_range_is_accepted(isn):
    sim = tcpedu.Simulation(client_isn=isn, server_isn=isn)
    sim.server.listen()
    sim.client.connect()
    assert sim.trace.isn == {"client": isn, "server": isn}


def test_drop_next_for_an_unknown_sender_is_a_value_error_naming_the_hosts():
    sim = tcpedu.Simulation()
    _raises_value_error(lambda: sim.drop_next("router"), "'router'", "'client'", "'server'")


@pytest.mark.parametrize("loss", [-0.1, 1.1, float("nan"), "0.1"])
def test_loss_outside_0_1_is_a_value_error(loss):
    _raises_value_error(lambda: tcpedu.Simulation(loss=loss), "loss", "between 0 and 1")


@pytest.mark.parametrize("latency", [-0.001, float("inf")])
def test_bad_latency_is_a_value_error(latency):
    _raises_value_error(lambda: tcpedu.Simulation(latency=latency), "latency", ">= 0")


@pytest.mark.parametrize("how", [3, -1, "SHUT_WR", None])
def test_bad_shutdown_how_is_a_value_error_naming_the_choices(how):
    sim = connected("rfc")
    _raises_value_error(lambda: sim.client.shutdown(how), "SHUT_RD", "SHUT_WR", "SHUT_RDWR")
    assert sim.client.state is State.ESTABLISHED


# ----------------------------------------------------------------------------- printing

def test_trace_prints_like_tcpdump_with_states(capsys):
    sim = tcpedu.Simulation(profile="rfc", latency=0, client_isn=100, server_isn=300)
    sim.server.listen()
    sim.client.connect()
    print(sim.trace)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "client > server: Flags [S], seq 100," in lines[0]
    assert "server > client: Flags [S.], seq 300, ack 101," in lines[1]
    assert "client > server: Flags [.], seq 101, ack 301," in lines[2]
    assert re.match(r"^ *0\.000000 client > server", lines[0])
    assert "[client SYN-SENT | server SYN-RECEIVED]" in lines[0]
    assert "[client ESTABLISHED | server ESTABLISHED]" in lines[2]
    assert ", ack" not in lines[0]                       # no ACK flag, no ack field


def test_trace_lines_show_data_ranges_and_losses():
    sim = connected("rfc", 0.01)
    sim.drop_next("client", Flags.ACK)
    sim.client.send(b"hello")
    sim.wait(2)
    lines = str(sim.trace).splitlines()
    assert "Flags [.], seq 101:106, ack 301, win 65535, length 5" in lines[3]
    assert "LOST" in lines[3]
    assert "retransmission" in lines[4] and "seq 101:106" in lines[4]
    # the receiver acknowledges RCV.NXT: the next byte it expects
    assert "server > client: Flags [.], seq 301, ack 106," in lines[5]


def test_trace_html_is_a_table_with_each_segments_flags():
    sim = connected("linux", 0.01)
    sim.client.close()
    sim.wait(1)
    page = sim.trace._repr_html_()
    assert page.startswith("<table") and page.endswith("</table>")
    rows = re.findall(r"<tr><td>.*?</tr>", page)
    assert len(rows) == len(sim.trace)
    for row, seg in zip(rows, sim.trace, strict=True):
        assert f"<td>{seg.flags}</td>" in row
        assert f"<td>{seg.seq}</td>" in row
    assert "<td>SYN,ACK</td>" in page and "<td>FIN,ACK</td>" in page


@pytest.mark.parametrize("client_isn, server_isn",
                         [(100, 300), (SEQ_MAX, SEQ_MAX - 2), (SEQ_MAX - 1, 0), (0, SEQ_MAX)])
@pytest.mark.parametrize("profile", PROFILES)
def test_relative_numbers_start_at_zero_for_any_isn(profile, client_isn, server_isn):
    sim = tcpedu.Simulation(profile=profile, latency=0.01, client_isn=client_isn,
                            server_isn=server_isn)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.05)
    sim.client.send(b"12345")
    sim.wait(0.05)
    rel = sim.trace.relative()
    assert rel.summary()[:4] == [("client", "SYN", 0, 0, 0), ("server", "SYN,ACK", 0, 1, 0),
                                 ("client", "ACK", 1, 1, 0),
                                 ("client", "PSH,ACK" if profile == "linux" else "ACK", 1, 1, 5)]
    assert "seq 1:6, ack 1," in rel.lines()[3]
    # the original trace keeps the absolute numbers
    assert sim.trace[0].seq == client_isn and sim.trace[1].seq == server_isn
    assert sim.trace[1].ack == (client_isn + 1) % 2**32


def test_state_and_flags_print_as_the_rfc_and_tcpdump_spell_them():
    assert str(State.FIN_WAIT_2) == "FIN-WAIT-2"
    assert str(State.SYN_RECEIVED) == "SYN-RECEIVED"
    synack = Flags.SYN | Flags.ACK
    assert str(synack) == "SYN,ACK"
    assert synack.tcpdump() == "S."
    assert (Flags.FIN | Flags.ACK).tcpdump() == "F." and (Flags.RST | Flags.ACK).tcpdump() == "R."
    assert Flags.parse("SYN,ACK") == synack == Flags.parse("S.")


# ----------------------------------------------------------------------------- seeds

def _lossy_run(seed: int) -> tcpedu.Simulation:
    sim = tcpedu.Simulation(profile="linux", latency=0.01, loss=0.2, seed=seed)
    sim.server.listen()
    sim.client.connect()
    sim.wait(3)
    sim.client.send(bytes(range(256)) * 20)
    sim.wait(5)
    sim.server.recv()
    sim.client.close()
    sim.wait(10)
    return sim


def test_same_seed_gives_the_same_trace():
    a, b = _lossy_run(7), _lossy_run(7)
    assert len(a.trace) > 5
    assert str(a.trace) == str(b.trace)
    assert a.trace.segments == b.trace.segments
    assert a.trace.isn == b.trace.isn


def test_different_seeds_give_different_random_isns():
    isns = []
    for seed in (1, 2, 3):
        sim = tcpedu.Simulation(seed=seed)
        sim.server.listen()
        sim.client.connect()
        isns.append((sim.trace.isn["client"], sim.trace.isn["server"]))
    assert len({c for c, _ in isns}) == 3 and len({s for _, s in isns}) == 3
    assert all(0 <= n <= SEQ_MAX for pair in isns for n in pair)


def test_given_isns_are_used_in_order_then_drawn_from_the_seed():
    sim = tcpedu.Simulation(client_isn=[10, 20], seed=5)
    sim.server.listen()
    for expected in (10, 20):
        sim.client.connect()
        assert sim.client.endpoint.iss == expected
        sim.client.abort()
    sim.client.connect()
    assert sim.client.endpoint.iss not in (10, 20)


# ----------------------------------------------------------------------------- scenarios

@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", tcpedu.scenarios.names())
def test_every_scenario_builds_with_both_profiles(name, profile):
    sim = tcpedu.scenarios.run(name, profile=profile)
    assert isinstance(sim, tcpedu.Simulation)
    assert sim.profile.name == profile
    assert len(sim.trace) > 0
    assert str(sim.trace).count("\n") == len(sim.trace) - 1


def test_scenario_with_an_unknown_parameter_names_the_allowed_ones():
    text = _raises_value_error(lambda: tcpedu.scenarios.run("handshake", bogus=1), "bogus")
    for param in tcpedu.scenarios.get("handshake").params:
        assert param in text


def test_unknown_scenario_lists_the_known_names():
    text = _raises_value_error(lambda: tcpedu.scenarios.run("no_such_scenario"), "no_such_scenario")
    for name in tcpedu.scenarios.names():
        assert name in text


# ------------------------------------------------------- regressions (bugs found by these tests)

@pytest.mark.parametrize("profile", PROFILES)
def test_listener_shut_down_refuses_connections(profile):
    """RFC 9293 §3.10.4: CLOSE in LISTEN deletes the TCB, so a SYN then meets a closed port
    (§3.10.7.1: RST,ACK).  Linux inet_shutdown(): SHUT_RD on a listener calls
    tcp_disconnect(), which leaves LISTEN for CLOSE; a SYN then gets RST,ACK (ECONNREFUSED)."""
    sim = tcpedu.Simulation(profile=profile, latency=0, client_isn=100, server_isn=300)
    sim.server.listen()
    sim.server.shutdown(socket.SHUT_RDWR)
    assert sim.server.state is State.CLOSED
    with pytest.raises(ConnectionRefusedError):
        sim.client.connect()
    assert [s.flags for s in sim.trace] == [Flags.SYN, Flags.RST | Flags.ACK]


def test_linux_recv_after_rst_in_close_wait_is_eof():
    """Linux tcp_reset() stores EPIPE for a socket in CLOSE-WAIT, but tcp_recvmsg_locked()
    (net/ipv4/tcp.c, 6.18) tests SOCK_DONE, set by tcp_fin() when the peer's FIN arrived,
    before sk->sk_err, so recv() returns 0 (EOF); the EPIPE is reported by the next send()."""
    sim = connected("linux")
    sim.client.shutdown(socket.SHUT_WR)
    sim.wait(1)
    assert sim.server.state is State.CLOSE_WAIT
    assert sim.server.recv() == b""
    sim.client.abort()
    assert sim.server.state is State.CLOSED
    assert sim.server.recv() == b""
    with pytest.raises(BrokenPipeError):
        sim.server.send(b"x")


def test_connect_refuses_a_four_tuple_already_in_use():
    """RFC 9293 §3.3: a pair of sockets identifies one connection.  Linux connect() on a
    4-tuple held by another socket (here one in FIN-WAIT-1) fails with EADDRNOTAVAIL
    (__inet_check_established).  The engine opens a second TCB on server:80 <-> client:49152;
    both then put segments with different ISNs on the wire for the same 4-tuple."""
    sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=100, server_isn=[300, 700])
    sim.server.listen()
    sim.drop_next("server", Flags.SYN | Flags.ACK, count=5)   # the client stays in SYN-SENT
    sim.client.connect()
    sim.wait(0.015)
    sim.server.close()            # the SYN-RECEIVED connection: FIN-WAIT-1, still on the tuple
    assert sim.client.state is State.SYN_SENT
    with pytest.raises(OSError):
        sim.server.connect()      # would mirror the client's ports: server:80 -> client:49152
    tuples = [(s.local_port, s.remote) for s in sim.server.sockets if s.state is not State.CLOSED]
    assert len(tuples) == len(set(tuples))


@pytest.mark.parametrize("note", ["old duplicate SYN", "stale SYN from an earlier run", "injected"])
def test_an_injected_syn_is_not_the_isn_whatever_its_note_says(note):
    """Whether a segment was injected is a field, not a prefix of its note."""
    sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=1000, server_isn=5000)
    sim.server.listen()
    sim.inject("client", Flags.SYN, 90_000, note=note)        # from the port connect() will use
    sim.wait(0.05)
    sim.client.connect()
    sim.wait(0.05)
    injected = [s for s in sim.trace if s.injected]
    assert [s.note for s in injected] == [note] and not any(s.injected for s in sim.trace
                                                            if s not in injected)
    assert injected[0].sport == next(s for s in sim.trace if s.sender == "client"
                                     and not s.injected).sport       # the same connection
    syn = next(s for s in sim.trace.relative() if s.sender == "client" and Flags.SYN in s.flags
               and not s.injected)
    assert syn.seq == 0                                  # counted from the client's real SYN


def test_a_scenario_without_a_docstring_is_refused_saying_why():
    with pytest.raises(TypeError, match="needs a docstring"):
        @tcpedu.scenarios._scenario
        def undocumented(profile="rfc"):
            return tcpedu.Simulation(profile=profile)
    assert "undocumented" not in tcpedu.scenarios.names()


def test_save_to_pcap_writes_the_segments(tmp_path):
    sim = tcpedu.scenarios.four_way_close(client_isn=1000, server_isn=5000)
    path = sim.trace.save(tmp_path / "close.pcap")
    assert tcpedu.read_pcap(path).compare(sim.trace).same
    with pytest.raises(ValueError, match="no drawing options"):
        sim.trace.save(tmp_path / "x.pcap", symbolic=True)


def test_the_fin_seq_and_pending_error_are_public():
    sim = tcpedu.scenarios.four_way_close(client_isn=1000, server_isn=5000)
    fin = next(s for s in sim.trace if s.sender == "client" and Flags.FIN in s.flags)
    ep = sim.client.endpoint
    assert ep.fin_seq == fin.seq
    with pytest.raises(AttributeError):
        ep.fin_seq = 1                                       # read-only
    ep.raise_pending_error()                                 # nothing pending: no error
