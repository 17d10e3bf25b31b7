"""The state-machine table: its shape, its citations, and every row exercised."""

import socket

import pytest

import tcpedu
from tcpedu import TRANSITIONS, Event, Flags, State
from tcpedu.endpoint import Endpoint
from tcpedu.machine import NoTransition, lookup, transitions_from
from tcpedu.profiles import PROFILES

FIGURE_5 = {  # every arrow RFC 9293 Figure 5 draws: (from, event, sent, to)
    (State.CLOSED, Event.PASSIVE_OPEN, "", State.LISTEN),
    (State.CLOSED, Event.ACTIVE_OPEN, "SYN", State.SYN_SENT),
    (State.LISTEN, Event.CLOSE, "", State.CLOSED),
    (State.LISTEN, Event.RCV_SYN, "SYN,ACK", State.SYN_RECEIVED),
    (State.LISTEN, Event.SEND, "SYN", State.SYN_SENT),
    (State.SYN_RECEIVED, Event.RCV_RST, "", State.LISTEN),
    (State.SYN_SENT, Event.RCV_SYN, "SYN,ACK", State.SYN_RECEIVED),
    (State.SYN_SENT, Event.CLOSE, "", State.CLOSED),
    (State.SYN_RECEIVED, Event.RCV_ACK_OF_SYN, "", State.ESTABLISHED),
    (State.SYN_SENT, Event.RCV_SYN_ACK, "ACK", State.ESTABLISHED),
    (State.SYN_RECEIVED, Event.CLOSE, "FIN", State.FIN_WAIT_1),
    (State.ESTABLISHED, Event.CLOSE, "FIN", State.FIN_WAIT_1),
    (State.ESTABLISHED, Event.RCV_FIN, "ACK", State.CLOSE_WAIT),
    (State.FIN_WAIT_1, Event.RCV_ACK_OF_FIN, "", State.FIN_WAIT_2),
    (State.FIN_WAIT_1, Event.RCV_FIN, "ACK", State.CLOSING),
    (State.CLOSE_WAIT, Event.CLOSE, "FIN", State.LAST_ACK),
    (State.FIN_WAIT_2, Event.RCV_FIN, "ACK", State.TIME_WAIT),
    (State.CLOSING, Event.RCV_ACK_OF_FIN, "", State.TIME_WAIT),
    (State.LAST_ACK, Event.RCV_ACK_OF_FIN, "", State.CLOSED),
    (State.TIME_WAIT, Event.TIMEOUT_2MSL, "", State.CLOSED),
}


def test_table_has_all_eleven_states_and_every_figure_5_arrow():
    assert len(State) == 11
    assert {r.state for r in TRANSITIONS} | {r.next for r in TRANSITIONS} == set(State)
    drawn = {(r.state, r.event, r.send, r.next) for r in TRANSITIONS if r.figure5}
    assert drawn == FIGURE_5


def test_arrows_figure_5_leaves_out_are_in_the_table():
    def has(state, event, nxt, **kw):
        return any(r.state is state and r.event is event and r.next is nxt for r in TRANSITIONS)
    assert has(State.FIN_WAIT_1, Event.RCV_FIN_ACK_OF_FIN, State.TIME_WAIT)        # note 2
    assert has(State.SYN_RECEIVED, Event.RCV_RST, State.CLOSED)                    # active open
    for st in State:
        if st not in (State.CLOSED,):
            assert any(r.state is st and r.event is Event.RCV_RST for r in TRANSITIONS), st
            assert any(r.state is st and r.event is Event.ABORT for r in TRANSITIONS), st
        if st not in (State.CLOSED, State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT,
                      State.LISTEN, State.SYN_SENT):
            # CLOSE once our FIN is out: "error: connection closing", no second FIN
            row = lookup(st, Event.CLOSE)
            assert row.next is st and row.send == "" and row.error == "connection closing"


def test_every_row_cites_its_source_and_reads_as_a_label():
    for row in TRANSITIONS:
        assert row.section, row
        assert row.section[0].isdigit() or row.section.startswith("Linux"), row
        assert row.label.startswith(str(row.event))
    assert lookup(State.LISTEN, Event.RCV_SYN).label == "rcv SYN / snd SYN,ACK"
    assert lookup(State.ESTABLISHED, Event.CLOSE).label == "CLOSE / snd FIN"


def test_abort_sends_rst_exactly_where_section_3_10_5_says():
    sends_rst = {r.state for r in TRANSITIONS if r.event is Event.ABORT and r.send == "RST"}
    assert sends_rst == {State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1,
                         State.FIN_WAIT_2, State.CLOSE_WAIT}


def test_lookup_is_unambiguous_and_reports_missing_rows():
    for row in TRANSITIONS:
        for profile in PROFILES:
            if not row.applies_to(profile):
                continue
            same = [r for r in TRANSITIONS if r.state is row.state and r.event is row.event
                    and r.applies_to(profile)]
            if len(same) > 1:   # only SYN-RECEIVED on RST, chosen by how it was opened
                assert {r.next for r in same} == {State.LISTEN, State.CLOSED}
                assert lookup(row.state, row.event, profile, passive=True).next is State.LISTEN
                assert lookup(row.state, row.event, profile, passive=False).next is State.CLOSED
    with pytest.raises(NoTransition, match="TIME-WAIT"):
        lookup(State.TIME_WAIT, Event.RCV_SYN_ACK)
    with pytest.raises(NoTransition):
        lookup(State.FIN_WAIT_2, Event.TIMEOUT_FIN_WAIT_2, "rfc")     # Linux-only row
    assert {r.state for r in transitions_from(State.TIME_WAIT)} == {State.TIME_WAIT}


# ---------------------------------------------------------------- every row exercised

def _rows(sim):
    return {e.row for e in sim.trace.events if e.kind == "state"}


def _connected(profile, latency=0.01, **kw):
    sim = tcpedu.Simulation(profile=profile, latency=latency, client_isn=1000, server_isn=5000, **kw)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.05)
    return sim


def _rst_to(sim, host, seq=None, delay=None):
    """Inject a valid RST (SEQ = the receiver's RCV.NXT) into ``host``'s connection."""
    sock = sim.hosts[host].socket
    other = "server" if host == "client" else "client"
    ep = sock.endpoint
    sim.inject(other, Flags.RST, ep.rcv_nxt if seq is None else seq, to=host,
               sport=sock.remote[1], dport=sock.local_port, note="injected RST", delay=delay)
    sim.wait(0.05)


def _to_closing(sim, lost_acks):
    """Both sides close at once and lose their ACKs: both stay in CLOSING."""
    sim.client.shutdown(socket.SHUT_WR)
    sim.server.shutdown(socket.SHUT_WR)
    sim.drop_next("client", Flags.ACK, count=lost_acks)
    sim.drop_next("server", Flags.ACK, count=lost_acks)
    sim.wait(0.05)


def _scripts(profile):
    """Yield simulations that between them fire every row this profile can fire."""
    for name in tcpedu.scenarios.names():
        yield tcpedu.scenarios.run(name, profile=profile)
    # lost handshake segments until the retries run out
    sim = tcpedu.Simulation(profile=profile)
    sim.server.listen()
    sim.drop_next("client", Flags.SYN, count=30)
    sim.client.connect()
    sim.wait(400)
    yield sim
    sim = tcpedu.Simulation(profile=profile)
    sim.server.listen()
    sim.drop_next("server", Flags.SYN | Flags.ACK, count=30)
    sim.client.connect()
    sim.wait(400)
    yield sim
    # CLOSE and ABORT while the handshake is under way
    for call in ("close", "abort"):
        sim = tcpedu.Simulation(profile=profile, latency=0.01)
        sim.server.listen()
        sim.client.connect()
        getattr(sim.client, call)()
        yield sim
        sim = tcpedu.Simulation(profile=profile, latency=0.01)
        sim.client.connect()
        sim.server.connect()
        sim.wait(0.015)                               # both SYN-RECEIVED
        getattr(sim.client, call)()
        sim.wait(1)
        yield sim
        sim = tcpedu.Simulation(profile=profile)
        sim.server.listen()
        getattr(sim.server, call)()                   # the listener itself
        yield sim
    # RST into a simultaneous open (active SYN-RECEIVED -> CLOSED)
    sim = tcpedu.Simulation(profile=profile, latency=0.01)
    sim.client.connect()
    sim.server.connect()
    sim.wait(0.015)
    assert sim.client.state is State.SYN_RECEIVED
    _rst_to(sim, "client", delay=0.001)     # before the peer's SYN,ACK completes the open
    yield sim
    # RST and ACK to a listener
    sim = tcpedu.Simulation(profile=profile)
    sim.server.listen()
    sim.inject("client", Flags.RST, 7, sport=1234)
    sim.inject("client", Flags.ACK, 7, ack=9, sport=1234)
    yield sim
    # ABORT, RST and a second CLOSE in each state of the close
    for action in ("abort", "rst", "close"):
        for stop in ("established", "fin-wait-1", "fin-wait-2", "close-wait", "closing",
                     "last-ack", "time-wait"):
            sim = _connected(profile)
            host = "client"
            if stop in ("fin-wait-1", "fin-wait-2", "time-wait"):
                if stop == "fin-wait-1":
                    sim.drop_next("client", Flags.FIN)          # FIN lost: FIN-WAIT-1 for an RTO
                sim.client.shutdown(socket.SHUT_WR)
                sim.wait(0.05 if stop != "time-wait" else 0)
                if stop == "time-wait":
                    sim.wait(0.05)
                    sim.server.shutdown(socket.SHUT_WR)
                    sim.wait(0.05)
            elif stop == "close-wait":
                sim.server.shutdown(socket.SHUT_WR)
                sim.wait(0.05)
            elif stop == "closing":
                _to_closing(sim, lost_acks=1)
            elif stop == "last-ack":
                sim.server.shutdown(socket.SHUT_WR)
                sim.wait(0.05)
                sim.drop_next("server", Flags.ACK)
                sim.client.shutdown(socket.SHUT_WR)
                sim.wait(0.015)
            assert sim.client.state.value.lower() == stop, (action, stop, sim.client.state)
            if action == "abort":
                sim.hosts[host].abort()
            elif action == "rst":
                _rst_to(sim, host)
            else:
                sim.hosts[host].shutdown(socket.SHUT_WR)
            sim.wait(0.05)
            yield sim
    # close() with unread data in ESTABLISHED, CLOSE-WAIT, FIN-WAIT-1 and FIN-WAIT-2
    for stop in ("close-wait", "fin-wait-1", "fin-wait-2"):
        sim = _connected(profile)
        if stop == "fin-wait-1":
            sim.drop_next("client", Flags.FIN)
        if stop != "close-wait":
            sim.client.shutdown(socket.SHUT_WR)
        sim.wait(0.05)
        sim.server.send(b"unread")
        if stop == "close-wait":
            sim.server.shutdown(socket.SHUT_WR)
        sim.wait(0.05)
        sim.client.close()
        yield sim
    # data after close() in FIN-WAIT-1 and FIN-WAIT-2
    for stop in ("fin-wait-1", "fin-wait-2"):
        sim = _connected(profile)
        if stop == "fin-wait-1":
            sim.drop_next("client", Flags.FIN)
        sim.client.close()
        sim.wait(0.05)
        sim.server.send(b"late")
        sim.wait(0.05)
        yield sim
    # retransmissions exhausted in every state that retransmits
    for stop in ("established", "fin-wait-1", "close-wait", "closing", "last-ack"):
        sim = _connected(profile)
        if stop == "close-wait":
            sim.server.shutdown(socket.SHUT_WR)
            sim.wait(0.05)
        if stop == "closing":
            _to_closing(sim, lost_acks=100)
            sim.server.crash()
        elif stop == "last-ack":
            sim.server.shutdown(socket.SHUT_WR)
            sim.wait(0.05)
            sim.server.crash()
            sim.client.shutdown(socket.SHUT_WR)
        else:
            sim.server.crash()
            if stop == "fin-wait-1":
                sim.client.shutdown(socket.SHUT_WR)
            else:
                sim.client.send(b"lost")
        sim.wait(3000)
        yield sim
    # the ACK of our FIN is lost but the peer's FIN carries it: FIN-WAIT-1 -> TIME-WAIT
    sim = _connected(profile)
    sim.drop_next("server", Flags.ACK)
    sim.client.close()
    sim.wait(0.015)
    sim.server.recv()
    sim.server.close()
    sim.wait(0.05)
    yield sim
    # keepalive gives up in CLOSE-WAIT; an orphan's FIN-WAIT-2 timer
    sim = _connected(profile)
    sim.client.keepalive(idle=5, interval=1, probes=2)
    sim.server.shutdown(socket.SHUT_WR)
    sim.wait(0.05)
    sim.server.crash()
    sim.wait(20)
    yield sim
    sim = _connected(profile)
    sim.client.close()
    sim.wait(120)
    yield sim


def _endpoint_rows(profile):
    """Rows only an endpoint used outside the socket API reaches."""
    p = PROFILES[profile]
    fired = set()
    ep = Endpoint(p, 1)
    ep.open_passive(0)
    fired |= set(ep.send(b"x", 0).transitions)                      # LISTEN --SEND--> SYN-SENT
    syn = tcpedu.Segment(Flags.SYN, 500)
    for reply in (tcpedu.Segment(Flags.SYN, 600),                     # new SYN in the window
                  tcpedu.Segment(Flags.ACK, 501, ack=77)):            # ACK of nothing we sent
        ep = Endpoint(p, 1)
        ep.open_passive(0)
        ep.segment_arrives(syn, 0)
        assert ep.state is State.SYN_RECEIVED
        fired |= set(ep.segment_arrives(reply.replace(seq=501 if reply.seq == 600 else 501), 0)
                     .transitions)
    ep = Endpoint(p, 1)
    ep.open_passive(0)
    ep.segment_arrives(syn, 0)
    fired |= set(ep.segment_arrives(tcpedu.Segment(Flags.SYN, 600), 0).transitions)
    ep = Endpoint(p, 1)
    fired |= set(ep.segment_arrives(syn, 0).transitions)              # CLOSED: RST
    return fired


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_row_of_the_table_is_exercised(profile):
    fired = set(_endpoint_rows(profile))
    for sim in _scripts(profile):
        fired |= _rows(sim)
    expected = {r for r in TRANSITIONS if r.applies_to(profile)}
    missing = sorted(f"{r.state} --{r.event}--> {r.next}" for r in expected - fired)
    assert not missing, "rows never fired:\n" + "\n".join(missing)
