"""The catalogue: one named, parameterised builder for each situation the course teaches.

Each builder runs a :class:`~tcpedu.Simulation` and returns it, so its
``trace`` can be printed, drawn or turned into an exercise, and the
simulation can be carried on.  ``names()`` lists them, ``describe(name)``
documents one, ``run(name, **params)`` builds one by name (the CLI and the
notebooks use these)::

    sim = tcpedu.scenarios.four_way_close(profile="linux", client_isn=1000)
    print(sim.trace)
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Callable
from dataclasses import dataclass

from .machine import State
from .segment import Flags
from .simulation import Simulation

__all__ = [
    "Scenario", "names", "get", "describe", "run", "handshake", "data_transfer", "four_way_close",
    "three_way_close", "request_response", "half_close", "simultaneous_open", "simultaneous_close",
    "lost_syn", "lost_syn_ack", "lost_final_ack", "old_duplicate_syn", "rst_unread_data",
    "abortive_close", "connection_refused", "keepalive_idle", "keepalive_dead_peer",
    "backlog_overflow", "established",
]


@dataclass(frozen=True)
class Scenario:
    name: str
    builder: Callable[..., Simulation]
    summary: str

    @property
    def params(self) -> dict[str, object]:
        """Parameter name -> default value."""
        return {n: p.default for n, p in inspect.signature(self.builder).parameters.items()}

    def __call__(self, **params) -> Simulation:
        return self.builder(**params)


_CATALOGUE: dict[str, Scenario] = {}


def _scenario(fn: Callable[..., Simulation]) -> Callable[..., Simulation]:
    if not (fn.__doc__ or "").strip():
        raise TypeError(f"scenario {fn.__name__}() needs a docstring: its first line is the "
                        "summary that tcpedu scenarios and the notebooks show")
    summary = fn.__doc__.strip().splitlines()[0]
    _CATALOGUE[fn.__name__] = Scenario(fn.__name__, fn, summary)
    return fn


def names() -> list[str]:
    """The scenario names, in teaching order."""
    return list(_CATALOGUE)


def get(name: str) -> Scenario:
    """The scenario called ``name``; ValueError lists the known names."""
    try:
        return _CATALOGUE[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(_CATALOGUE)}") from None


def describe(name: str) -> str:
    """The scenario's documentation and its parameters with their defaults."""
    sc = get(name)
    params = ", ".join(f"{k}={v!r}" for k, v in sc.params.items())
    return f"{name}({params})\n\n{inspect.cleandoc(sc.builder.__doc__ or '')}"


def run(name: str, **params) -> Simulation:
    """Build scenario ``name``; unknown parameters are a ValueError naming the allowed ones."""
    sc = get(name)
    unknown = set(params) - set(sc.params)
    if unknown:
        raise ValueError(f"scenario {name!r} has no parameter(s) {sorted(unknown)}; "
                         f"it takes {sorted(sc.params)}")
    return sc.builder(**params)


def _connected(profile, latency, client_isn, server_isn, seed=0, **kw) -> Simulation:
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn,
                     server_isn=server_isn, **kw)
    sim.server.listen()
    sim.client.connect()
    sim.wait(3 * latency)
    return sim


def _other(side: str) -> str:
    if side not in ("client", "server"):
        raise ValueError(f"side must be 'client' or 'server', got {side!r}")
    return "server" if side == "client" else "client"


@_scenario
def handshake(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0):
    """The three-way handshake (三次握手): SYN, SYN+ACK, ACK.

    The client goes CLOSED → SYN-SENT → ESTABLISHED, the server LISTEN →
    SYN-RECEIVED → ESTABLISHED.  The SYN takes one sequence number, so each
    side acknowledges the other's ISN + 1.
    """
    return _connected(profile, latency, client_isn, server_isn, seed)


@_scenario
def data_transfer(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0,
                  request=1000, response=1000, mss=None):
    """Handshake, then ``request`` bytes from the client and ``response`` bytes back.

    Sequence numbers count bytes: each side's ACK is the next byte it expects.
    With ``mss`` smaller than a message, it goes out in several segments.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed, mss=mss)
    sim.client.send(b"q" * request)
    sim.wait(2 * latency + 0.001)
    sim.server.recv()
    if response:
        sim.server.send(b"r" * response)
        sim.wait(2 * latency + 0.001)
        sim.client.recv()
    sim.wait(0.25)
    return sim


def _close(sim: Simulation, closer: str, pause: float, until_closed: bool) -> Simulation:
    active, passive = sim.hosts[closer], sim.hosts[_other(closer)]
    active.close()
    sim.wait(sim.latency + pause)
    passive.recv()                      # b"": the FIN is the end of the stream
    passive.close()
    sim.wait(3 * sim.latency)
    if until_closed:
        sim.wait(sim.profile.time_wait + 1)
    return sim


@_scenario
def four_way_close(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0,
                   closer="client", pause=0.2, until_closed=True):
    """The four-way close (四次挥手): FIN, ACK, FIN, ACK.

    The ``closer`` sends FIN (FIN-WAIT-1), its peer acknowledges (CLOSE-WAIT),
    and after ``pause`` seconds its application closes too (LAST-ACK); the
    closer ends in TIME-WAIT for 2MSL (rfc 240 s, linux 60 s).
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    return _close(sim, closer, pause, until_closed)


@_scenario
def three_way_close(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                    closer="client", until_closed=True):
    """A close in three segments: FIN; FIN+ACK; ACK (delayed ACK merges ACK and FIN).

    On Linux the ACK of a FIN is delayed (≥ 40 ms); when the peer's
    application closes at once, its FIN carries that ACK.  Under the rfc
    profile every ACK leaves at once, so the same calls give four segments.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    return _close(sim, closer, 0.0, until_closed)


@_scenario
def request_response(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                     rounds=3, request=100, response=200, think=0.0):
    """``rounds`` requests and responses: quick ACKs at first, then ACKs ride on the replies.

    Linux acknowledges the first data at once (quick-ACK mode); once the
    server answers within the ACK timeout, the connection is in "pingpong"
    mode and ACKs wait for the reply.  ``think`` is the server's time to answer.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    for _ in range(rounds):
        sim.client.send(b"q" * request)
        sim.wait(latency + 0.001 + think)
        sim.server.recv()
        sim.server.send(b"r" * response)
        sim.wait(latency + 0.001)
        sim.client.recv()
    sim.wait(0.25)
    return sim


@_scenario
def half_close(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0,
               closer="client", data=100, until_closed=True):
    """Half-close (半关闭): shutdown(SHUT_WR), then the peer still sends ``data`` bytes.

    The closer's FIN says "no more from me"; it keeps receiving.  The peer's
    data uses sequence numbers, so its FIN's seq (w) is not v+1.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    active, passive = sim.hosts[closer], sim.hosts[_other(closer)]
    active.shutdown(socket.SHUT_WR)
    sim.wait(latency + 0.1)
    passive.recv()
    passive.send(b"d" * data)
    sim.wait(2 * latency + 0.1)
    active.recv()
    passive.close()
    sim.wait(2 * latency)
    active.recv()
    active.close()
    sim.wait(2 * latency)
    if until_closed:
        sim.wait(sim.profile.time_wait + 1)
    return sim


@_scenario
def simultaneous_open(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0):
    """Both sides send SYN before either SYN arrives: SYN-SENT → SYN-RECEIVED → ESTABLISHED.

    Each answers the other's SYN with SYN,ACK (RFC 9293 Figure 7); no side
    ever listens.
    """
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn,
                     server_isn=server_isn)
    sim.client.connect()
    sim.server.connect()
    sim.wait(4 * latency)
    return sim


@_scenario
def simultaneous_close(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0,
                       until_closed=True):
    """Both applications close at once: FINs cross, both pass through CLOSING to TIME-WAIT.

    RFC 9293 Figure 13: each side's FIN arrives in FIN-WAIT-1, so each goes to
    CLOSING, and the ACKs take both to TIME-WAIT.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    sim.client.close()
    sim.server.close()
    sim.wait(3 * latency)
    if until_closed:
        sim.wait(sim.profile.time_wait + 1)
    return sim


@_scenario
def lost_syn(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0, lost=1):
    """The first ``lost`` SYNs are lost; the client retransmits after RTO (1 s, then backing off)."""
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn,
                     server_isn=server_isn)
    sim.server.listen()
    sim.drop_next("client", Flags.SYN, count=lost)
    sim.client.connect()
    sim.run(limit=300)
    return sim


@_scenario
def lost_syn_ack(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0):
    """The SYN,ACK is lost: both sides' retransmission timers run; the handshake completes later."""
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn,
                     server_isn=server_isn)
    sim.server.listen()
    sim.drop_next("server", Flags.SYN | Flags.ACK)
    sim.client.connect()
    sim.wait(3.0)
    return sim


@_scenario
def lost_final_ack(profile="rfc", client_isn=None, server_isn=None, latency=0.01, seed=0,
                   until_closed=True):
    """The closer's last ACK is lost: the peer retransmits its FIN, TIME-WAIT answers and restarts.

    This is the first reason for TIME-WAIT: without it the retransmitted FIN
    would meet a CLOSED port and be answered with RST.
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    sim.client.close()
    sim.wait(latency + 0.2)
    sim.server.recv()
    sim.server.close()
    sim.drop_next("client", Flags.ACK)
    sim.wait(sim.server.endpoint.rto + 3 * latency + 0.01)
    if until_closed:
        sim.wait(sim.profile.time_wait + 1)
    return sim


@_scenario
def old_duplicate_syn(profile="rfc", client_isn=100, server_isn=(300, 400), latency=0.01, seed=0,
                      old_isn=90):
    """An old duplicate SYN arrives first (RFC 9293 Figure 8); the client's RST undoes it.

    The server answers the stale SYN; the client sees an ACK for a SYN it
    never sent and resets it; the server returns to LISTEN and the real SYN
    then completes.  With a two-way handshake the stale SYN alone would have
    opened a connection: this is why TCP needs three segments.
    """
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn,
                     server_isn=server_isn)
    sim.server.listen()
    sim.inject("client", Flags.SYN, old_isn, delay=latency / 2, note="old duplicate SYN")
    sim.delay_next("client", Flags.SYN, by=3 * latency)
    sim.client.connect()
    sim.wait(8 * latency)
    return sim


@_scenario
def rst_unread_data(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                    side="server", data=10):
    """close() with received data unread sends RST, not FIN (RFC 9293 §3.6; Linux tcp_close).

    The peer's next recv() fails with "connection reset by peer".
    """
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    closer, sender = sim.hosts[side], sim.hosts[_other(side)]
    sender.send(b"x" * data)
    sim.wait(2 * latency + 0.05)
    closer.close()
    sim.wait(2 * latency)
    try:
        sender.recv()
    except ConnectionResetError:
        pass
    return sim


@_scenario
def abortive_close(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                   side="client"):
    """ABORT: close() with SO_LINGER {1, 0} sends RST at once; no FIN, no TIME-WAIT."""
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    sim.hosts[side].abort()
    sim.wait(2 * latency)
    try:
        sim.hosts[_other(side)].recv()
    except ConnectionResetError:
        pass
    return sim


@_scenario
def connection_refused(profile="rfc", client_isn=None, latency=0.01, seed=0):
    """A SYN to a port where nothing listens gets <SEQ=0><ACK=ISN+1><CTL=RST,ACK>: refused."""
    sim = Simulation(profile=profile, latency=latency, seed=seed, client_isn=client_isn)
    try:
        sim.client.connect()
        sim.wait(2 * latency)
        sim.client.recv()
    except ConnectionRefusedError:
        pass
    return sim


def _keepalive(profile, latency, client_isn, server_isn, seed, idle, interval, probes):
    sim = _connected(profile, latency, client_isn, server_isn, seed)
    sim.client.keepalive(idle=idle, interval=interval, probes=probes)
    return sim


@_scenario
def keepalive_idle(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                   idle=10.0, interval=2.0, probes=3, duration=25.0):
    """Keepalive on an idle connection: after ``idle`` s a probe (SEQ = SND.NXT−1), answered by ACK.

    Real defaults are 7200 s idle, 75 s between probes, 9 probes (seconds,
    not minutes); this scenario shortens them like TCP_KEEPIDLE would.
    """
    sim = _keepalive(profile, latency, client_isn, server_isn, seed, idle, interval, probes)
    sim.wait(duration)
    return sim


@_scenario
def keepalive_dead_peer(profile="linux", client_isn=None, server_isn=None, latency=0.01, seed=0,
                        idle=10.0, interval=2.0, probes=3):
    """Keepalive finds a dead peer: ``probes`` unanswered probes, then the connection is dropped.

    The server crashes silently; the client's probes go unanswered, and
    after idle + probes × interval seconds the client gives up (ETIMEDOUT;
    Linux also sends a RST).
    """
    sim = _keepalive(profile, latency, client_isn, server_isn, seed, idle, interval, probes)
    sim.server.crash()
    sim.wait(idle + (probes + 1) * interval)
    try:
        sim.client.recv()
    except TimeoutError:
        pass
    return sim


@_scenario
def backlog_overflow(profile="linux", clients=4, backlog=1, latency=0.001, seed=0, duration=8.0,
                     gap=0.01):
    """``clients`` connect, ``gap`` s apart, to a server that never accepts (listen(backlog)).

    Linux keeps backlog + 1 connections in the accept queue; later SYNs are
    dropped (the clients retransmit them), and a final ACK that finds the
    queue full is dropped too, so the server retransmits its SYN,ACK.
    """
    sim = Simulation(profile=profile, latency=latency, seed=seed)
    sim.server.listen(backlog=backlog)
    hosts = [sim.client] + [sim.add_host(f"client{i}") for i in range(2, clients + 1)]
    for host in hosts:
        host.connect()
        sim.wait(gap)
    sim.wait(duration)
    return sim


def established(sim: Simulation) -> bool:
    """True when both the client and the server are ESTABLISHED."""
    return sim.client.state is State.ESTABLISHED and sim.server.state is State.ESTABLISHED
