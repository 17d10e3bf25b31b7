"""Traces: what happened on the wire and at each endpoint, in time order.

A :class:`Trace` holds the segments (each with sender, time and both
endpoints' states, as the RFC figures print them: the sender's state after
sending, the receiver's after receiving) and the events around them
(application calls, state changes, timers).  Simulations make traces;
captures read from files make the same type, so every picture and exercise
works on both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from .segment import Flags, Segment

__all__ = [
    "TraceEvent", "Comparison", "Trace",
]


@dataclass(slots=True)
class TraceEvent:
    """Something that happened at one host: ``kind`` is "call", "state", "timer" or "error".

    For "state": ``old``/``new`` and the table ``row`` that fired; for "timer":
    ``name`` and ``detail`` ("set until 60.0", "fired", "cancelled"), and for a timer
    set, its ``deadline`` as a number (the detail's text is for reading); for
    "call": ``name`` is the call (``connect()``); for "error": the exception text.
    """

    time: float
    host: str
    kind: str
    name: str
    detail: str = ""
    old: object = None
    new: object = None
    row: object = None
    deadline: float | None = None


def _key(s: Segment) -> tuple:
    return (s.sender, s.flags.tcpdump(), s.seq, s.ack if Flags.ACK in s.flags else None, s.len)


def _show(key) -> str:
    if key is None:
        return "(none)"
    sender, flags, seq, ack, n = key
    return f"{sender} [{flags}] seq {seq}" + (f" ack {ack}" if ack is not None else "") + f" len {n}"


@dataclass
class Comparison:
    """The result of :meth:`Trace.compare`: empty (and true) when the traces agree."""

    differences: list[tuple[int, tuple | None, tuple | None]]
    length: int
    other_length: int

    @property
    def same(self) -> bool:
        return not self.differences

    def __bool__(self) -> bool:
        return self.same

    def __str__(self) -> str:
        if self.same:
            return f"the traces agree ({self.length} segments)"
        lines = [f"{len(self.differences)} difference(s) ({self.length} vs {self.other_length} "
                 "segments):"]
        lines += [f"  #{i}: {_show(a)}  !=  {_show(b)}" for i, a, b in self.differences]
        return "\n".join(lines)


@dataclass
class Trace:
    """Segments and events of one run (or one capture), in time order."""

    segments: list[Segment] = field(default_factory=list)
    events: list[TraceEvent] = field(default_factory=list)
    profile: str = ""
    isn: dict[str, int] = field(default_factory=dict)   # first ISN each side used
    source: str = "simulation"

    # -------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self):
        return iter(self.segments)

    def __getitem__(self, i):
        return self.segments[i]

    def between(self, a: str, b: str) -> Trace:
        """Only the segments exchanged by hosts ``a`` and ``b`` (and their events)."""
        pair = {a, b}
        return Trace([s for s in self.segments if {s.sender, s.receiver} == pair],
                     [e for e in self.events if e.host in pair], self.profile,
                     {k: v for k, v in self.isn.items() if k in pair}, self.source)

    def delivered(self) -> list[Segment]:
        """The segments that were not lost."""
        return [s for s in self.segments if not s.lost]

    def relative(self) -> Trace:
        """A copy with seq/ack relative to each side's ISN, as Wireshark shows them.

        Each direction of each connection counts from the seq of its SYN (not one put on the
        wire by hand, ``Simulation.inject``: an old duplicate is not the connection's ISN);
        numbers of an end whose SYN was never seen stay absolute.
        """
        isn: dict[tuple, int] = {}
        for s in self.segments:
            if Flags.SYN in s.flags and not s.injected:
                isn.setdefault((s.sender, s.sport, s.receiver, s.dport), s.seq)
        segs = []
        for s in self.segments:
            mine = isn.get((s.sender, s.sport, s.receiver, s.dport))
            theirs = isn.get((s.receiver, s.dport, s.sender, s.sport))
            seq = s.seq if mine is None else (s.seq - mine) % 2**32
            ack = s.ack if theirs is None or Flags.ACK not in s.flags else (s.ack - theirs) % 2**32
            segs.append(s.replace(seq=seq, ack=ack))
        return Trace(segs, list(self.events), self.profile, {k: 0 for k in self.isn}, self.source)

    def states(self, host: str) -> list[tuple[float, object]]:
        """(time, state) each time ``host``'s connection changed state, in order."""
        return [(e.time, e.new) for e in self.events
                if e.kind == "state" and e.host == host and e.new is not e.old]

    def summary(self) -> list[tuple[str, str, int, int, int]]:
        """(sender, flags, seq, ack, len) per segment: a compact form for tests and exercises."""
        return [(s.sender, str(s.flags), s.seq, s.ack, s.len) for s in self.segments]

    def compare(self, other: Trace) -> Comparison:
        """Segment-by-segment difference from ``other``: sender, flags, relative seq/ack,
        payload length and order (times and windows are not compared)."""
        mine, theirs = self.relative().segments, other.relative().segments
        diffs = []
        for i in range(max(len(mine), len(theirs))):
            a = _key(mine[i]) if i < len(mine) else None
            b = _key(theirs[i]) if i < len(theirs) else None
            if a != b:
                diffs.append((i + 1, a, b))
        return Comparison(diffs, len(mine), len(theirs))

    # -------------------------------------------------------------- files
    def to_pcap(self, path):
        """Write the segments to ``path`` as a pcap file that tcpdump and Wireshark open; returns ``path``.

        Each segment becomes an Ethernet + IPv4 + TCP frame with correct
        checksums, stamped ``segment.time`` (microseconds; simulated time starts
        at 0, i.e. 1970-01-01).  Hosts get documentation addresses (RFC 5737):
        "client" 192.0.2.1, "server" 192.0.2.2, other hosts 192.0.2.3, .4, ...
        in order of first appearance in the trace (then 198.51.100.x and
        203.0.113.x).  A port of 0 is written as 80 for "server", 49152 for
        any other host.  Lost segments are left out: a capture would not have
        seen them.  A window above 65535 is written as 65535.
        """
        import dpkt  # imported here: `import tcpedu` stays light

        numbers = {"client": 1, "server": 2}
        addresses: dict = {}

        def address(host) -> bytes:
            if host not in addresses:
                n = numbers.setdefault(host, max(numbers.values()) + 1) - 1
                if n >= 3 * 254:
                    raise ValueError(f"to_pcap: more than {3 * 254} hosts; the RFC 5737 "
                                     "documentation ranges hold no more")
                prefix = ((192, 0, 2), (198, 51, 100), (203, 0, 113))[n // 254]
                addresses[host] = bytes((*prefix, n % 254 + 1))
            return addresses[host]

        for s in self.segments:             # number hosts in order of appearance, lost or not
            address(s.sender)
            address(s.receiver)
        with open(path, "wb") as f:
            writer = dpkt.pcap.Writer(f, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB)
            for s in self.segments:
                if s.lost:
                    continue
                src, dst = address(s.sender), address(s.receiver)
                tcp = dpkt.tcp.TCP(
                    sport=s.sport or (80 if s.sender == "server" else 49152),
                    dport=s.dport or (80 if s.receiver == "server" else 49152),
                    seq=s.seq & 0xFFFFFFFF, ack=s.ack & 0xFFFFFFFF if Flags.ACK in s.flags else 0,
                    flags=s.flags.value, win=max(0, min(int(s.window), 65535)), data=bytes(s.payload))
                ip = dpkt.ip.IP(src=src, dst=dst, p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp)
                frame = dpkt.ethernet.Ethernet(src=b"\x02\x00" + src, dst=b"\x02\x00" + dst,
                                               type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
                micros = round(max(s.time or 0.0, 0.0) * 1e6)
                writer.writepkt_time(bytes(frame), micros / 1e6)   # checksums computed here
        return path

    # -------------------------------------------------------------- printing
    def lines(self, states: bool = True) -> list[str]:
        """tcpdump-like lines: ``0.000000 client > server: Flags [S], seq 100, ...``."""
        out = []
        for s in self.segments:
            text = (f"{s.time or 0.0:9.6f} {s.sender} > {s.receiver}: Flags [{s.flags.tcpdump()}], "
                    f"seq {s.seq}")
            if s.len:
                text += f":{(s.seq + s.len) % 2**32}"
            if Flags.ACK in s.flags:
                text += f", ack {s.ack}"
            text += f", win {s.window}, length {s.len}"
            if states and (s.client_state is not None or s.server_state is not None):
                text += f"  [client {s.client_state} | server {s.server_state}]"
            marks = []
            if s.retransmission:
                marks.append("retransmission")
            if s.lost:
                marks.append("LOST")
            if s.note:
                marks.append(s.note)
            if marks:
                text += "  (" + "; ".join(marks) + ")"
            out.append(text)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return f"<Trace {self.source} profile={self.profile!r}: {len(self.segments)} segments>"

    def _repr_html_(self) -> str:
        head = ("<tr><th>#</th><th>time (s)</th><th>client state</th><th>direction</th>"
                "<th>flags</th><th>seq</th><th>ack</th><th>len</th><th>server state</th>"
                "<th>note</th></tr>")
        rows = []
        for i, s in enumerate(self.segments, 1):
            arrow = "&rarr;" if s.sender == "client" else "&larr;"
            if s.sender not in ("client", "server"):
                arrow = f"{html.escape(str(s.sender))} &rarr; {html.escape(str(s.receiver))}"
            note = ", ".join(x for x in ("retransmission" if s.retransmission else "",
                                         "lost" if s.lost else "", s.note) if x)
            rows.append(
                f"<tr><td>{i}</td><td>{s.time or 0.0:.3f}</td><td>{s.client_state}</td>"
                f"<td>{arrow}</td><td>{s.flags}</td><td>{s.seq}</td>"
                f"<td>{s.ack if Flags.ACK in s.flags else ''}</td><td>{s.len}</td>"
                f"<td>{s.server_state}</td><td>{html.escape(note)}</td></tr>")
        return (f"<table class='tcpedu-trace'><caption>{html.escape(repr(self))}</caption>"
                f"{head}{''.join(rows)}</table>")

    # -------------------------------------------------------------- pictures (matplotlib on first use)
    def ladder(self, **options):
        """The sequence ladder (时序图) as a matplotlib Figure; options: tcpedu.ladder.draw_ladder."""
        from .ladder import draw_ladder

        return draw_ladder(self, **options)

    def ladder_text(self, **options) -> str:
        """The ladder as plain text (terminals, screen readers); see tcpedu.ladder.ladder_text."""
        from .ladder import ladder_text

        return ladder_text(self, **options)

    def stepper(self, **options):
        """A widget revealing the ladder one segment at a time; see tcpedu.stepper.Stepper."""
        from .stepper import Stepper

        return Stepper(self, **options)

    def save(self, path, **options):
        """Save the trace by the file's ending: .pcap writes the segments (:meth:`to_pcap`);
        .png, .svg, .pdf, .gif or .mp4 the ladder (see tcpedu.ladder.save_ladder)."""
        if str(path).lower().endswith(".pcap"):
            if options:
                raise ValueError(f"a .pcap takes no drawing options, got {sorted(options)}")
            return self.to_pcap(path)
        from .ladder import save_ladder

        return save_ladder(self, path, **options)
