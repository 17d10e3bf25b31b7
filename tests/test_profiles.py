"""Each difference between the "rfc" and "linux" profiles, pinned."""

import dataclasses
import socket

import pytest

import tcpedu
from tcpedu import Flags, State
from tcpedu.profiles import PROFILES, SOURCES, profile_table_markdown


def flags(trace, since=0):
    return [s.flags.tcpdump() for s in trace[since:]]


def connected(profile, exchange=True, latency=0.01):
    sim = tcpedu.Simulation(profile=profile, latency=latency, client_isn=1000, server_isn=5000)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.05)
    if exchange:
        sim.client.send(b"ping")
        sim.wait(0.02)
        sim.server.recv()
        sim.server.send(b"pong")
        sim.wait(0.02)
        sim.client.recv()
        sim.wait(0.3)
    return sim, len(sim.trace)


def test_same_calls_close_in_four_segments_rfc_and_three_linux():
    rfc = tcpedu.scenarios.three_way_close(profile="rfc", until_closed=False).trace
    linux = tcpedu.scenarios.three_way_close(profile="linux", until_closed=False).trace
    assert flags(rfc, 3) == ["F.", ".", "F.", "."]
    assert flags(linux, 3) == ["F.", "F.", "."]


@pytest.mark.parametrize("exchange, delay", [(True, 0.040), (False, 0.002)])
def test_linux_delays_the_ack_of_a_fin(exchange, delay):
    sim, start = connected("linux", exchange)
    sim.client.close()
    sim.wait(1)
    fin, ack = sim.trace[start], sim.trace[start + 1]
    assert (fin.flags.tcpdump(), ack.flags.tcpdump()) == ("F.", ".")
    # arrival 10 ms after the FIN was sent, then the delayed-ACK timer
    assert ack.time - fin.time == pytest.approx(0.01 + delay)
    sim, start = connected("rfc", exchange)
    sim.client.close()
    sim.wait(1)
    assert sim.trace[start + 1].time - sim.trace[start].time == pytest.approx(0.01)


def test_linux_quick_acks_then_piggybacks_in_request_response():
    sim, start = connected("linux")
    # ping was acknowledged at once (quick-ACK), pong carried the client's ACK back
    assert flags(sim.trace, 3) == ["P.", ".", "P.", "."]
    sim.client.send(b"again")
    sim.wait(0.012)
    sim.server.recv()
    sim.server.send(b"reply")
    sim.wait(0.1)
    # now in pingpong mode: the server's ACK rides on its reply
    assert flags(sim.trace, start) == ["P.", "P.", "."]


@pytest.mark.parametrize("profile, seconds", [("rfc", 240), ("linux", 60)])
def test_time_wait_lasts_2msl_or_60s(profile, seconds):
    sim = tcpedu.scenarios.four_way_close(profile=profile, until_closed=False)
    entered = sim.trace.states("client")[-1]
    assert entered[1] is State.TIME_WAIT
    sim.wait(entered[0] + seconds - sim.now - 0.001)
    assert sim.client.state is State.TIME_WAIT
    sim.wait(0.002)
    assert sim.client.state is State.CLOSED
    assert PROFILES[profile].time_wait == seconds


@pytest.mark.parametrize("profile, rst", [("rfc", "R"), ("linux", "R.")])
def test_close_with_unread_data_and_abort_send_rst_not_fin(profile, rst):
    for name in ("rst_unread_data", "abortive_close"):
        sim = tcpedu.scenarios.run(name, profile=profile)
        last = sim.trace[-1]
        assert last.flags.tcpdump() == rst and "F" not in "".join(flags(sim.trace))
        closer = sim.hosts[last.sender].endpoint
        assert last.seq == closer.snd_nxt
        if rst == "R.":
            assert last.ack == closer.rcv_nxt
        assert sim.client.state is State.CLOSED and sim.server.state is State.CLOSED


@pytest.mark.parametrize("profile", ["rfc", "linux"])
def test_shutdown_rd_sends_nothing_and_data_still_arrives(profile):
    sim, start = connected(profile)
    sim.server.shutdown(socket.SHUT_RD)
    assert len(sim.trace) == start
    sim.client.send(b"late")
    sim.wait(0.1)
    assert sim.server.recv() == b"late" and sim.server.recv() == b""


@pytest.mark.parametrize("profile, times, gives_up", [
    ("rfc", [0, 1, 3, 7, 15, 31, 63, 123], 183),               # RTO doubles, capped at 60 s
    ("linux", [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], 131),     # measured on Linux 6.18
])
def test_syn_retransmission_schedule(profile, times, gives_up):
    sim = tcpedu.Simulation(profile=profile)
    sim.server.listen()
    sim.drop_next("client", Flags.SYN, count=50)
    sim.client.connect()
    sim.wait(gives_up - 0.5)
    assert [s.time for s in sim.trace] == times
    assert sim.client.state is State.SYN_SENT
    sim.wait(1)
    assert sim.client.state is State.CLOSED
    with pytest.raises(TimeoutError):
        sim.client.recv()


@pytest.mark.parametrize("profile, answer", [("rfc", "."), ("linux", "S.")])
def test_retransmitted_syn_in_syn_received(profile, answer):
    sim = tcpedu.Simulation(profile=profile, latency=0.01)
    sim.server.listen()
    sim.drop_next("server", Flags.SYN | Flags.ACK)
    sim.client.connect()
    sim.wait(1.05)
    answers = [s for s in sim.trace if s.sender == "server" and s.time == pytest.approx(1.01)]
    assert answer in [s.flags.tcpdump() for s in answers]


@pytest.mark.parametrize("profile, segments", [("rfc", ["S", "S", "S.", "S."]),
                                               ("linux", ["S", "S", "S.", "S.", ".", "."])])
def test_simultaneous_open_acks_the_duplicate_syn_on_linux(profile, segments):
    sim = tcpedu.scenarios.simultaneous_open(profile=profile)
    assert flags(sim.trace) == segments
    assert sim.client.state is State.ESTABLISHED and sim.server.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ["rfc", "linux"])
def test_orphaned_fin_wait_2(profile):
    sim, _ = connected(profile)
    sim.client.close()
    sim.wait(59)
    assert sim.client.state is State.FIN_WAIT_2
    sim.wait(2)
    assert sim.client.state is (State.CLOSED if profile == "linux" else State.FIN_WAIT_2)
    sim, _ = connected(profile)                 # shutdown() leaves no orphan: no timer
    sim.client.shutdown(socket.SHUT_WR)
    sim.wait(200)
    assert sim.client.state is State.FIN_WAIT_2


@pytest.mark.parametrize("profile, last", [("rfc", "."), ("linux", "R.")])
def test_keepalive_probes_and_giving_up(profile, last):
    sim = tcpedu.scenarios.keepalive_dead_peer(profile=profile, idle=10, interval=2, probes=3)
    probes = [s for s in sim.trace if s.time > 1]
    assert [round(s.time, 2) for s in probes[:3]] == [10.03, 12.03, 14.03]
    assert all(s.len == 0 and s.seq == (sim.client.endpoint.snd_nxt - 1) % 2**32
               for s in probes[:3])
    assert probes[-1].flags.tcpdump() == last
    assert sim.client.state is State.CLOSED
    assert [e.detail for e in sim.trace.events if e.kind == "state"][-1].startswith(
        "keepalive probes unanswered")


def test_linux_accept_queue_holds_backlog_plus_one():
    sim = tcpedu.scenarios.backlog_overflow(profile="linux", clients=4, backlog=1, duration=8)
    est = [h for h in sim.hosts.values() if h.name != "server" and h.state is State.ESTABLISHED]
    assert [h.name for h in est] == ["client", "client2"]
    for name in ("client3", "client4"):
        syns = [s.time - 0.01 * int(name[-1]) + 0.01 for s in sim.trace
                if s.sender == name]
        assert [round(t, 3) for t in syns] == [0, 1, 2, 3, 4, 5, 7]      # measured: all dropped
    rfc = tcpedu.scenarios.backlog_overflow(profile="rfc", clients=4, backlog=1)
    assert all(h.state is State.ESTABLISHED for h in rfc.hosts.values() if h.name != "server")


def test_every_profile_value_has_its_source():
    rows = tcpedu.profile_table()
    assert {r[0] for r in rows} == set(SOURCES)
    assert all(r[3] and r[4] for r in rows)


def test_readme_shows_the_current_profile_table():
    with open("README.md", encoding="utf-8") as f:
        assert profile_table_markdown() in f.read()


def test_linux_syn_ack_retransmission_schedule_and_silent_expiry():
    """Measured on Linux 6.18: SYN,ACKs at +1, 3, 7, 15, 31 s (doubling, no linear phase);
    the half-open connection then disappears without a RST, and the client's data meets a
    bare RST."""
    sim = tcpedu.Simulation(profile="linux", latency=0.001)
    sim.server.listen()
    sim.drop_next("client", Flags.ACK, count=6)       # the ACK and the 5 re-ACKs are lost
    sim.client.connect()
    sim.wait(70)
    synacks = [s.time for s in sim.trace if s.sender == "server" and s.flags.tcpdump() == "S."]
    assert [round(t - synacks[0], 3) for t in synacks] == [0, 1, 3, 7, 15, 31]
    assert not any(Flags.RST in s.flags for s in sim.trace if s.sender == "server")
    assert sim.server.state in (State.CLOSED, State.LISTEN)
    sim.client.send(b"late")
    sim.wait(0.01)
    rst = sim.trace[-1]
    assert rst.sender == "server" and rst.flags == Flags.RST
    with pytest.raises(ConnectionResetError):
        sim.client.recv()


def _record(sim) -> tuple:
    """Everything a run shows, but the profile's name."""
    segs = [(s.time, s.sender, s.receiver, s.flags, s.seq, s.ack, s.payload, s.window, s.lost,
             s.client_state, s.server_state, s.note) for s in sim.trace.segments]
    events = [(e.time, e.host, e.kind, e.name, e.detail, e.old, e.new) for e in sim.trace.events]
    return segs, events


@pytest.mark.parametrize("base", sorted(PROFILES))
@pytest.mark.parametrize("name", tcpedu.scenarios.names())
def test_a_renamed_copy_of_a_profile_behaves_the_same(base, name):
    """Behaviour follows a profile's fields, never its name (notebook 02 teaches
    dataclasses.replace(profile, name=...)): every scenario, the same run."""
    copy = dataclasses.replace(PROFILES[base], name=f"{base}-lab")
    assert _record(tcpedu.scenarios.run(name, profile=copy)) == \
        _record(tcpedu.scenarios.run(name, profile=base))


def test_a_renamed_linux_keeps_its_accept_queue_and_keepalive_reset():
    """The two bugs a renamed profile showed: listen(0) queued every client, and keepalive on
    a crashed peer found no row of the table."""
    lab = dataclasses.replace(PROFILES["linux"], name="linux-lab")
    sim = tcpedu.scenarios.backlog_overflow(profile=lab, clients=4, backlog=0)
    assert len(sim.server.accept_queue) == 1
    dead = tcpedu.scenarios.keepalive_dead_peer(profile=lab)
    assert dead.trace.segments[-1].flags.tcpdump() == "R."
