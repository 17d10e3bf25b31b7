"""Property tests: random socket-call sequences on a Simulation keep the engine consistent.

Hypothesis draws a network (profile, latency, loss, seed, ISNs, including ISNs just
below 2**32 so sequence numbers wrap) and a sequence of socket calls.  A call may fail
the way a socket call fails (any OSError: BrokenPipeError, ConnectionResetError,
BlockingIOError, ENOTCONN, EISCONN, EBADF ...); any other exception is an engine error
and fails the test.  After every call the TCBs and the trace are checked.

Everything is derandomized, so a run is the same on every machine.
"""

from __future__ import annotations

import random
import socket

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import tcpedu
from tcpedu import Event, Flags, State, seq_le

SEQ_MAX = 2**32 - 1

SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ----------------------------------------------------------------------------- strategies

WRAP_ISNS = (SEQ_MAX, SEQ_MAX - 1, SEQ_MAX - 2, 0)
isns = st.one_of(st.none(), st.sampled_from(WRAP_ISNS), st.integers(0, SEQ_MAX))
losses = st.one_of(st.just(0.0), st.floats(0.0, 0.3))


@st.composite
def networks(draw, loss=losses):
    return dict(profile=draw(st.sampled_from(("rfc", "linux"))),
                latency=draw(st.sampled_from((0, 0.001, 0.01, 0.05))),
                loss=draw(loss),
                seed=draw(st.integers(0, 2**16)),
                client_isn=draw(isns), server_isn=draw(isns))


def _payload(spec: tuple[int, int]) -> bytes:
    size, salt = spec
    return random.Random(salt).randbytes(size)


# Random bytes, from empty to several MSS-sized segments (rfc MSS 536, linux 1460).
payloads = st.tuples(st.one_of(st.integers(0, 40), st.integers(500, 4000)),
                     st.integers(0, 2**16)).map(_payload)
sides = st.sampled_from(("client", "server"))
DROP_FLAGS = (Flags(0), Flags.SYN, Flags.SYN | Flags.ACK, Flags.ACK, Flags.FIN,
              Flags.FIN | Flags.ACK, Flags.RST, Flags.PSH)

_ARGS = {
    "connect": st.tuples(st.just("connect")),
    "send": st.tuples(st.just("send"), sides, payloads),
    "recv": st.tuples(st.just("recv"), sides, st.sampled_from((None, 1, 100, 4096))),
    "shutdown": st.tuples(st.just("shutdown"), sides,
                          st.sampled_from((socket.SHUT_WR, socket.SHUT_RD, socket.SHUT_RDWR))),
    "close": st.tuples(st.just("close"), sides),
    "abort": st.tuples(st.just("abort"), sides),
    "wait": st.tuples(st.just("wait"), st.one_of(
        st.sampled_from((0.2, 0, 0.001, 0.01, 0.05, 1, 5)), st.floats(0, 5))),
    "drop_next": st.tuples(st.just("drop_next"), sides, st.sampled_from(DROP_FLAGS),
                           st.integers(1, 3)),
}
# A sequence has three phases, so that most runs get a connection going, move data over it
# and then take it down: an opening (usually connect, sometimes nothing), a data phase
# (send/recv/wait), and an end game where any call may come in any order (connect again,
# shutdown, close, abort, ... on either side).  drop_next may come anywhere after the opening.
_OPENINGS = st.sampled_from(([("connect",), ("wait", 0.2)], [("connect",)],
                             [("connect",), ("wait", 0.01)], []))
_DATA_KINDS = ("send", "recv", "wait")
_ANY_KINDS = ("wait", "recv", "close", "shutdown", "send", "abort", "connect")


def _exchange(side: str, data: bytes, pause: float) -> list[tuple]:
    """send on one side, wait, recv on the other: the data phase's usual pattern."""
    other = "server" if side == "client" else "client"
    return [("send", side, data), ("wait", pause), ("recv", other, None)]


_exchanges = st.builds(_exchange, sides, payloads, st.sampled_from((0.2, 0.001, 0.05, 1.5)))


def _call_lists(drops: bool) -> st.SearchStrategy[list[tuple]]:
    extra = ("drop_next",) if drops else ()
    single = st.sampled_from(_DATA_KINDS + extra).flatmap(_ARGS.__getitem__).map(lambda c: [c])
    data = st.lists(st.one_of(_exchanges, single), min_size=1, max_size=10).map(
        lambda groups: [c for g in groups for c in g])
    anything = st.sampled_from(_ANY_KINDS + extra).flatmap(_ARGS.__getitem__)
    return st.builds(lambda opening, middle, end: opening + middle + end, _OPENINGS, data,
                     st.lists(anything, min_size=1, max_size=15))


calls = _call_lists(drops=True)
calls_without_drops = _call_lists(drops=False)


# ----------------------------------------------------------------------------- running calls

class Checker:
    """The invariants, checked after every call (the trace part incrementally)."""

    def __init__(self) -> None:
        self.checked = 0
        self.events_checked = 0
        self.last_event_time = 0.0
        self.last_ack: dict[tuple, int] = {}
        self.tcb: dict[tcpedu.Endpoint, tuple[int, int | None]] = {}
        self.last_time = 0.0
        self.sent: dict[tcpedu.Socket, bytearray] = {}
        self.received: dict[tcpedu.Socket, bytearray] = {}

    def __call__(self, sim: tcpedu.Simulation) -> None:
        for host in sim.hosts.values():
            for sock in host.sockets:
                ep = sock.endpoint
                assert seq_le(ep.snd_una, ep.snd_nxt), \
                    f"SND.UNA > SND.NXT at {host.name}: {sock!r} {ep!r}"
                # SND.UNA and RCV.NXT only move forward (a TCB back in LISTEN starts over)
                before = self.tcb.get(ep)
                if before is not None and ep.state is not State.LISTEN:
                    assert seq_le(before[0], ep.snd_una), f"SND.UNA went back: {before} {ep!r}"
                    if before[1] is not None:
                        assert seq_le(before[1], ep.rcv_nxt), f"RCV.NXT went back: {before} {ep!r}"
                self.tcb[ep] = (ep.snd_una, ep.rcv_nxt if ep.irs is not None else None)
        segments = sim.trace.segments
        for i in range(self.checked, len(segments)):
            seg = segments[i]
            assert 0 <= seg.seq <= SEQ_MAX and 0 <= seg.ack <= SEQ_MAX, f"segment {i}: {seg}"
            assert seg.time is not None and seg.time >= self.last_time, \
                f"segment {i} at {seg.time} after one at {self.last_time}"
            self.last_time = seg.time
            if Flags.ACK in seg.flags and Flags.RST not in seg.flags:
                key = (seg.sender, seg.sport, seg.receiver, seg.dport)
                before = self.last_ack.get(key)
                assert before is None or seq_le(before, seg.ack), \
                    f"segment {i}: {key} acknowledged {before}, then went back to {seg.ack}"
                self.last_ack[key] = seg.ack
        self.checked = len(segments)
        events = sim.trace.events
        for i in range(self.events_checked, len(events)):
            assert events[i].time >= self.last_event_time, f"event {i} out of time order: {events[i]}"
            self.last_event_time = events[i].time
        self.events_checked = len(events)
        self._check_streams()

    def _check_streams(self) -> None:
        """What a socket has read is a prefix of what its peer socket accepted for sending."""
        for sock, data in self.received.items():
            if not data:
                continue
            peers = _peers(sock)
            if len(peers) == 1:   # one incarnation of the connection on the other side
                sent = bytes(self.sent.get(peers[0], b""))
                assert bytes(data) == sent[:len(data)], \
                    f"{sock!r} read {len(data)} bytes that are not what {peers[0]!r} sent"


def _peers(sock: tcpedu.Socket) -> list[tcpedu.Socket]:
    if sock.remote is None:
        return []
    name, port = sock.remote
    return [p for p in sock.sim.hosts[name].sockets
            if p.local_port == port and p.remote == (sock.host.name, sock.local_port)]


def apply_call(sim: tcpedu.Simulation, call: tuple, check: Checker) -> None:
    """Make one call; socket-module errors (OSError) are a legitimate answer."""
    kind = call[0]
    try:
        if kind == "connect":
            sim.client.connect()
        elif kind == "send":
            sock = sim.hosts[call[1]].socket       # what sim.<side>.send() sends on
            n = sock.send(call[2])
            assert n == len(call[2])
            check.sent.setdefault(sock, bytearray()).extend(call[2])
        elif kind == "recv":
            sock = sim.hosts[call[1]].socket
            data = sock.recv(call[2])
            assert isinstance(data, bytes)
            if call[2] is not None:
                assert len(data) <= call[2]
            check.received.setdefault(sock, bytearray()).extend(data)
        elif kind == "shutdown":
            sim.hosts[call[1]].shutdown(call[2])
        elif kind == "close":
            sim.hosts[call[1]].close()
        elif kind == "abort":
            sim.hosts[call[1]].abort()
        elif kind == "wait":
            sim.wait(call[1])
        elif kind == "drop_next":
            sim.drop_next(call[1], call[2], call[3])
        else:
            raise AssertionError(f"unknown call {call!r}")
    except OSError as exc:
        note(f"{call[:2]} -> {type(exc).__name__}: {exc}")


def run_calls(net: dict, call_list: list[tuple]) -> tuple[tcpedu.Simulation, Checker]:
    sim = tcpedu.Simulation(**net)
    check = Checker()
    sim.server.listen()
    check(sim)
    for call in call_list:
        apply_call(sim, call, check)
        check(sim)
    return sim, check


# ----------------------------------------------------------------------------- properties

@settings(max_examples=1000, **SETTINGS)
@given(net=networks(), call_list=calls)
def test_random_calls_keep_tcb_and_trace_consistent(net, call_list):
    """SND.UNA =< SND.NXT, ACKs never go back, seq/ack are 32-bit, time only moves forward."""
    sim, check = run_calls(net, call_list)
    sim.wait(5)
    check(sim)


def _rfc_half_open_fin_wait_2(sim: tcpedu.Simulation, sock: tcpedu.Socket) -> bool:
    """RFC 9293 has no FIN-WAIT-2 timer: if the peer's TCB is gone (its RST was lost, or it
    gave up in LAST-ACK), nothing ever reaches this side again.  Linux times out in 60 s."""
    return (sim.profile.name == "rfc" and sock.state is State.FIN_WAIT_2
            and all(p.state is State.CLOSED for p in _peers(sock)))


@settings(max_examples=800, **SETTINGS)
@given(net=networks(), call_list=calls_without_drops)
def test_closing_both_sides_ends_in_closed(net, call_list):
    """Whatever happened before, close() on both sides and a lossless wait end in CLOSED.

    drop_next() is left out here: a pending rule would keep dropping segments after the
    close, and the property is about a network that stopped losing segments.
    """
    sim, check = run_calls(net, call_list)
    _close_everything_and_check(sim, check)


# Calls that close while the handshake is under way (SYN or SYN,ACK in flight or lost).
_handshake_calls = st.lists(st.one_of(
    st.tuples(st.just("wait"), st.sampled_from((0.0005, 0.001, 0.005, 0.01, 0.03, 1.0))),
    st.tuples(st.sampled_from(("close", "abort")), sides),
    st.tuples(st.just("shutdown"), sides, st.sampled_from((socket.SHUT_WR, socket.SHUT_RDWR))),
), min_size=1, max_size=6)


@settings(max_examples=400, **SETTINGS)
@given(net=networks(loss=st.floats(0.0, 0.5)), call_list=_handshake_calls)
def test_closing_during_the_handshake_ends_in_closed(net, call_list):
    """connect(), then close/shutdown/abort on either side while SYNs are in flight or lost."""
    sim, check = run_calls(net, [("connect",), *call_list])
    _close_everything_and_check(sim, check)


def _close_everything_and_check(sim: tcpedu.Simulation, check: Checker) -> None:
    sim.loss = 0.0
    for host in (sim.client, sim.server):        # the connections the hosts' calls act on
        try:
            host.close()
        except OSError as exc:
            note(f"{host.name}.close() -> {exc!r}")
        check(sim)
    for host in sim.hosts.values():              # the listener and any other connection
        for sock in list(host.sockets):
            sock.close()
            check(sim)
    # TIME-WAIT (rfc 240 s, linux 60 s) plus one backed-off RTO for the last FIN to go out.
    sim.wait(max(300, sim.profile.time_wait + sim.profile.rto_max + 1))
    check(sim)
    open_connections = [s for h in sim.hosts.values() for s in h.sockets
                        if s.remote is not None and s.state is not State.CLOSED
                        and not _rfc_half_open_fin_wait_2(sim, s)]
    assert open_connections == [], f"still open after close and {sim.now:g} s: {open_connections}"
    if not any(_rfc_half_open_fin_wait_2(sim, s) for s in sim.client.sockets):
        assert sim.client.state is State.CLOSED
    if not any(_rfc_half_open_fin_wait_2(sim, s) for s in sim.server.sockets):
        assert sim.server.state is State.CLOSED
    assert sim.server.listener is None


def _transfer_step(side: dict, todo: dict, got: dict, eof: dict, shut: set) -> bool:
    """Send each side's next chunk, shutdown(SHUT_WR) once both sides have sent everything,
    and read what is there; True if anything moved."""
    progress = False
    for name, sock in side.items():
        if todo[name]:
            sock.send(todo[name].pop(0))
            progress = True
    if todo["client"] == todo["server"] == []:
        for name, sock in side.items():
            if name not in shut:
                shut.add(name)
                sock.shutdown(socket.SHUT_WR)        # FIN after the queued data
                progress = True
    for name, sock in side.items():
        if eof[name]:
            continue
        try:
            data = sock.recv()
        except BlockingIOError:
            continue
        progress = True
        eof[name] = data == b""
        got[name] += data
    return progress


chunks = st.lists(payloads, max_size=4)
MAX_WAITS = 2000


@settings(max_examples=400, **SETTINGS)
@given(net=networks(loss=st.floats(0.0, 0.3)), a_chunks=chunks, b_chunks=chunks,
       steps=st.lists(st.sampled_from((0.001, 0.01, 0.05, 0.2)), min_size=1, max_size=8))
def test_graceful_transfer_delivers_both_streams(net, a_chunks, b_chunks, steps):
    """Both directions arrive complete and in order despite loss, then both see EOF."""
    loss = net.pop("loss")
    sim = tcpedu.Simulation(loss=0.0, **net)
    check = Checker()
    sim.server.listen()
    sim.client.connect()
    sim.wait(3 * sim.latency)
    assert (sim.client.state, sim.server.state) == (State.ESTABLISHED, State.ESTABLISHED)
    sim.loss = loss                               # the data phase is lossy
    side = {"client": sim.client.socket, "server": sim.server.socket}
    todo = {"client": list(a_chunks), "server": list(b_chunks)}
    got = {"client": bytearray(), "server": bytearray()}
    eof = {"client": False, "server": False}
    shut: set[str] = set()
    step = steps[0]
    for i in range(MAX_WAITS):
        try:
            progress = _transfer_step(side, todo, got, eof, shut)
        except TimeoutError as exc:                  # retransmissions exhausted
            note(f"gave up: {exc!r}")
            progress = False
        check(sim)
        if eof["client"] and eof["server"]:
            break
        if any(e.kind == "state" and e.name == str(Event.USER_TIMEOUT) for e in sim.trace.events):
            # A side exhausted its retransmissions (RFC 9293 R2): legitimate with loss, and
            # then the streams cannot be complete.  Only a lossy run may get here.
            assert loss > 0 and any(s.lost for s in sim.trace.segments)
            assume(False)
        # small steps while data flows, longer ones (up to 2 s) while waiting for an RTO
        step = steps[i % len(steps)] if progress else min(2.0, step * 1.5)
        sim.wait(step)
    else:
        pytest.fail(f"no EOF on both sides after {MAX_WAITS} waits ({sim.now:g} s): "
                    f"client {sim.client.state}, server {sim.server.state}")
    assert bytes(got["server"]) == b"".join(a_chunks)
    assert bytes(got["client"]) == b"".join(b_chunks)


@settings(max_examples=150, **SETTINGS)
@given(net=networks(), call_list=calls)
def test_same_seed_and_calls_give_the_same_trace(net, call_list):
    first, _ = run_calls(net, call_list)
    second, _ = run_calls(net, call_list)
    assert str(first.trace) == str(second.trace)
    assert first.trace.segments == second.trace.segments
    assert first.trace.events == second.trace.events
    assert first.trace.isn == second.trace.isn


# ----------------------------------------------------------------------------- regressions

@pytest.mark.parametrize("profile", ["rfc", "linux"])
def test_fin_wait_1_from_syn_received_retransmits_syn_ack(profile):
    """close() in SYN-RECEIVED sends FIN (RFC 9293 §3.10.4) while the SYN,ACK is unacknowledged.

    The SYN,ACK is still at the front of the retransmission queue, so a retransmission
    timeout must send it again (§3.8.1); then the handshake completes and the client sees
    the FIN.  Found by test_closing_during_the_handshake_ends_in_closed (linux, latency 0,
    loss 0.5, seed 199: connect(); server.close()): the engine used to fire the timer and
    send nothing, leaving the server in FIN-WAIT-1 for the 15 retries of tcp_retries2.
    Fixed in the engine by commit 3b54b77.
    """
    sim = tcpedu.Simulation(profile=profile, latency=0.01, client_isn=100, server_isn=300)
    sim.server.listen()
    sim.drop_next("server", Flags.SYN | Flags.ACK)    # the first SYN,ACK is lost
    sim.client.connect()
    sim.wait(0.015)
    assert sim.server.state is State.SYN_RECEIVED
    sim.server.close()                                 # FIN-WAIT-1, FIN <SEQ=301>
    assert sim.server.state is State.FIN_WAIT_1
    sim.wait(30)
    again = [s for s in sim.trace.segments if s.sender == "server" and s.retransmission]
    assert again, "the retransmission timer fired, yet nothing was retransmitted"
    assert again[0].flags == Flags.SYN | Flags.ACK and again[0].seq == 300
    assert sim.client.state in (State.CLOSE_WAIT, State.CLOSED)
    assert sim.server.state in (State.FIN_WAIT_2, State.CLOSED)
