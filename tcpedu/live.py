"""The same socket-call scripts on this machine's real TCP (loopback), with kernel states.

:func:`run_live` opens real sockets on 127.0.0.1 (ports chosen by the OS),
plays a :mod:`tcpedu.script` step by step, and after each step reads the
kernel's state of both sockets (Linux only: by sock_diag, else ``/proc/net/tcp``).  With
``capture=`` a path and tcpdump available (it needs root), the segments are
captured too.  Every socket is closed at the end, and no call blocks for
more than ``timeout`` seconds.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import gzip
import math
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .script import (
    SHUTDOWN_HOW,
    Outcome,
    StepTimes,
    check_script,
    describe_step,
    payload,
    result_text,
    run_simulated,
    sides,
)
from .segment import Flags

__all__ = [
    "states_supported", "capture_supported", "kernel_states", "kernel_state", "kernel_tick",
    "timer_window", "LOOPBACK_MSS", "LiveRun", "run_live", "Verdict", "LabRun", "compare", "lab",
]

# /proc/net/tcp "st" column -> the RFC state name (include/net/tcp_states.h)
_KERNEL_STATES = {
    1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
    6: "TIME-WAIT", 7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
    12: "SYN-RECEIVED",
}


def states_supported() -> bool:
    """True where the kernel's TCP states can be read (Linux: sock_diag or /proc/net/tcp)."""
    return sys.platform.startswith("linux") and os.path.exists("/proc/net/tcp")


def capture_supported() -> str | None:
    """None if loopback can be captured here, else the reason why not."""
    if not sys.platform.startswith("linux"):
        return f"capturing loopback traffic is only implemented on Linux, not {sys.platform}"
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed (apt-get install tcpdump)"
    if os.geteuid() != 0:
        return "capturing packets needs root (tcpdump on the loopback interface)"
    return None


def _hexaddr(addr: tuple[str, int]) -> str:
    ip, port = addr
    return f"{struct.unpack('<I', socket.inet_aton(ip))[0]:08X}:{port:04X}"


def kernel_states() -> dict[tuple[str, str], str]:
    """Every IPv4 TCP socket in /proc/net/tcp: (local, remote) in its hex form -> state name."""
    table = {}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                table[(cols[1], cols[2])] = _KERNEL_STATES.get(int(cols[3], 16), cols[3])
    except OSError:
        pass
    return table


def kernel_state(local: tuple[str, int], remote: tuple[str, int] | None,
                 table: dict | None = None) -> str:
    """The kernel's state of the IPv4 socket ``local`` <-> ``remote`` ("CLOSED" if none).

    Asked of the kernel by its 4-tuple through sock_diag (a hash lookup, ~40 µs: reading
    /proc/net/tcp walks the whole connection table, ~4 ms on a large machine, long enough to
    straddle a timer); from /proc/net/tcp (or ``table``, a :func:`kernel_states`) where
    sock_diag cannot be used.  ``remote`` None: a listener.
    """
    if table is None and remote is not None and _diag_works():
        return _diag_state(local, remote)
    table = kernel_states() if table is None else table
    return table.get((_hexaddr(local), _hexaddr(remote) if remote else "00000000:0000"), "CLOSED")


_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, _NLMSG_ERROR = 4, 20, 1, 2   # linux/netlink.h


@functools.lru_cache(maxsize=1)
def _diag_works() -> bool:
    """Whether sock_diag answers for TCP here: a listener of ours must come back as LISTEN.
    (Without the inet_diag handler the kernel answers ENOENT, as for a connection that is
    not there, so an answer of "CLOSED" proves nothing.)"""
    try:
        with socket.socket() as probe:
            probe.bind((_LOCAL, 0))
            probe.listen()
            return _diag_state(probe.getsockname(), ("0.0.0.0", 0), listener_ok=True) == "LISTEN"
    except OSError:
        return False


def _diag_state(local: tuple[str, int], remote: tuple[str, int], listener_ok: bool = False) -> str:
    """One connection's state by an exact sock_diag lookup (linux/inet_diag.h:
    inet_diag_req_v2, every state, no cookie); the kernel answers ENOENT when there is none.
    A lookup of a closed connection on a listening port finds the listener: CLOSED too."""
    sockid = (struct.pack("!HH", local[1], remote[1]) + socket.inet_aton(local[0]) + bytes(12)
              + socket.inet_aton(remote[0]) + bytes(12) + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF))
    body = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _SOCK_DIAG) as nl:
        nl.send(struct.pack("=IHHII", 16 + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
                + body)
        answer = nl.recv(65536)
    if struct.unpack_from("=H", answer, 4)[0] == _NLMSG_ERROR:
        code = -struct.unpack_from("=i", answer, 16)[0]
        if code == errno.ENOENT:
            return "CLOSED"
        raise OSError(code, os.strerror(code))
    state = _KERNEL_STATES.get(answer[17], str(answer[17]))     # inet_diag_msg.idiag_state
    return "CLOSED" if state == "LISTEN" and not listener_ok else state


class _Capture:
    """tcpdump on the loopback interface for some ports, written to ``path``."""

    def __init__(self, path: str, ports: list[int], timeout: float):
        self.path = path
        expr = " or ".join(f"tcp port {p}" for p in ports)
        self.proc = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-B", "16384", "-n", "-w", path, expr],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and b"listening on" not in line:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"tcpdump exited with {self.proc.returncode}")
        time.sleep(0.5)       # "listening on" comes before the capture is really under way

    def stop(self) -> None:
        time.sleep(0.1)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


@dataclass
class LiveRun:
    """A script played on real sockets: outcomes, kernel states, and the capture if made."""

    outcome: Outcome
    capture: str | None
    ports: dict[str, int]
    origin: float = 0.0          # the wall-clock time (time.time()) that outcome.times count from

    @property
    def states(self) -> list[dict[str, str]]:
        return self.outcome.states


class _Host:
    """One side of a live run: its socket(s) and whether its application closed."""

    def __init__(self, name: str):
        self.name = name
        self.sock: socket.socket | None = None
        self.port = 0
        self.peer = 0              # the port at the other end (0: none yet)
        self.listening = False
        self.connected_once = False


def run_live(steps, capture: str | None = None, settle: float = 0.005,
             timeout: float = 5.0) -> LiveRun:
    """Play ``steps`` on real loopback sockets; sample kernel states after each step.

    Steps run on a schedule: each starts ``settle`` seconds after the one before
    (plus any sleep), and states are read just before the next step.  A busy machine
    makes steps late, so the schedule is only a wish: what counts is
    ``outcome.times``, when each call really started and returned and when the
    states were really read, which :func:`compare` gives the engine to replay.
    connect() does not block: like the simulator's, it returns once the SYN is out
    (an answer that comes within ``settle`` is reported, e.g. a refusal).
    """
    steps = check_script(steps)
    hosts = {name: _Host(name) for name in sides(steps)}
    server = hosts["server"]
    server.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.sock.bind((_LOCAL, 0))
    server.port = server.sock.getsockname()[1]
    listener = server.sock
    for host in hosts.values():
        if host is not server:
            host.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            host.sock.bind((_LOCAL, 0))
            host.port = host.sock.getsockname()[1]
    accepted: list[socket.socket] = []
    cap = _Capture(capture, [h.port for h in hosts.values()], timeout) if capture else None
    outcome = Outcome(steps)
    start = time.time()                 # the clock tcpdump stamps packets with
    due = 0.0                           # when the next step starts, in seconds from the start
    try:
        for step in steps:
            _sleep_until(start + due)
            called = time.time() - start
            due = max(due, called)          # a step that starts late keeps its gap to the next
            try:
                value = _live_step(step, hosts, listener, accepted, settle, timeout)
            except OSError as exc:
                value = exc
            returned = time.time() - start
            outcome.results.append(result_text(value))
            if step[0] == "sleep":
                due += step[1]
            due += settle
            _sleep_until(start + due - min(settle / 10, 0.001))   # read states, then the next step
            read = time.time() - start
            outcome.states.append(_kernel_states(hosts))
            outcome.times.append(StepTimes((called, returned), (read, time.time() - start)))
    finally:
        if cap is not None:
            cap.stop()                  # the capture covers the script, not the clean-up
        for s in [listener, *accepted, *(h.sock for h in hosts.values())]:
            if s is not None:
                s.close()
    ports = {h.name: h.port for h in hosts.values()}
    if capture:
        outcome.times = _pin_to_capture(steps, outcome.times, capture, start, ports)
    return LiveRun(outcome, capture, ports, start)


_EMITS = ("connect", "send", "shutdown", "close", "abort")   # calls that can put a segment out


def _pin_to_capture(steps, times: list[StepTimes], pcap: str, start: float,
                    ports: dict[str, int]) -> list[StepTimes]:
    """Each call that put a segment on the wire happened when the capture saw it leave:
    its interval shrinks to that instant.  (A call's first segment that is more than a
    pure ACK, from its host, stamped between the call's start and return: a pure ACK
    there may be a timer's.)"""
    from .capture import iter_segments

    sent = []                                       # (seconds from start, sender's port)
    for key, seg in iter_segments(pcap):
        if seg.len or seg.flags & (Flags.SYN | Flags.FIN | Flags.RST):
            port = key.client[1] if seg.sender == "client" else key.server[1]
            sent.append((key.start + seg.time - start, port))
    pinned = []
    for step, t in zip(steps, times, strict=True):
        if step[0] != "sleep" and step[1] in _EMITS:
            at = next((when for when, port in sent if port == ports[step[0]]
                       and t.call[0] - _STAMP <= when <= t.call[1] + _STAMP), None)
            if at is not None:
                t = StepTimes((at, at), t.sample)
        pinned.append(t)
    return pinned


_LOCAL = "127.0.0.1"
_STAMP = 50e-6      # a packet's capture stamp vs time.time() around the call: same clock, µs apart


def _sleep_until(when: float) -> None:
    delay = when - time.time()
    if delay > 0:
        time.sleep(delay)


def _kernel_states(hosts: dict[str, _Host]) -> dict[str, str]:
    """Each side's connection state as the kernel shows it (the server: its connection
    with the first client, else LISTEN), named as the simulator names them."""
    server, client = hosts["server"], hosts["client"]
    states = {}
    for host in hosts.values():
        if host is server:
            continue
        states[host.name] = kernel_state((_LOCAL, host.port), (_LOCAL, host.peer)) \
            if host.peer else "CLOSED"
    conn = kernel_state((_LOCAL, server.port), (_LOCAL, client.port)) \
        if client.peer == server.port else "CLOSED"
    if conn != "CLOSED":
        server.connected_once = True
    elif server.listening and not server.connected_once:
        conn = "LISTEN"
    states["server"] = conn
    return states


def _connect(host: _Host, port: int, settle: float) -> None:
    """A non-blocking connect: the SYN goes out; a refusal within ``settle`` is raised."""
    host.sock.setblocking(False)
    host.peer = port
    err = host.sock.connect_ex((_LOCAL, port))
    if err not in (0, errno.EINPROGRESS):
        raise OSError(err, os.strerror(err))
    time.sleep(min(settle / 2, 0.002))       # loopback answers within microseconds
    err = host.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err == errno.ECONNREFUSED:
        raise ConnectionRefusedError(err, os.strerror(err))
    if err:
        raise OSError(err, os.strerror(err))


def _accept(listener: socket.socket, hosts: dict[str, _Host], accepted: list) -> socket.socket:
    """The server application's first use of its connection accepts it (as the simulator does)."""
    server = hosts["server"]
    if server.sock is listener:
        listener.settimeout(0.0)
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, TimeoutError):
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected "
                          "(no connection to accept yet)") from None
        accepted.append(conn)
        server.sock = conn
    return server.sock


def _live_step(step, hosts, listener, accepted, settle, timeout):
    if step[0] == "sleep":
        time.sleep(step[1])
        return None
    host, action = hosts[step[0]], step[1]
    if action == "listen":
        listener.listen(step[2] if len(step) == 3 else 128)
        host.listening = True
        return None
    if action == "connect":
        return _connect(host, host.port if len(step) == 3 else hosts["server"].port, settle)
    sock = _accept(listener, hosts, accepted) if host.name == "server" else host.sock
    if sock is None or sock.fileno() < 0:
        raise OSError(errno.EBADF, "Bad file descriptor: the socket was closed")
    if action == "send":
        sock.settimeout(timeout)
        sock.sendall(payload(step[2]))
        return None
    if action == "recv":
        sock.settimeout(0.0)
        chunks = []
        while True:
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError as exc:
                return b"".join(chunks) if chunks else exc
            chunks.append(data)
            if not data:
                return b"".join(chunks)
    if action == "shutdown":
        sock.shutdown(SHUTDOWN_HOW[step[2]])
        return None
    if action == "abort":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return None


# ------------------------------------------------------------------ engine vs kernel
LOOPBACK_MSS = 65483     # lo's MTU 65536 - 40 bytes of IP and TCP headers - 12 of timestamps
_SOFTIRQ = 0.001         # from the tick to the timer softirq having run (measured: < 0.5 ms)


@functools.lru_cache(maxsize=1)
def kernel_tick() -> float:
    """The kernel's clock tick in seconds (1 / CONFIG_HZ, from /proc/config.gz or
    /boot/config-<release>); 0.01 (HZ=100, the coarsest in use) where it cannot be read."""
    for path, opener in (("/proc/config.gz", gzip.open), (f"/boot/config-{platform.release()}", open)):
        try:
            with opener(path, "rt") as f:
                for line in f:
                    if line.startswith("CONFIG_HZ="):
                        return 1 / int(line.split("=", 1)[1])
        except (OSError, ValueError):
            continue
    return 0.01


def timer_window(length: float, tick: float) -> tuple[float, float]:
    """How much later than the engine a kernel timer of ``length`` seconds can fire:
    (earliest, latest) offsets in seconds.

    A timer of J ticks goes into the timer wheel rounded *up* to its level's granularity
    (kernel/time/timer.c, calc_wheel_index(): 1 tick below 63 ticks, 8 below 504, 64 below
    4032, ...), counted from the tick in progress, so it fires between J and J + granularity
    ticks after it was set, when the next tick's softirq runs.  The engine's one-tick delayed
    ACK (``length`` < 1 tick) stands for the kernel's "at the next tick" (J = 0).
    """
    jiffies = math.floor(length / tick + 1e-9)
    granularity, level_end = 1, 63
    while jiffies >= level_end:
        granularity, level_end = granularity * 8, level_end * 8
    return jiffies * tick - length, (jiffies + granularity) * tick - length + _SOFTIRQ


@dataclass(frozen=True)
class Verdict:
    """How the engine and the kernel compare on one step (or on the segments).

    ``status``: "same"; "race" when the engine's answer depends on timing finer than
    the kernel's timers (see :func:`compare`) and the kernel gave one of the possible
    answers, which ``note`` names; "differs" otherwise; "unknown" where the platform
    shows no kernel states.
    """

    status: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("same", "race")

    def mark(self) -> str:
        return {"same": "✓ same", "race": "≈ timer race", "differs": "✗ differs",
                "unknown": "? no kernel state"}[self.status]


@dataclass
class LabRun:
    """A script run on the engine and on this machine's kernel, step by step side by side.

    ``rows``: (step, engine result, kernel result, engine states, kernel states) per step;
    ``verdicts``: a :class:`Verdict` per row; ``trace``: the engine's trace;
    ``capture``: the kernel's segments (a Trace) when capturing was possible, else None
    and ``why_no_capture`` says why; ``segments``: the Verdict on the segments (None
    without a capture).
    """

    steps: list[tuple]
    rows: list[tuple]
    trace: object
    capture: object
    why_no_capture: str | None
    platform_note: str | None
    verdicts: list[Verdict] = field(default_factory=list)
    segments: Verdict | None = None

    @property
    def agree(self) -> bool:
        """True when no step and no segment differs (a timer race in which the kernel did
        one of the things the engine allows is not a difference; ``races`` lists them)."""
        return all(v.ok for v in self.verdicts) and (self.segments is None or self.segments.ok)

    @property
    def races(self) -> list[str]:
        """The notes of every step (and the segments) that raced a timer."""
        found = [f"step {i}: {v.note}" for i, v in enumerate(self.verdicts, 1) if v.status == "race"]
        if self.segments is not None and self.segments.status == "race":
            found.append(f"segments: {self.segments.note}")
        return found

    def ladder(self, **options):
        """The kernel's segments as a ladder with inferred states when they were captured,
        else the engine's run of the same script (the title says which)."""
        if self.capture is not None:
            return self.capture.ladder(title=options.pop("title", "this machine's kernel"),
                                       **options)
        return self.trace.ladder(title=options.pop("title", "the engine (no capture here)"),
                                 **options)

    def _repr_html_(self) -> str:
        import html

        head = ("<tr><th>#</th><th>call</th><th>engine</th><th>kernel</th>"
                "<th>engine states</th><th>kernel states</th><th></th></tr>")
        body = []
        for i, ((step, er, kr, es, ks), v) in enumerate(zip(self.rows, self.verdicts, strict=True), 1):
            tip = f" title='{html.escape(v.note, quote=True)}'" if v.note else ""
            body.append(f"<tr><td>{i}</td><td><code>{html.escape(describe_step(step))}</code></td>"
                        f"<td>{html.escape(er)}</td><td>{html.escape(kr)}</td>"
                        f"<td>{html.escape(_states_text(es))}</td>"
                        f"<td>{html.escape(_states_text(ks))}</td><td{tip}>{v.mark()}</td></tr>")
        notes = [n for n in (self.platform_note, self.why_no_capture and
                             f"segments not captured: {self.why_no_capture}") if n]
        if self.segments is not None:
            notes.append(f"segments: {self.segments.mark()}"
                         + (f" ({self.segments.note})" if self.segments.note else ""))
        notes += [r for r in self.races if not r.startswith("segments")]
        foot = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)
        return f"<table class='tcpedu-lab'>{head}{''.join(body)}</table>{foot}"

    def __str__(self) -> str:
        lines = []
        for i, ((step, er, kr, es, ks), v) in enumerate(zip(self.rows, self.verdicts, strict=True), 1):
            lines.append(f"{i:2} {describe_step(step):28} engine {er:12} kernel {kr:12} "
                         f"engine {es} kernel {ks}  {v.status.upper()}"
                         + (f" ({v.note})" if v.note else ""))
        if self.segments is not None:
            lines.append(f"segments: {self.segments.status.upper()}"
                         + (f"\n{self.segments.note}" if self.segments.note else ""))
        return "\n".join(lines)


def _states_text(states: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in states.items())


def _connections(trace, steps) -> list:
    """The engine's trace cut into one Trace per client, in the order the clients first
    connect, each client named "client" as a capture names the side of the first SYN."""
    parts = []
    for host in sides(steps)[:-1]:
        part = trace.between(host, "server")
        if host == "client" and not part.segments:
            part = trace.between("client", "client")          # a self-connect
        part.segments = [dataclasses.replace(
            seg, sender="client" if seg.sender == host else seg.sender,
            receiver="client" if seg.receiver == host else seg.receiver) for seg in part.segments]
        parts.append(part)
    return [p for p in parts if p.segments]


def compare(steps, kernel: Outcome, pcap: str | None = None, profile: str = "linux",
            tick: float | None = None) -> LabRun:
    """The engine replayed at the kernel's own times, compared with the kernel's run.

    ``kernel`` is a run's :class:`~tcpedu.script.Outcome` with its ``times``; ``pcap``
    its capture, if any.  Each call is made in the engine when the kernel run made it,
    and the states are read when the kernel's were read, so a step that a busy machine
    made late is late in both.  What stays uncertain is finer than that: a call happened
    somewhere between its start and its return, and a kernel timer fires up to a tick (or
    its timer-wheel granularity) after the engine's (:func:`timer_window`).  So the engine
    runs three times: on time, with every call at its start and every timer as late as the
    kernel's can be, and with every call at its return and every timer as early as it can
    be.  Where the three agree the kernel must agree exactly; where they do not, the step
    raced a timer, the verdict says so and names the timer, and the kernel must have done
    one of the things the engine allows.
    """
    steps = check_script(steps)
    if len(kernel.times) != len(steps):
        raise ValueError(f"the kernel's run has {len(kernel.times)} step times for "
                         f"{len(steps)} steps (a run recorded without times cannot be replayed)")
    tick = kernel_tick() if tick is None else tick
    runs = {}
    for name, edge in (("on time", None), ("calls early, timers late", 0),
                       ("calls late, timers early", 1)):
        lateness = None if edge is None else _lateness(steps, kernel.times, edge, tick)
        runs[name] = run_simulated(steps, profile=profile, latency=0.0, times=kernel.times,
                                   edge=edge or 0, mss=LOOPBACK_MSS, timer_lateness=lateness)
    sim, engine = runs["on time"]
    rows = [(st, er, kr, es, ks) for st, er, kr, es, ks in
            zip(steps, engine.results, kernel.results, engine.states, kernel.states, strict=True)]
    verdicts = [_step_verdict(i, kernel, runs, tick) for i in range(len(steps))]
    captured, segments = None, None
    if pcap is not None:
        from .capture import read_pcap

        kernel_parts = [read_pcap(pcap, i) for i in range(len(_connections(sim.trace, steps)))]
        captured = kernel_parts[0] if kernel_parts else read_pcap(pcap)
        segments = _segment_verdict(steps, kernel_parts, runs, tick)
    return LabRun(steps, rows, sim.trace, captured, None, None, verdicts, segments)


def _lateness(steps, times: list[StepTimes], edge: int, tick: float):
    """Timer lateness for the run with every call at the start (``edge`` 0) or the end (1) of
    its interval: as late (0) or as early (1) as a kernel timer can be, and a timer set by a
    call also as late (early) as that call itself can have been, since the kernel made the
    call somewhere between its start and its return."""
    widths = [(t.call[edge], (t.call[1] - t.call[0]) * (1 if edge == 0 else -1))
              for step, t in zip(steps, times, strict=True) if step[0] != "sleep"]

    def lateness(length: float, now: float) -> float:
        window = timer_window(length, tick)[1 - edge]
        return window + next((w for at, w in widths if abs(at - now) < 1e-9), 0.0)

    return lateness


def _step_verdict(i: int, kernel: Outcome, runs: dict, tick: float) -> Verdict:
    seen = (kernel.results[i], kernel.states[i])
    possible = {name: (out.results[i], out.states[i]) for name, (_, out) in runs.items()}
    if len(set(map(repr, possible.values()))) == 1:
        return Verdict("same") if seen == possible["on time"] else Verdict("differs")
    if seen not in possible.values():
        return Verdict("differs", "the engine allows " + _alternatives(possible))
    timer = _nearest_timer(runs["on time"][0].trace, kernel.times[i], tick)
    return Verdict("race", f"{timer}: the engine allows {_alternatives(possible)}; "
                           f"the kernel gave {_show(seen)}")


def _alternatives(possible: dict) -> str:
    answers: dict[str, list[str]] = {}
    for name, value in possible.items():
        answers.setdefault(_show(value), []).append(name)
    return " or ".join(f"{a} ({'; '.join(names)})" for a, names in answers.items())


def _show(value) -> str:
    result, states = value
    return f"{result}, {_states_text(states)}"


def _nearest_timer(trace, when: StepTimes, tick: float) -> str:
    """The engine's timer that fired closest to the step's interval, described."""
    fired = _fired(trace)
    if not fired:
        return "the step's time is within the kernel's timer granularity"

    def distance(e) -> float:
        return max(when.call[0] - e.time, e.time - when.sample[1], 0.0)

    e = min(fired, key=distance)
    return (f"{_timer_text(trace, e, tick)}; this step's call ran from {when.call[0]:.4f} s to "
            f"{when.call[1]:.4f} s and its states were read from {when.sample[0]:.4f} s to "
            f"{when.sample[1]:.4f} s")


def _fired(trace) -> list:
    """The trace's "timer fired" events."""
    return [e for e in trace.events if e.kind == "timer" and e.detail == "fired"]


def _timer_text(trace, fired, tick: float) -> str:
    """``fired`` (a timer's "fired" event) in words, with how much later a kernel's could fire."""
    armed = [e for e in trace.events if e.kind == "timer" and e.host == fired.host
             and e.name == fired.name and e.detail.startswith("set") and e.time <= fired.time]
    length = fired.time - armed[-1].time if armed else 0.0
    late = timer_window(length, tick)[1]
    return (f"{fired.host}'s {fired.name} timer fired at {fired.time:.4f} s in the engine, "
            f"a kernel's up to {late * 1000:.3g} ms later")


def _segment_verdict(steps, kernel_parts: list, runs: dict, tick: float) -> Verdict:
    differences = {}                          # run -> [(engine connection, Comparison)]
    for name, (sim, _) in runs.items():
        engine_parts = _connections(sim.trace, steps)
        if len(engine_parts) != len(kernel_parts):
            return Verdict("differs", f"{len(engine_parts)} connections in the engine ({name}), "
                                      f"{len(kernel_parts)} in the capture")
        differences[name] = [(e, c) for e, k in zip(engine_parts, kernel_parts, strict=True)
                             if not (c := e.compare(k)).same]
    if not differences["on time"]:
        return Verdict("same")
    part, diff = differences["on time"][0]
    text = f"engine (on time) vs kernel: {diff}"
    matching = [name for name, found in differences.items() if not found]
    if not matching:
        return Verdict("differs", text)
    first = part.relative().segments[min(diff.differences[0][0], len(part.segments)) - 1]
    near = min(_fired(runs["on time"][0].trace), key=lambda e: abs(e.time - first.time), default=None)
    timer = "" if near is None else f"; {_timer_text(runs['on time'][0].trace, near, tick)}"
    return Verdict("race", f"the kernel's segments are the engine's with {' and '.join(matching)}"
                           f"{timer}; {text}")


def lab(steps, profile: str = "linux", settle: float = 0.05, capture: bool = True) -> LabRun:
    """Run ``steps`` on this machine's real loopback sockets, then on the engine at the
    times the kernel's run made each call and read each state; compare step by step
    (see :func:`compare`).

    Steps are ``settle`` seconds apart and the states are read 1 ms before the next step
    (at the default, 49 ms after a call: after Linux's 40 ms delayed ACK on loopback has
    gone out, on a kernel of 250 or more ticks a second; with 100 a second it can race the
    read, and the verdict says so).
    Kernel states come from sock_diag or /proc/net/tcp (Linux only: elsewhere the kernel column says
    "unknown" and ``platform_note`` explains); segments are captured too when this
    process may run tcpdump (root).
    """
    import tempfile

    steps = check_script(steps)
    why = capture_supported() if capture else "not asked for"
    if not states_supported():
        sim, engine = run_simulated(steps, profile=profile, latency=0.0, settle=settle,
                                    mss=LOOPBACK_MSS)
        platform_note = (f"this platform ({sys.platform}) does not show kernel TCP states the way "
                         "Linux does (sock_diag, /proc/net/tcp), so the kernel column cannot be filled; "
                         "run the course on Linux (Binder or JupyterHub) to compare")
        rows = [(st, er, "unknown", es, {k: "unknown" for k in es})
                for st, er, es in zip(steps, engine.results, engine.states, strict=True)]
        return LabRun(steps, rows, sim.trace, None, why, platform_note,
                      [Verdict("unknown", platform_note)] * len(steps))
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "lab.pcap") if why is None else None
        real = run_live(steps, capture=pcap, settle=settle)
        run = compare(steps, real.outcome, pcap, profile=profile)
    run.why_no_capture = why
    return run
