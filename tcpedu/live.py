"""The same socket-call scripts on this machine's real TCP (loopback), with kernel states.

:func:`run_live` opens real sockets on 127.0.0.1 (ports chosen by the OS),
plays a :mod:`tcpedu.script` step by step, and after each step reads the
kernel's state of both sockets from ``/proc/net/tcp`` (Linux only).  With
``capture=`` a path and tcpdump available (it needs root), the segments are
captured too.  Every socket is closed at the end, and no call blocks for
more than ``timeout`` seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

from .script import _HOW, Outcome, check_script, payload, result_text

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


def kernel_state(local: tuple[str, int], remote: tuple[str, int] | None) -> str:
    """The state /proc/net/tcp shows for the socket ``local`` <-> ``remote`` ("CLOSED" if none)."""
    def hexaddr(addr):
        ip, port = addr
        return f"{struct.unpack('<I', socket.inet_aton(ip))[0]:08X}:{port:04X}"
    want_local = hexaddr(local)
    want_remote = hexaddr(remote) if remote else "00000000:0000"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[1] == want_local and cols[2] == want_remote:
                    return _KERNEL_STATES.get(int(cols[3], 16), cols[3])
    except OSError:
        return "unknown"
    return "CLOSED"


class _Capture:
    """tcpdump on the loopback interface for one port, written to ``path``."""

    def __init__(self, path: str, port: int, timeout: float):
        self.path = path
        self.proc = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-n", "-w", path, f"tcp port {port}"],
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
    def states(self) -> list[tuple[str, str]]:
        return self.outcome.states


def run_live(steps, capture: str | None = None, settle: float = 0.005,
             timeout: float = 5.0) -> LiveRun:
    """Play ``steps`` on real loopback sockets; sample kernel states after each step.

    ``settle`` seconds pass after each step so the kernel has answered (loopback
    answers within microseconds; Linux's 40 ms delayed ACK is left alone).
    """
    steps = check_script(steps)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.bind(("127.0.0.1", 0))
    cport = client.getsockname()[1]
    socks: dict[str, socket.socket | None] = {"client": client, "server": None}
    listening = False
    cap = _Capture(capture, port, timeout) if capture else None
    outcome = Outcome(steps)
    try:
        for step in steps:
            try:
                value = _live_step(step, socks, listener, port, timeout)
                if step == ("server", "listen"):
                    listening = True
            except OSError as exc:
                value = exc
            outcome.results.append(result_text(value))
            time.sleep(settle)
            if socks["server"] is None and listening and step[1:] != ("listen",):
                _try_accept(listener, socks)
            outcome.states.append((
                kernel_state(("127.0.0.1", cport), ("127.0.0.1", port)),
                kernel_state(("127.0.0.1", port), ("127.0.0.1", cport)) if socks["server"]
                else ("LISTEN" if listening else "CLOSED")))
    finally:
        if cap is not None:
            cap.stop()                  # the capture covers the script, not the clean-up
        for s in (*socks.values(), listener):
            if s is not None:
                s.close()
    return LiveRun(outcome, capture, {"client": cport, "server": port})


def _try_accept(listener: socket.socket, socks: dict) -> None:
    listener.settimeout(0.0)
    try:
        conn, _ = listener.accept()
        socks["server"] = conn
    except (TimeoutError, BlockingIOError):
        pass


def _live_step(step, socks, listener, port, timeout):
    if step[0] == "sleep":
        time.sleep(step[1])
        return None
    side, action = step[0], step[1]
    if side == "server" and action == "listen":
        listener.listen(128)
        return None
    if side == "client" and action == "connect":
        socks["client"].settimeout(timeout)
        socks["client"].connect(("127.0.0.1", port))
        return None
    sock = socks[side]
    if sock is None:
        raise OSError(107, "Transport endpoint is not connected (server has no connection yet)")
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
    socks[side] = None if side == "client" else sock
    return None
