"""A deterministic discrete-event simulation of hosts talking TCP over a lossy network.

The simulation is the I/O layer for :class:`~tcpedu.endpoint.Endpoint`: it
owns the clock and the event queue, carries segments between hosts with a
one-way ``latency``, loses them (seeded ``loss``, or targeted with
``drop_next``), fires timers, and records everything in a :class:`Trace`.
The same seed gives the same trace, byte for byte.

``latency=0`` models loopback: a segment, and every answer it causes, is
delivered before the call that sent it returns.
"""

from __future__ import annotations

import errno
import heapq
import math
import random
import socket
import struct
from collections.abc import Iterable

from .endpoint import SHUT_RD, SHUT_RDWR, SHUT_WR, Endpoint, Output, no_connection
from .machine import State
from .profiles import Profile, get_profile
from .segment import Flags, Segment, check_seq
from .trace import Trace, TraceEvent

__all__ = [
    "EPHEMERAL_PORT", "Socket", "Host", "Simulation",
]

EPHEMERAL_PORT = 49152
_ADDRESSES = ("192.0.2.1", "192.0.2.2")   # RFC 5737 documentation addresses
_ANY = Flags(0)                           # matches every segment


def _check_time(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _add_note(seg: Segment, note: str) -> None:
    seg.note = f"{seg.note}; {note}" if seg.note else note


class Socket:
    """One application socket on a simulated host (a connection or a listener).

    Its methods answer like the ``socket`` module's: they return what a real
    non-blocking socket would and raise the same exceptions.
    """

    def __init__(self, host: Host, endpoint: Endpoint, local_port: int,
                 remote: tuple[str, int] | None):
        self.host = host
        self.endpoint = endpoint
        self.local_port = local_port
        self.remote = remote          # (host name, port) or None for a listener
        self.closed = False           # the application closed its file descriptor
        self.accepted = False
        self._linger_zero = False     # SO_LINGER {1, 0}: close() is an ABORT

    def __repr__(self) -> str:
        peer = f" <-> {self.remote[0]}:{self.remote[1]}" if self.remote else ""
        return f"<Socket {self.host.name}:{self.local_port}{peer} {self.state}>"

    @property
    def state(self) -> State:
        """The connection's RFC 9293 state."""
        return self.endpoint.state

    @property
    def sim(self) -> Simulation:
        return self.host.sim

    def _check_open(self, call: str) -> None:
        if self.closed:
            raise OSError(errno.EBADF, f"Bad file descriptor: {call}() after close()")

    def _call(self, call: str, method, *args, detail: str = "") -> Output:
        self._check_open(call)
        sim = self.sim
        sim._event(self.host.name, "call", f"{call}()", detail)
        try:
            out = method(*args, sim.now)
        except OSError as exc:
            sim._event(self.host.name, "error", type(exc).__name__, str(exc))
            raise
        sim._apply(self, out)
        sim._settle()
        return out

    def send(self, data: bytes) -> int:
        """Queue ``data`` for sending; returns its length, as ``socket.send`` does."""
        if self.remote is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected: a listening "
                          "socket does not send (accept a connection first)")
        self._call("send", lambda now: self.endpoint.send(data, now),
                   detail=f"{len(data)} bytes" if isinstance(data, (bytes, bytearray)) else "")
        return len(data)

    sendall = send

    def recv(self, bufsize: int | None = None) -> bytes:
        """Everything received and not yet read (or ``bufsize`` bytes); ``b""`` at EOF.

        With nothing to read yet, BlockingIOError (advance time with ``sim.wait``).
        """
        if bufsize is not None and (isinstance(bufsize, bool) or not isinstance(bufsize, int)
                                    or bufsize < 0):
            raise ValueError(f"bufsize must be a non-negative integer, got {bufsize!r}")
        out = self._call("recv", lambda now: self.endpoint.receive(now, bufsize))
        return out.data

    def shutdown(self, how: int) -> None:
        """shutdown(socket.SHUT_RD / SHUT_WR / SHUT_RDWR)."""
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise ValueError(f"how must be socket.SHUT_RD, SHUT_WR or SHUT_RDWR, got {how!r}")
        name = {SHUT_RD: "SHUT_RD", SHUT_WR: "SHUT_WR", SHUT_RDWR: "SHUT_RDWR"}[how]
        self._call("shutdown", lambda now: self.endpoint.shutdown(how, now), detail=name)

    def close(self) -> None:
        """close(): FIN (or RST if received data is unread; ABORT with SO_LINGER {1, 0})."""
        if self.closed:
            return
        if self._linger_zero:
            self.abort()
            return
        self._call("close", self.endpoint.close)
        self.closed = True
        self.host._forget_listener(self)

    def abort(self) -> None:
        """ABORT: close() with SO_LINGER {1, 0} — an RST and no TIME-WAIT."""
        if self.closed:
            return
        self._call("abort", self.endpoint.abort, detail="SO_LINGER {1, 0}")
        self.closed = True
        self.host._forget_listener(self)

    def setsockopt(self, level: int, option: int, value) -> None:
        """SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and SO_LINGER, as in ``socket``."""
        self._check_open("setsockopt")
        ep = self.endpoint
        now = self.sim.now
        if level == socket.SOL_SOCKET and option == socket.SO_KEEPALIVE:
            out = ep.set_keepalive(bool(value), now)
        elif level == socket.IPPROTO_TCP and option == getattr(socket, "TCP_KEEPIDLE", 4):
            out = ep.set_keepalive(ep.keepalive, now, idle=value)
        elif level == socket.IPPROTO_TCP and option == getattr(socket, "TCP_KEEPINTVL", 5):
            out = ep.set_keepalive(ep.keepalive, now, interval=value)
        elif level == socket.IPPROTO_TCP and option == getattr(socket, "TCP_KEEPCNT", 6):
            out = ep.set_keepalive(ep.keepalive, now, probes=value)
        elif level == socket.SOL_SOCKET and option == socket.SO_LINGER:
            onoff, linger = struct.unpack("ii", value) if isinstance(value, bytes) else value
            self._linger_zero = bool(onoff) and linger == 0
            return
        else:
            raise OSError(errno.ENOPROTOOPT, f"Protocol not available: option {option} at level "
                          f"{level} is not simulated (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, "
                          f"TCP_KEEPCNT, SO_LINGER are)")
        self.sim._apply(self, out)
        self.sim._settle()

    def keepalive(self, idle: float | None = None, interval: float | None = None,
                  probes: int | None = None) -> None:
        """Turn keepalive on (SO_KEEPALIVE) with optional TCP_KEEPIDLE/INTVL/CNT values."""
        self._check_open("keepalive")
        out = self.endpoint.set_keepalive(True, self.sim.now, idle, interval, probes)
        self.sim._event(self.host.name, "call", "setsockopt()", "SO_KEEPALIVE")
        self.sim._apply(self, out)
        self.sim._settle()


class Host:
    """A simulated host: its sockets, and the socket-module calls of its application.

    ``sim.client`` and ``sim.server`` are hosts.  Their socket calls act on the
    host's current connection: the one ``connect()`` made, or on a server the
    first connection that came in (accepted implicitly), else the listener.
    """

    def __init__(self, sim: Simulation, name: str, address: str, isn=None):
        self.sim = sim
        self.name = name
        self.address = address
        self.listener: Socket | None = None
        self.backlog = 0
        self._pending: list[Socket] = []     # connections the listener made, not yet accepted
        self.sockets: list[Socket] = []
        self._conns: dict[tuple[int, str, int], Socket] = {}   # (lport, peer, pport)
        self._current: Socket | None = None
        self._next_port = EPHEMERAL_PORT
        self.down = False
        if isn is None:
            self._isns: list[int] = []
        elif isinstance(isn, Iterable) and not isinstance(isn, (str, bytes)):
            self._isns = [check_seq(v, f"{name}_isn") for v in isn]
        else:
            self._isns = [check_seq(isn, f"{name}_isn")]

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.state}>"

    # ----------------------------------------------------------- sockets
    def _new_endpoint(self, listener: bool = False) -> Endpoint:
        """A fresh TCB; its ISS is the next given ISN or drawn from the seed (a listener's
        ISS is never used: each SYN it takes gets a new TCB)."""
        if listener:
            return Endpoint(self.sim.profile, 0, mss=self.sim.mss, window=self.sim.window)
        isn = self._isns.pop(0) if self._isns else self.sim._rng.getrandbits(32)
        ep = Endpoint(self.sim.profile, isn, mss=self.sim.mss, window=self.sim.window)
        self.sim.trace.isn.setdefault(self.name, isn)
        return ep

    @property
    def socket(self) -> Socket:
        """The socket the host-level calls act on; OSError(ENOTCONN) if there is none."""
        sock = self._current or self.listener
        if sock is None:
            raise OSError(errno.ENOTCONN, f"Transport endpoint is not connected: {self.name} has "
                          "no socket yet (call listen() or connect() first)")
        if sock in self._pending:
            self._pending.remove(sock)
            sock.accepted = True
        return sock

    @property
    def syn_queue(self) -> list[Socket]:
        """Half-open connections (SYN-RECEIVED) the listener holds: the SYN queue (半连接队列)."""
        return [s for s in self._pending if s.state is State.SYN_RECEIVED]

    @property
    def accept_queue(self) -> list[Socket]:
        """Established connections waiting for accept(): the accept queue (全连接队列)."""
        return [s for s in self._pending if s.state not in (State.SYN_RECEIVED, State.LISTEN)]

    @property
    def state(self) -> State:
        """The RFC state of the host's current connection (LISTEN if only listening;
        CLOSED once the host has crashed: it holds no connection any more)."""
        if self.down:
            return State.CLOSED
        sock = self._current or self.listener
        return sock.state if sock else State.CLOSED

    @property
    def endpoint(self) -> Endpoint:
        """The current connection's endpoint (its TCB: snd_una, snd_nxt, rcv_nxt ...)."""
        return self.socket.endpoint

    tcb = endpoint

    def listen(self, backlog: int = 128, port: int = 80) -> None:
        """passive OPEN: listen on ``port``; ``backlog`` bounds the accept queue (linux)."""
        if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 0:
            raise ValueError(f"backlog must be an integer >= 0, got {backlog!r}")
        if self.listener is not None:
            raise OSError(errno.EINVAL, f"Invalid argument: {self.name} is already listening")
        ep = self._new_endpoint(listener=True)
        sock = Socket(self, ep, port, None)
        self.listener = sock
        self.backlog = backlog
        self.sockets.append(sock)
        sock._call("listen", ep.open_passive, detail=f"port {port}, backlog {backlog}")

    def connect(self, to: str | None = None, port: int | None = None,
                local_port: int | None = None) -> None:
        """active OPEN to host ``to`` (default: the other of client/server): sends SYN.

        If ``to`` is itself connecting to this host, the ports mirror its
        connection, so ``sim.client.connect(); sim.server.connect()`` is a
        simultaneous open.  Raises ConnectionRefusedError if the RST comes back
        before the call returns (always so with latency=0).
        """
        if to is None:
            to = "client" if self.name == "server" else "server"
        if to not in self.sim.hosts:
            raise ValueError(f"unknown host {to!r}; hosts are {sorted(self.sim.hosts)}")
        peer = self.sim.hosts[to]._current
        if port is None and local_port is None and peer is not None and peer.remote \
                and peer.remote[0] == self.name and peer.state is State.SYN_SENT:
            port, local_port = peer.local_port, peer.remote[1]
        port = 80 if port is None else port
        for what, value in (("port", port), ("local_port", local_port)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= 65535):
                raise ValueError(f"{what} must be an integer in 1..65535, got {value!r}")
        cur = self._current
        if cur is not None and not cur.closed and cur.state is not State.CLOSED:
            raise OSError(errno.EISCONN, f"Transport endpoint is already connected "
                          f"(state {cur.state})")
        if local_port is None:
            local_port = self._next_port
            self._next_port += 1
        lport = local_port
        held = self._conns.get((lport, to, port))
        if held is not None and held.state is not State.CLOSED:
            raise OSError(errno.EADDRNOTAVAIL, f"Cannot assign requested address: {self.name}:"
                          f"{lport} <-> {to}:{port} is in use by a connection in {held.state}")
        ep = self._new_endpoint()
        sock = Socket(self, ep, lport, (to, port))
        sock.accepted = True
        self._conns[(lport, to, port)] = sock
        self.sockets.append(sock)
        self._current = sock
        sock._call("connect", ep.open_active, detail=f"to {to}:{port}")
        if ep.error is not None:
            ep.raise_pending_error()

    def accept(self) -> Socket:
        """The next established connection from the accept queue (BlockingIOError if none)."""
        if self.listener is None:
            raise OSError(errno.EINVAL, f"Invalid argument: {self.name} is not listening")
        for sock in self.accept_queue:
            if sock.state is not State.SYN_RECEIVED:
                self._pending.remove(sock)
                sock.accepted = True
                self.sim._event(self.name, "call", "accept()", f"from {sock.remote[0]}")
                if self._current is None or self._current.closed:
                    self._current = sock
                return sock
        raise BlockingIOError(errno.EAGAIN, "no connection in the accept queue yet")

    def send(self, data: bytes) -> int:
        return self.socket.send(data)

    sendall = send

    def recv(self, bufsize: int | None = None) -> bytes:
        return self.socket.recv(bufsize)

    def shutdown(self, how: int) -> None:
        self.socket.shutdown(how)

    def close(self) -> None:
        self.socket.close()

    def abort(self) -> None:
        self.socket.abort()

    def setsockopt(self, level: int, option: int, value) -> None:
        self.socket.setsockopt(level, option, value)

    def keepalive(self, idle: float | None = None, interval: float | None = None,
                  probes: int | None = None) -> None:
        self.socket.keepalive(idle, interval, probes)

    send.__doc__ = Socket.send.__doc__
    recv.__doc__ = Socket.recv.__doc__
    shutdown.__doc__ = Socket.shutdown.__doc__
    close.__doc__ = Socket.close.__doc__
    abort.__doc__ = Socket.abort.__doc__
    setsockopt.__doc__ = Socket.setsockopt.__doc__
    keepalive.__doc__ = Socket.keepalive.__doc__

    def crash(self) -> None:
        """The host vanishes (power cut, cable pulled): it loses every connection and
        answers nothing from now on; segments sent to it are lost."""
        self.down = True
        self.sim._event(self.name, "call", "crash()", "host down, all state lost")
        for sock in self.sockets:
            sock.endpoint.timers.clear()

    def _forget_listener(self, sock: Socket) -> None:
        if sock is self.listener:
            self.listener = None

    # ----------------------------------------------------------- demultiplexing
    def _arrive(self, seg: Segment) -> tuple[Socket | None, Output | None]:
        """Deliver ``seg``; returns the socket and what its endpoint asked for."""
        key = (seg.dport, seg.sender, seg.sport)
        sock = self._conns.get(key)
        if sock is not None and sock.state is State.CLOSED and Flags.SYN in seg.flags:
            del self._conns[key]                        # a closed TCB: the port is free again
            sock = None
        if sock is None:
            lst = self.listener
            if lst is None or lst.local_port != seg.dport or lst.state is not State.LISTEN:
                return None, self._closed_port(seg)
            if Flags.SYN not in seg.flags or seg.flags & (Flags.ACK | Flags.RST):
                return lst, lst.endpoint.segment_arrives(seg, self.sim.now)   # LISTEN rows
            if self._queue_full():
                return None, None                       # Linux drops the SYN (LISTENOVERFLOWS)
            sock = self._spawn(seg)
        if sock.state is State.CLOSED:
            return None, self._closed_port(seg)
        if (sock.state is State.SYN_RECEIVED and sock.endpoint.passive
                and Flags.ACK in seg.flags and not seg.flags & (Flags.SYN | Flags.RST)
                and self._queue_full()):
            return sock, None                           # accept queue full: the ACK is dropped
        return sock, sock.endpoint.segment_arrives(seg, self.sim.now)

    def _discard(self, sock: Socket) -> None:
        self._conns.pop((sock.local_port, *sock.remote), None)
        if sock in self._pending:
            self._pending.remove(sock)
        if self._current is sock:
            self._current = None

    def _queue_full(self) -> bool:
        extra = self.sim.profile.accept_queue_extra
        if extra is None:                 # the RFC has no accept queue to fill
            return False
        return len(self.accept_queue) >= self.backlog + extra

    def _spawn(self, seg: Segment) -> Socket:
        """A SYN for the listener: a new TCB in LISTEN takes it (RFC 9293 §3.10.7.2)."""
        ep = self._new_endpoint()
        ep.open_passive(self.sim.now)
        sock = Socket(self, ep, seg.dport, (seg.sender, seg.sport))
        self._conns[(seg.dport, seg.sender, seg.sport)] = sock
        self.sockets.append(sock)
        self._pending.append(sock)
        cur = self._current
        if cur is None or cur.closed or cur.state in (State.CLOSED, State.LISTEN):
            self._current = sock
        return sock

    def _closed_port(self, seg: Segment) -> Output:
        return no_connection(seg, self.sim.profile)


class Simulation:
    """Two hosts, "client" and "server", and the network between them.

    ``profile`` is "rfc" (textbook) or "linux"; ``latency`` the one-way delay
    in seconds; ``loss`` the probability that any segment is lost; ``seed``
    makes random ISNs and losses repeatable; ``client_isn``/``server_isn``
    fix the ISNs (an int, or a list used one connection after another).
    ``timer_lateness(length, now)``, a function of a timer's length and of the time it is
    set, in seconds, delays every timer by what it returns: a real kernel's timers fire a
    little after their deadline (used by :mod:`tcpedu.live` to bracket the kernel's
    timing); by default timers fire on time.
    """

    def __init__(self, profile: str | Profile = "rfc", latency: float = 0.0, loss: float = 0.0,
                 seed: int = 0, client_isn=None, server_isn=None, mss: int | None = None,
                 window: int | None = None, timer_lateness=None):
        self.profile = get_profile(profile)
        self.latency = _check_time(latency, "latency")
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0 <= loss <= 1:
            raise ValueError(f"loss must be a probability between 0 and 1, got {loss!r}")
        self.loss = float(loss)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        for what, value in (("mss", mss), ("window", window)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= 65535):
                raise ValueError(f"{what} must be an integer in 1..65535, got {value!r}")
        self.mss = mss
        self.window = window
        if timer_lateness is not None and not callable(timer_lateness):
            raise ValueError(f"timer_lateness must be a function of a timer's length, "
                             f"got {timer_lateness!r}")
        self._lateness = timer_lateness
        self.seed = seed
        self._rng = random.Random(seed)
        self._loss_rng = random.Random(seed ^ 0x5EED)
        self.now = 0.0
        self._queue: list = []
        self._order = 0
        self._drops: list[list] = []
        self._delays: list[list] = []
        self.trace = Trace(profile=self.profile.name)
        self.hosts: dict[str, Host] = {}
        self.client = self.add_host("client", isn=client_isn)
        self.server = self.add_host("server", isn=server_isn)

    def __repr__(self) -> str:
        return (f"<Simulation profile={self.profile.name!r} t={self.now:g}s "
                f"client {self.client.state} server {self.server.state}>")

    def add_host(self, name: str, isn=None) -> Host:
        """Add another host (e.g. more clients for a backlog experiment)."""
        if not isinstance(name, str) or not name or name in self.hosts:
            raise ValueError(f"host name must be a new non-empty string, got {name!r}")
        n = len(self.hosts)
        address = _ADDRESSES[n] if n < 2 else f"192.0.2.{n + 1}"
        host = Host(self, name, address, isn)
        self.hosts[name] = host
        return host

    # ----------------------------------------------------------- network control
    def _check_host(self, name: str) -> None:
        if name not in self.hosts:
            raise ValueError(f"unknown sender {name!r}; hosts are {sorted(self.hosts)}")

    def drop_next(self, sender: str, flags: Flags = _ANY, count: int = 1) -> None:
        """Lose the next ``count`` segments ``sender`` sends that carry all of ``flags``
        (``Flags.ACK`` matches any segment with ACK; ``Flags(0)`` any segment)."""
        self._check_host(sender)
        if isinstance(flags, str):
            flags = Flags.parse(flags)
        if not isinstance(flags, Flags):
            raise ValueError(f"flags must be tcpedu.Flags, got {flags!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}")
        self._drops.extend([sender, flags, True] for _ in range(count))

    def delay_next(self, sender: str, flags: Flags = _ANY, by: float = 0.0) -> None:
        """Hold the next segment ``sender`` sends that carries ``flags`` ``by`` extra seconds."""
        self._check_host(sender)
        if isinstance(flags, str):
            flags = Flags.parse(flags)
        self._delays.append([sender, flags, _check_time(by, "by")])

    def inject(self, sender: str, flags: Flags, seq: int, ack: int = 0, payload: bytes = b"",
               to: str | None = None, sport: int | None = None, dport: int = 80,
               delay: float | None = None, note: str = "injected") -> None:
        """Put a hand-made segment on the wire as if ``sender`` sent it (e.g. an old duplicate);
        it arrives after ``delay`` seconds (default: the latency)."""
        self._check_host(sender)
        if isinstance(flags, str):
            flags = Flags.parse(flags)
        check_seq(seq, "seq")
        check_seq(ack, "ack")
        to = to or ("server" if sender != "server" else "client")
        self._check_host(to)
        host = self.hosts[sender]
        seg = Segment(flags, seq, ack, bytes(payload), 65535,
                      sport=host._next_port if sport is None else sport, dport=dport, note=note,
                      injected=True)
        extra = None if delay is None else _check_time(delay, "delay") - self.latency
        self._send(sender, to, seg, extra_delay=extra)
        self._settle()

    # ----------------------------------------------------------- time
    def wait(self, seconds: float) -> None:
        """Advance simulated time by ``seconds``; deliveries and timers happen on the way."""
        seconds = _check_time(seconds, "wait")
        self._run_until(self.now + seconds)

    def run(self, limit: float = 3600.0) -> None:
        """Advance until nothing is left to happen (at most ``limit`` seconds)."""
        limit = _check_time(limit, "limit")
        end = self.now + limit
        while self._queue and self._queue[0][0] <= end:
            self._run_until(self._queue[0][0])
        if not self._queue:
            return
        self._run_until(end)

    def _run_until(self, t: float) -> None:
        q = self._queue
        while q and q[0][0] <= t:
            when, _, kind, a, b = heapq.heappop(q)
            self.now = max(self.now, when)
            if kind == "deliver":
                self._deliver(a, b)
            else:
                self._timer(a, b)
        self.now = max(self.now, t)

    def _settle(self) -> None:
        """Run everything due now (latency 0: the answers to what was just sent)."""
        self._run_until(self.now)

    def _push(self, when: float, kind: str, a, b) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, kind, a, b))

    # ----------------------------------------------------------- plumbing
    def _event(self, host: str, kind: str, name: str, detail: str = "", **kw) -> None:
        self.trace.events.append(TraceEvent(self.now, host, kind, name, detail, **kw))

    def _apply(self, sock: Socket, out: Output) -> None:
        host = sock.host
        for row in out.transitions:
            self._event(host.name, "state", str(row.event), row.label, old=row.state,
                        new=row.next, row=row)
        for name, deadline in out.timers.items():
            if deadline is None:
                self._event(host.name, "timer", name, "cancelled")
            else:
                if self._lateness is not None:
                    late = self._lateness(deadline - self.now, self.now)
                    deadline = sock.endpoint.move_timer(name, deadline + late)
                self._event(host.name, "timer", name, f"set until {deadline:.6g}", deadline=deadline)
                self._push(deadline, "timer", sock, (name, deadline))
        if sock.remote is None:
            return
        for seg in out.segments:
            seg.sport, seg.dport = sock.local_port, sock.remote[1]
            self._send(host.name, sock.remote[0], seg)

    def _state_of(self, host: str, lport: int, peer: str, pport: int) -> State:
        h = self.hosts[host]
        if h.down:
            return State.CLOSED
        sock = h._conns.get((lport, peer, pport))
        if sock is not None:
            return sock.endpoint.state
        if h.listener is not None and h.listener.local_port == lport:
            return h.listener.endpoint.state
        return State.CLOSED

    def _states(self, sender: str, receiver: str, seg: Segment) -> tuple[State, State]:
        """(client-side, server-side) states of the connection ``seg`` belongs to."""
        s = self._state_of(sender, seg.sport, receiver, seg.dport)
        r = self._state_of(receiver, seg.dport, sender, seg.sport)
        return (r, s) if sender == "server" else (s, r)

    def _send(self, sender: str, receiver: str, seg: Segment, extra_delay: float | None = None
              ) -> None:
        lost = self.hosts[sender].down or self._take_rule(self._drops, sender, seg) is not None
        if not lost and self.loss and self._loss_rng.random() < self.loss:
            lost = True
        delay = self.latency + (extra_delay or 0.0)
        held = self._take_rule(self._delays, sender, seg)
        if held is not None:
            delay += held
        seg.client_state, seg.server_state = self._states(sender, receiver, seg)
        seg.sender, seg.receiver, seg.time, seg.lost = sender, receiver, self.now, lost
        self.trace.segments.append(seg)
        if not lost:
            self._push(self.now + delay, "deliver", len(self.trace.segments) - 1, seg)

    @staticmethod
    def _take_rule(rules: list[list], sender: str, seg: Segment):
        """The value of the first rule [sender, flags, value] that ``seg`` matches, used up."""
        for rule in rules:
            if rule[0] == sender and (seg.flags & rule[1]) == rule[1]:
                rules.remove(rule)
                return rule[2]
        return None

    def _deliver(self, index: int, seg: Segment) -> None:
        host = self.hosts[seg.receiver]
        seg.extra["arrival"] = self.now          # when it reached the receiver (for ladders)
        if host.down:
            _add_note(seg, f"{host.name} is down")
            return
        sock, out = host._arrive(seg)
        if out is None and sock is not None:
            _add_note(seg, "accept queue full: dropped")
        elif out is None and sock is None and Flags.SYN in seg.flags and host.listener is not None:
            _add_note(seg, "accept queue full: SYN dropped")
        # the receiver's state after processing, as the RFC figures print it
        cs, ss = self._states(seg.sender, seg.receiver, seg)
        if seg.sender == "server":
            seg.client_state = cs
        else:
            seg.server_state = ss
        if out is None:
            return
        if sock is None or sock.remote is None:
            # no connection (CLOSED row) or the listener (LISTEN rows): answer the sender
            if sock is not None:
                self._apply(sock, out)
            for reply in out.segments:
                reply.sport, reply.dport = seg.dport, seg.sport
                self._send(host.name, seg.sender, reply)
            return
        self._apply(sock, out)
        if sock.state is State.LISTEN and sock is not host.listener:
            host._discard(sock)          # back to LISTEN after RST: the listener takes the next SYN

    def _timer(self, sock: Socket, timer: tuple[str, float]) -> None:
        name, deadline = timer
        if sock.host.down:
            return
        ep = sock.endpoint
        if ep.timers.get(name) != deadline:
            return                   # cancelled or set again since: a stale entry
        self._event(sock.host.name, "timer", name, "fired")
        self._apply(sock, ep.timer_expired(name, self.now))
