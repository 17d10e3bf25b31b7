"""The same socket-call scripts on this machine's real TCP (loopback), with kernel states.

:func:`run_live` opens real sockets on 127.0.0.1 (ports chosen by the OS),
plays a :mod:`tcpedu.script` step by step, and after each step reads the
kernel's state of both sockets from ``/proc/net/tcp`` (Linux only).  With
``capture=`` a path and tcpdump available (it needs root), the segments are
captured too.  Every socket is closed at the end, and no call blocks for
more than ``timeout`` seconds.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

from .script import _HOW, Outcome, check_script, describe_step, payload, result_text, sides

# /proc/net/tcp "st" column -> the RFC state name (include/net/tcp_states.h)
_KERNEL_STATES = {
    1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
    6: "TIME-WAIT", 7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
    12: "SYN-RECEIVED",
}


def states_supported() -> bool:
    """True where the kernel's TCP states can be read (Linux's /proc/net/tcp)."""
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
    """The state /proc/net/tcp shows for the socket ``local`` <-> ``remote`` ("CLOSED" if none)."""
    table = kernel_states() if table is None else table
    return table.get((_hexaddr(local), _hexaddr(remote) if remote else "00000000:0000"), "CLOSED")


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
    (plus any sleep), as :func:`tcpedu.script.run_simulated` spaces them, so
    Linux's timing decisions (a 40 ms delayed ACK, a reply within the ACK
    timeout) come out the same in both.  States are sampled just before the next step.
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
    start = time.monotonic()
    due = 0.0                           # when the next step starts, in seconds from the start
    try:
        for step in steps:
            _sleep_until(start + due)
            try:
                value = _live_step(step, hosts, listener, accepted, settle, timeout)
            except OSError as exc:
                value = exc
            outcome.results.append(result_text(value))
            if step[0] == "sleep":
                due += step[1]
            due += settle
            _sleep_until(start + due - min(settle / 2, 0.005))   # sample, then the next step
            outcome.states.append(_kernel_states(hosts))
    finally:
        if cap is not None:
            cap.stop()                  # the capture covers the script, not the clean-up
        for s in [listener, *accepted, *(h.sock for h in hosts.values())]:
            if s is not None:
                s.close()
    return LiveRun(outcome, capture, {h.name: h.port for h in hosts.values()})


_LOCAL = "127.0.0.1"


def _sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _kernel_states(hosts: dict[str, _Host]) -> dict[str, str]:
    """Each side's connection state as /proc/net/tcp shows it (the server: its connection
    with the first client, else LISTEN), named as the simulator names them."""
    server, client = hosts["server"], hosts["client"]
    table = kernel_states()
    states = {}
    for host in hosts.values():
        if host is server:
            continue
        states[host.name] = kernel_state((_LOCAL, host.port), (_LOCAL, host.peer), table) \
            if host.peer else "CLOSED"
    conn = kernel_state((_LOCAL, server.port), (_LOCAL, client.port), table) \
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
        sock.shutdown(_HOW[step[2]])
        return None
    if action == "abort":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return None


@dataclass
class LabRun:
    """A script run on the engine and on this machine's kernel, step by step side by side.

    ``rows``: (step, engine result, kernel result, engine states, kernel states) per step;
    ``trace``: the engine's trace; ``capture``: the kernel's segments (a Trace) when
    capturing was possible, else None and ``why_no_capture`` says why.
    """

    steps: list[tuple]
    rows: list[tuple]
    trace: object
    capture: object
    why_no_capture: str | None
    platform_note: str | None

    @property
    def agree(self) -> bool:
        """True when every result and every state agrees (and the segments, if captured)."""
        same_rows = all(r[1] == r[2] and r[3] == r[4] for r in self.rows)
        if self.capture is None:
            return same_rows
        return same_rows and self.trace.between("client", "server").compare(self.capture).same

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
        for i, (step, er, kr, es, ks) in enumerate(self.rows, 1):
            ok = er == kr and es == ks
            fmt = lambda st: ", ".join(f"{k} {v}" for k, v in st.items())  # noqa: E731
            body.append(f"<tr><td>{i}</td><td><code>{html.escape(describe_step(step))}</code></td>"
                        f"<td>{html.escape(er)}</td><td>{html.escape(kr)}</td>"
                        f"<td>{html.escape(fmt(es))}</td><td>{html.escape(fmt(ks))}</td>"
                        f"<td>{'✓ same' if ok else '✗ differs'}</td></tr>")
        notes = [n for n in (self.platform_note, self.why_no_capture and
                             f"segments not captured: {self.why_no_capture}") if n]
        foot = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)
        return f"<table class='tcpedu-lab'>{head}{''.join(body)}</table>{foot}"

    def __str__(self) -> str:
        lines = []
        for i, (step, er, kr, es, ks) in enumerate(self.rows, 1):
            mark = "same" if er == kr and es == ks else "DIFFERS"
            lines.append(f"{i:2} {describe_step(step):28} engine {er:12} kernel {kr:12} "
                         f"engine {es} kernel {ks}  {mark}")
        return "\n".join(lines)


def lab(steps, profile: str = "linux", settle: float = 0.05, capture: bool = True) -> LabRun:
    """Run ``steps`` on the engine and on real loopback sockets; compare call by call.

    Steps are ``settle`` seconds apart (50 ms: longer than Linux's ~40 ms delayed ACK, so the
    states sampled do not depend on a timer's race).
    Kernel states come from /proc/net/tcp (Linux only: elsewhere the kernel column says
    "unknown" and ``platform_note`` explains); segments are captured too when this
    process may run tcpdump (root).
    """
    import tempfile

    from .capture import read_pcap
    from .script import run_simulated

    steps = check_script(steps)
    sim, engine = run_simulated(steps, profile=profile, latency=0.0, settle=settle, mss=65483)
    why = capture_supported() if capture else "not asked for"
    platform_note = None
    if not states_supported():
        platform_note = (f"this platform ({sys.platform}) does not show kernel TCP states the way "
                         "Linux's /proc/net/tcp does, so the kernel column cannot be filled; "
                         "run the course on Linux (Binder or JupyterHub) to compare")
        rows = [(st, er, "unknown", es, {k: "unknown" for k in es})
                for st, er, es in zip(steps, engine.results, engine.states, strict=True)]
        return LabRun(steps, rows, sim.trace, None, why, platform_note)
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "lab.pcap") if why is None else None
        real = run_live(steps, capture=pcap, settle=settle)
        captured = read_pcap(pcap) if pcap else None
    rows = [(st, er, kr, es, ks) for st, er, kr, es, ks in
            zip(steps, engine.results, real.outcome.results, engine.states, real.outcome.states,
                strict=True)]
    return LabRun(steps, rows, sim.trace, captured, why, platform_note)
