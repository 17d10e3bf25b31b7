"""Sequence ladders (时序图): a trace drawn as timelines with the segments between them.

:func:`draw_ladder` draws a :class:`~tcpedu.trace.Trace` the way the textbooks
and RFC 9293's figures do: the client's timeline on the left, the server's on
the right (more clients: one timeline each, the server still on the right),
time running down, and each segment a slanted arrow from its sender, when it
left, to its receiver, when it arrived, labelled ``SYN, seq=x``,
``SYN,ACK seq=y ack=x+1``, ``ACK seq=x+1 ack=y+1``.  Each endpoint's state is
written beside its own timeline, the application's calls are marked where
they happen, a lost segment ends in a cross, a retransmission is dashed,
timers are brackets, and a long idle gap (a 240 s TIME-WAIT) is cut out with a
break mark that says how long it was.  Meaning is never carried by colour
alone: arrowheads, line styles, markers and words carry it too.

:func:`ladder_text` writes the same ladder as plain text, for terminals and
screen readers; :func:`ladder_frames` renders it one segment at a time (the
stepper widget and animations use it); :func:`save_ladder` writes PNG, SVG,
PDF, an animated GIF or an MP4.

matplotlib is imported inside the functions, and ``import tcpedu`` never
imports this module: the ``Trace`` methods do, on first use.
"""

from __future__ import annotations

import io
import math
import pathlib
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .segment import Flags, Segment, seq_add, seq_diff

__all__ = [
    "NUMBERS", "HIDEABLE", "TIMERS", "SAVE_FORMATS", "fmt_duration", "segment_labels",
    "arrival_times", "LadderFigure", "LadderInfo", "SegmentArtists", "draw_ladder", "ladder_frames",
    "ladder_text", "save_ladder",
]

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .trace import Trace

NUMBERS = ("absolute", "relative")
HIDEABLE = ("seq", "ack", "flags", "len", "states")
TIMERS = ("auto", "all", "none")
SAVE_FORMATS = (".png", ".svg", ".pdf", ".gif", ".mp4")

# Okabe & Ito's colour-blind-safe palette.  The server is always vermillion, the
# client blue (as in tcpedu.graph), more clients green, purple, orange, sky blue.
SERVER_COLOUR = "#D55E00"
HOST_COLOURS = ("#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
INK, GREY, LIGHT = "#000000", "#4D4D4D", "#9A9A9A"

# The first font that has a glyph draws it (matplotlib >= 3.6 falls back glyph by
# glyph), so Latin text uses DejaVu Sans and Chinese labels a CJK font.
FONT_FAMILY = ["DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei",
               "SimHei", "Microsoft YaHei", "PingFang SC"]
_CJK_FONT_GLOBS = ("NotoSansCJK*", "NotoSerifCJK*", "wqy-*", "SourceHanSans*")

# Sizes, in inches and points, of the picture at its natural size.
DROP = 0.78          # vertical drop of an arrow that takes one latency
SLOT = 0.44          # least distance between two things on one timeline
BURST = 0.34         # between segments one host sends (or receives) at one instant
GAP = 3.5            # between neighbouring timelines when there are more than two
GAP_TWO = 5.7        # between client and server
TIME_COL = 0.78      # the time column at the far left
LANE = 0.34          # one timer bracket and its name
BREAK = 1.1          # the height a cut-out idle gap takes
BREAK_AFTER = 12     # idle gaps longer than this many latencies are cut out
BLOCK = 1.45         # the height of a collapsed data transfer
FONT = {"label": 12, "tag": 10, "state": 11, "call": 10.5, "host": 14, "time": 9,
        "timer": 10, "title": 15, "caption": 9.5, "break": 11}

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _tkey(t) -> float:
    """Times as comparable keys (the simulator's sums differ in the last bit)."""
    return round(float(t or 0.0), 9)


def _as_trace(trace) -> Trace:
    trace = getattr(trace, "trace", trace)        # a Simulation will do
    if not hasattr(trace, "segments") or not hasattr(trace, "events"):
        raise ValueError(f"expected a tcpedu Trace (or Simulation), got {type(trace).__name__}")
    return trace


def fmt_duration(seconds: float) -> str:
    """``240 s``, ``1.5 s``, ``190 ms``, ``40 µs``: three significant digits at most."""
    s = abs(seconds)
    if s == 0 or s >= 1000:
        return f"{seconds:.0f} s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        value = float(f"{s / scale:.3g}")
        if value >= 1 or unit == "µs":
            if value >= 1000 and unit != "s":
                continue
            text = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:g}"
            return f"{'-' if seconds < 0 else ''}{text} {unit}"
    return "0 s"


# ============================================================================ labels

@dataclass
class _Symbols:
    """The textbook letters for sequence numbers (see :func:`segment_labels`)."""

    bases: dict = field(default_factory=dict)      # space -> [(value, name)]
    conns: list = field(default_factory=list)      # connection keys, in order of first SYN
    closing: dict = field(default_factory=dict)    # connection -> {"closer", "v", "w"}

    @staticmethod
    def space(s: Segment) -> tuple:
        return (s.sender, s.sport, s.receiver, s.dport)

    @staticmethod
    def conn(s: Segment) -> frozenset:
        return frozenset({(s.sender, s.sport), (s.receiver, s.dport)})

    def _suffix(self, s: Segment) -> str:
        c = self.conn(s)
        if c not in self.conns:
            self.conns.append(c)
        n = self.conns.index(c)
        return "" if n == 0 else str(n + 1).translate(_SUB)

    def see(self, s: Segment) -> None:
        """Learn the letters this segment introduces (before its label is written)."""
        mine, theirs = self.space(s), (s.receiver, s.dport, s.sender, s.sport)
        if Flags.SYN in s.flags and not s.injected and mine not in self.bases:
            opener = theirs not in self.bases
            self.bases[mine] = [(s.seq, ("x" if opener else "y") + self._suffix(s))]
        if Flags.FIN in s.flags and mine in self.bases:
            c = self.conn(s)
            state = self.closing.get(c)
            if state is None:                          # the first FIN: u, and v for the peer
                self.closing[c] = {"closer": mine, "w": False}
                self.bases[mine].append((s.seq, "u" + self._suffix(s)))
                if Flags.ACK in s.flags and theirs in self.bases:
                    self.bases[theirs].append((s.ack, "v" + self._suffix(s)))
            elif state["closer"] != mine and not state["w"]:
                state["w"] = True
                if self.write(mine, s.seq) != "v" + self._suffix(s):
                    self.bases[mine].append((s.seq, "w" + self._suffix(s)))

    def write(self, space: tuple, value: int) -> str:
        bases = self.bases.get(space)
        if not bases:
            return str(value)
        offsets = [(seq_diff(value, v), i, name) for i, (v, name) in enumerate(bases)]
        ahead = [o for o in offsets if o[0] >= 0]
        off, _, name = min(ahead, key=lambda o: (o[0], -o[1])) if ahead else \
            min(offsets, key=lambda o: abs(o[0]))
        return name if off == 0 else f"{name}+{off}" if off > 0 else f"{name}{off}"


def _check_hide(hide) -> tuple[str, ...]:
    if isinstance(hide, str):
        hide = (hide,)
    hide = tuple(hide or ())
    bad = [h for h in hide if h not in HIDEABLE]
    if bad:
        raise ValueError(f"cannot hide {bad}; hide takes a tuple of {', '.join(HIDEABLE)}")
    return hide


def segment_labels(trace, numbers: str = "absolute", symbolic: bool = False, hide=()
                   ) -> list[str]:
    """The label of each segment, as the ladder writes it.

    ``SYN, seq=100``; ``SYN,ACK seq=300 ack=101``; ``ACK seq=101 ack=301``; a
    segment with data gives its byte range and length: ``ACK seq=101:106
    ack=301 (5 B)``.  ``numbers="relative"`` counts each side from its ISN, as
    Wireshark does.  ``symbolic=True`` writes the textbook letters instead of
    numbers (谢希仁's figures): ``x`` is the ISN of the side that opened, ``y``
    its peer's; at the first FIN, ``u`` is the closer's sequence number and
    ``v`` its peer's (read from the FIN's ack); ``w`` is the peer's FIN when data
    it sent after ``v`` moved it on.  Every other number is written from the
    nearest letter at or below it (``x+1``, ``u+1``, ``y+301``); more
    connections get ``x₂``, ``y₂`` ...; a side whose SYN was not seen keeps its
    numbers.  Fields named in ``hide`` ("seq", "ack", "flags", "len") are
    written ``?``.
    """
    trace = _as_trace(trace)
    if numbers not in NUMBERS:
        raise ValueError(f"numbers must be one of {', '.join(map(repr, NUMBERS))}, not {numbers!r}")
    hide = _check_hide(hide)
    segments = trace.relative().segments if numbers == "relative" else trace.segments
    symbols = _Symbols() if symbolic else None
    labels = []
    for s in segments:
        if symbols is not None:
            symbols.see(s)
            mine, theirs = _Symbols.space(s), (s.receiver, s.dport, s.sender, s.sport)
            seq_of = lambda v, sp=mine: symbols.write(sp, v)
            ack_of = lambda v, sp=theirs: symbols.write(sp, v)
        else:
            seq_of = ack_of = str
        flags = "?" if "flags" in hide else str(s.flags)
        if "seq" in hide:
            seq = "seq=?"
        elif s.len and "len" not in hide:
            seq = f"seq={seq_of(s.seq)}:{seq_of(seq_add(s.seq, s.len))}"
        else:
            seq = f"seq={seq_of(s.seq)}"
        text = flags
        if Flags.ACK in s.flags:
            text += f" {seq} ack={'?' if 'ack' in hide else ack_of(s.ack)}"
        else:
            text += f", {seq}"
        if s.len:
            text += f" ({'?' if 'len' in hide else s.len} B)"
        labels.append(text)
    return labels


def _tags(s: Segment, lost: bool = False, short: bool = False) -> str:
    """The words under an arrow: retransmission, lost, and the segment's note (``short``: each
    note cut to its first clause, as the picture has room for; the full text is in the table)."""
    words = (["retransmission"] if s.retransmission else []) + (["lost"] if lost and s.lost else [])
    notes = [(_first_clause(s.note) if short else s.note)] if s.note else []
    return "; ".join(words + notes)


def _first_clause(note: str, width: int = 48) -> str:
    head = note.replace(";", ":").split(":", 1)[0].strip()
    return head if len(head) <= width else head[:width - 1].rstrip() + "…"


def _injected(s: Segment) -> bool:
    """A segment put on the wire by ``Simulation.inject`` (no call or timer sent it)."""
    return s.injected


# ============================================================================ arrival times

_RCV_TOKENS = re.compile(r"SYN|FIN|RST|ACK")


def _flag_names(flags: Flags) -> set[str]:
    return {f.name for f in (Flags.SYN, Flags.FIN, Flags.RST, Flags.ACK) if f in flags}


def _rcv_matches(event, s: Segment) -> bool:
    """Whether a "rcv ..." state change can be this segment's arrival: the flags it names
    ("ACK of SYN" names only the ACK) are all set in the segment."""
    named = re.sub(r"\bof (SYN|FIN)\b", "", str(event.name))
    return set(_RCV_TOKENS.findall(named)) <= _flag_names(s.flags)


def _is_rcv(event) -> bool:
    return event.kind == "state" and str(event.name).startswith("rcv")


def latency(trace) -> float:
    """The one-way delay the trace shows, in seconds (0 when it cannot tell).

    From a simulation: the usual time between a SYN, FIN or RST leaving and the
    receiver's "rcv ..." state change.  From a capture (its events, if any, are
    inferred at the time each segment was seen): the shortest time between a
    segment and the peer's answer acknowledging it.
    """
    trace = _as_trace(trace)
    segs = trace.segments
    delays: dict[float, int] = defaultdict(int)
    by_host = defaultdict(list)
    for e in trace.events:
        if _is_rcv(e):
            by_host[e.host].append(e)
    used: set[int] = set()
    for s in segs:
        if s.lost or not s.flags & (Flags.SYN | Flags.FIN | Flags.RST):
            continue
        t = _tkey(s.time)
        for e in by_host.get(s.receiver, ()):
            if id(e) not in used and _tkey(e.time) >= t and _rcv_matches(e, s):
                used.add(id(e))
                delays[_tkey(e.time - t)] += 1
                break
    delays.pop(0.0, None)        # states inferred from a capture change when the segment is seen
    if delays:
        return max(delays.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    best = None
    for i, s in enumerate(segs):
        if s.lost or not s.seg_len:
            continue
        for r in segs[i + 1:]:
            if r.sender == s.receiver and r.receiver == s.sender and Flags.ACK in r.flags \
                    and seq_diff(r.ack, s.end_seq) >= 0:
                d = _tkey((r.time or 0) - (s.time or 0))
                if d > 0 and (best is None or d < best):
                    best = d
                break
    return best or 0.0


def arrival_times(trace) -> list[float | None]:
    """When each segment reached its receiver (None if it was lost).

    A recorded time (``segment.extra["arrival"]``) is used when present;
    otherwise the time is inferred: the sending time plus :func:`latency`, or,
    for a SYN, FIN or RST held back or sent early (``delay_next``, ``inject``),
    the receiver's matching "rcv ..." state change.
    """
    trace = _as_trace(trace)
    lat = latency(trace)
    rcv = defaultdict(list)
    for e in trace.events:
        if _is_rcv(e):
            rcv[e.host].append(e)
    claimed: set[int] = set()
    out: list[float | None] = []
    for s in trace.segments:
        if s.lost:
            out.append(None)
            continue
        if "arrival" in s.extra:
            out.append(float(s.extra["arrival"]))
            continue
        t = float(s.time or 0.0)
        when = t + lat
        if s.flags & (Flags.SYN | Flags.FIN | Flags.RST) and lat > 0:
            for e in rcv.get(s.receiver, ()):
                if id(e) in claimed or not _rcv_matches(e, s):
                    continue
                if _tkey(t) < _tkey(e.time) <= _tkey(t + 10 * lat):
                    claimed.add(id(e))
                    when = e.time
                    break
        out.append(when)
    return out


# ============================================================================ layout

@dataclass
class _Item:
    """One thing at one point of a timeline: a send, an arrival, a call, a timer firing ..."""

    kind: str
    host: str
    time: float
    order: int
    y: float
    seg: int | None = None
    text: str = ""
    g: float = 0.0           # the time grid's position when it was placed


@dataclass
class _StateMark:
    host: str
    item: _Item
    state: object
    peer: str | None = None


@dataclass
class _TimerRun:
    host: str
    name: str
    start: _Item
    end: _Item | None
    outcome: str             # fired, cancelled, restarted, running
    length: float | None


@dataclass
class _Break:
    y0: float
    y1: float
    seconds: float
    order: int


@dataclass
class _Block:
    members: list[int]
    item: _Item | None = None
    hosts: tuple = ()


def _call_text(name: str, detail: str) -> str:
    base = name[:-2] if name.endswith("()") else name
    if base == "shutdown" and detail:
        return f"shutdown({detail})"
    if base == "send":
        m = re.match(r"(\d+) bytes", detail or "")
        return f"send({m.group(1)} B)" if m else name
    if base == "listen":
        m = re.search(r"backlog (\d+)", detail or "")
        return f"listen(backlog={m.group(1)})" if m and m.group(1) != "128" else name
    if base == "setsockopt" and detail:
        return f"setsockopt({detail})"
    if base == "abort":
        return "abort(): close() with SO_LINGER {1, 0}"
    return name


def _host_order(trace) -> list[str]:
    seen: list[str] = []
    for s in trace.segments:
        for h in (s.sender, s.receiver):
            if h is not None and h not in seen:
                seen.append(h)
    for e in trace.events:
        if e.host not in seen:
            seen.append(e.host)
    if not seen:
        seen = ["client", "server"]
    if "client" in seen:
        seen.remove("client")
        seen.insert(0, "client")
    if "server" in seen:
        seen.remove("server")
        seen.append("server")
    elif len(seen) == 1:
        seen.append("server")
    return seen


def _data_phase(segs: list[Segment]) -> list[bool]:
    """Which segments a collapsed data transfer may swallow: data and plain ACKs,
    never a SYN, FIN or RST nor the ACK that answers one."""
    out = []
    last_ctl: dict[tuple, int] = {}          # (sender, receiver) -> end_seq of its last SYN/FIN
    for s in segs:
        if s.flags & (Flags.SYN | Flags.FIN | Flags.RST):
            last_ctl[(s.sender, s.receiver)] = s.end_seq
            out.append(False)
            continue
        answers = last_ctl.get((s.receiver, s.sender))
        out.append(s.len > 0 or answers is None or s.ack != answers)
    return out


def _runs(segs: list[Segment], collapse) -> list[list[int]]:
    if not collapse:
        return []
    least = 4 if collapse is True else int(collapse)
    if least < 2:
        raise ValueError(f"collapse_data must be True or an int >= 2, got {collapse!r}")
    ok = _data_phase(segs)
    runs, cur = [], []
    for i, flag in enumerate(ok):
        if flag:
            cur.append(i)
            continue
        if len(cur) >= least:
            runs.append(cur)
        cur = []
    if len(cur) >= least:
        runs.append(cur)
    return runs


class _Layout:
    """Where everything goes, in inches from the top of the first event, time running down.

    Time is warped: one latency is one arrow's drop; things that happen at one
    instant on one timeline are stacked a slot apart, so nothing overlaps; an
    idle gap longer than a few latencies with nothing in flight is cut out and
    replaced by a break mark of fixed height, which says how long it was.
    """

    def __init__(self, trace, collapse=False, timers: str = "auto"):
        self.trace = trace
        segs = trace.segments
        self.segs = segs
        self.hosts = _host_order(trace)
        self.arrivals = arrival_times(trace)
        self.latency = latency(trace)
        self.items: list[_Item] = []
        self.send: dict[int, _Item] = {}
        self.arrive: dict[int, _Item] = {}
        self.lost: dict[int, float] = {}
        self.marks: list[_StateMark] = []
        self.initial: dict[str, object] = {}
        self.calls: list[_Item] = []
        self.breaks: list[_Break] = []
        self.blocks: list[_Block] = []
        self.timer_runs: list[_TimerRun] = []
        self._timer_log: list[tuple] = []
        self.cursor: dict[str, float] = {}
        self.prev: dict[str, tuple] = {}
        self.latest: dict[str, _Item] = {}
        self.deferred: dict[int, list] = defaultdict(list)   # segment -> its "rcv" states
        self._pending: dict[str, list[int]] = {}
        self.G = 0.0
        runs = _runs(segs, collapse)
        self.block_of: dict[int, _Block] = {}
        for run in runs:
            block = _Block(run, hosts=tuple(h for h in self.hosts if any(
                h in (segs[i].sender, segs[i].receiver) for i in run)))
            self.blocks.append(block)
            for i in run:
                self.block_of[i] = block
        self._unit()
        self._place()
        self._timers(timers)
        self._states_from_segments()

    # ---------------------------------------------------------------- time warp
    def _unit(self) -> None:
        times = sorted({_tkey(s.time) for s in self.segs} | {_tkey(e.time) for e in self.trace.events}
                       | {_tkey(a) for a in self.arrivals if a is not None})
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a > 0]
        self.unit = self.latency if self.latency > 0 else (min(gaps) if gaps else 1.0)

    def _advance(self, dt: float, idle: bool) -> float:
        """How far down the time grid moves for ``dt`` seconds: proportional for up to two
        latencies; an idle gap (nothing in flight) shrinks to well under an inch."""
        x = dt / self.unit
        if x <= 2 and not (idle and x > 0.75):
            return DROP * x
        if idle:
            return min(DROP * x, 0.5 + 0.1 * math.log2(x))
        return DROP * min(2 + 0.9 * math.log2(x / 2), 3.5)

    # ---------------------------------------------------------------- placing
    def _gap(self, host: str, kind: str, t: float) -> float:
        prev = self.prev.get(host)
        if prev is None:
            return 0.0
        pkind, flat, pt = prev
        if kind == "send" and (pkind in ("call", "fire", "state") or (pkind == "arrive" and not flat)):
            return 0.0
        if kind == pkind and kind in ("send", "arrive") and pt == t:
            return BURST
        return SLOT

    def _item(self, kind: str, host: str, t: float, seg=None, text="", min_y=None) -> _Item:
        y = max(self.G, self.cursor.get(host, -math.inf) + self._gap(host, kind, t))
        if min_y is not None:
            y = max(y, min_y)
        item = _Item(kind, host, t, len(self.items), y, seg, text, self.G)
        self.items.append(item)
        self.cursor[host] = y
        self.prev[host] = (kind, False, t)      # (kind, drawn flat?, time)
        self.latest[host] = item
        return item

    def _mark_item(self, host: str, t: float) -> _Item:
        """A point for something that takes no slot of its own (a timer set, a state)."""
        y = max(self.G, self.cursor.get(host, -math.inf))
        if host not in self.cursor:
            self.cursor[host] = y
        item = _Item("mark", host, t, len(self.items), y, g=self.G)
        self.items.append(item)
        self.latest[host] = item
        return item

    def _emit_send(self, i: int, t: float) -> _Item:
        s = self.segs[i]
        block = self.block_of.get(i)
        if block is not None:
            if block.item is None:
                y = max([self.G] + [self.cursor.get(h, -math.inf) + SLOT for h in block.hosts])
                block.item = _Item("block", s.sender, t, len(self.items), y, i, g=self.G)
                self.items.append(block.item)
                for h in block.hosts:
                    self.cursor[h] = y + BLOCK
                    self.prev[h] = ("block", False, t)
                    self.latest[h] = block.item
            self.send[i] = block.item
            return block.item
        item = self._item("send", s.sender, t, seg=i)
        self.send[i] = item
        a = self.arrivals[i]
        if s.lost:      # where it would have arrived
            self.lost[i] = item.y + DROP * min(self.latency / self.unit, 2) if self.latency \
                else item.y
        elif a is not None and _tkey(a) == _tkey(t):
            self._emit_arrival(i, _tkey(a))
            if s.len and not s.flags & (Flags.SYN | Flags.FIN | Flags.RST):
                self._answer_data(i, t)          # data changes no state: its ACK follows at once
        return item

    def _answer_data(self, i: int, t: float) -> None:
        s = self.segs[i]
        self._take(self._pending, s.receiver, t,
                   lambda r: Flags.ACK in r.flags and r.ack == s.end_seq)

    def _emit_arrival(self, i: int, t: float) -> _Item | None:
        s = self.segs[i]
        if i in self.block_of:
            return None
        sent = self.send[i]
        same_time = _tkey(self.arrivals[i]) == _tkey(s.time)
        drop = 0.0 if same_time else max(self.G - sent.g, 0.35 * DROP)
        item = self._item("arrive", s.receiver, t, seg=i, min_y=sent.y + drop)
        if item.y <= sent.y + 1e-9:          # drawn flat: the next send must not overlap it
            self.prev[s.receiver] = ("arrive", True, t)
        self.arrive[i] = item
        for event in self.deferred.pop(i, []):
            self._state(event, item)
        return item

    def _take(self, pending: dict, host: str, t: float, test) -> _Item | None:
        queue = pending.get(host)
        if queue and test(self.segs[queue[0]]):
            return self._emit_send(queue.pop(0), t)
        return None

    def _state(self, event, item: _Item) -> None:
        if event.old is not None and event.host not in self.initial:
            self.initial[event.host] = event.old
        if event.new is not None:
            peer = None
            if item.seg is not None and item.kind in ("send", "arrive"):
                s = self.segs[item.seg]
                peer = s.receiver if s.sender == event.host else s.sender
            self.marks.append(_StateMark(event.host, item, event.new, peer))

    def _place(self) -> None:
        segs, arrivals = self.segs, self.arrivals
        sends_at, arrive_at, events_at = defaultdict(list), defaultdict(list), defaultdict(list)
        for i, s in enumerate(segs):
            sends_at[_tkey(s.time)].append(i)
            a = arrivals[i]
            if a is not None and _tkey(a) != _tkey(s.time):
                arrive_at[_tkey(a)].append(i)
        spans = [(_tkey(segs[b.members[0]].time),
                  max(_tkey(arrivals[i] if arrivals[i] is not None else segs[i].time)
                      for i in b.members)) for b in self.blocks]
        for e in self.trace.events:
            t = _tkey(e.time)
            if e.kind in ("call", "error") and any(a < t < b for a, b in spans):
                continue                     # hidden inside a collapsed data transfer
            events_at[t].append(e)
        flights = [(_tkey(s.time), _tkey(arrivals[i])) for i, s in enumerate(segs)
                   if arrivals[i] is not None and i not in self.block_of]
        flights += spans
        times = sorted(set(sends_at) | set(arrive_at) | set(events_at))
        prev_t = None
        for t in times:
            if prev_t is not None:
                # time inside a collapsed block is drawn by the block itself
                dt = t - prev_t - sum(max(0.0, min(t, b) - max(prev_t, a)) for a, b in spans)
                idle = not any(a <= prev_t and b >= t for a, b in flights)
                if dt / self.unit > BREAK_AFTER and idle:
                    top = max([self.G, *self.cursor.values()]) + 0.3
                    self.breaks.append(_Break(top, top + BREAK, dt, len(self.items)))
                    self.G = top + BREAK + 0.3
                else:
                    self.G += self._advance(dt, idle)
            prev_t = t
            self.latest = {}
            self._group(t, sends_at.get(t, []), arrive_at.get(t, []), events_at.get(t, []))
        self.bottom = max([self.G, *self.cursor.values()], default=0.0)

    def _group(self, t, sends, arrivals, events) -> None:
        segs = self.segs
        pending: dict[str, list[int]] = defaultdict(list)
        self._pending = pending
        for i in sends:
            pending[segs[i].sender].append(i)
        claimed: set[int] = set()
        rcv_item: dict[int, _Item] = {}
        first = len(self.items)              # this instant's items start here

        def answer(state_event, host, arrived: _Item | None = None):
            """Place the segment a state change sent (``rcv FIN / snd ACK``): the first one
            ``host`` still has to send now, if it is that kind (and, answering an arrival,
            acknowledges it)."""
            wanted = set(_RCV_TOKENS.findall(getattr(state_event.row, "send", "") or ""))
            if not wanted:
                return None
            acked = segs[arrived.seg].end_seq if arrived is not None and arrived.seg is not None \
                else None

            def fits(s):
                have = _flag_names(s.flags)
                if not wanted <= have or have - wanted - {"ACK"}:
                    return False
                if wanted == {"ACK"} and s.flags & (Flags.SYN | Flags.FIN | Flags.RST):
                    return False
                return acked is None or Flags.ACK not in s.flags or s.ack == acked
            return self._take(pending, host, t, fits)

        # 1. segments arriving now (queued deliveries run before the application's calls)
        for i in sorted(arrivals, key=lambda k: (_tkey(self.arrivals[k]), k)):
            item = self._emit_arrival(i, t)
            if item is None:
                continue
            s, host = segs[i], segs[i].receiver
            match = next((e for e in events if id(e) not in claimed and e.host == host
                          and _is_rcv(e) and _rcv_matches(e, s)), None)
            if match is not None:
                claimed.add(id(match))
                rcv_item[id(match)] = item
                self._state(match, item)             # the arrival changed the state ...
                answer(match, host, item)            # ... and sent the answer
            elif s.seg_len:
                self._answer_data(i, t)
        # 2. segments injected by hand, then calls, timers and the state changes they cause,
        #    in the order they happened
        for queue in pending.values():
            while queue and _injected(segs[queue[0]]):
                self._emit_send(queue.pop(0), t)
        for e in events:
            if id(e) in claimed:
                continue
            host = e.host
            if e.kind == "call":
                item = self._item("call", host, t, text=_call_text(e.name, e.detail))
                self.calls.append(item)
                if e.name == "send()":
                    while self._take(pending, host, t, lambda s: s.len > 0):
                        pass
            elif e.kind == "error":
                last = self.latest.get(host)
                if last is not None and last.kind == "call":
                    last.text += f" → {e.name}"
                else:
                    item = self._item("call", host, t, text=e.name)
                    self.calls.append(item)
            elif e.kind == "timer":
                if e.detail == "fired":
                    item = self._item("fire", host, t, text=e.name)
                    self._timer_log.append((host, e.name, "fired", item, None))
                    if e.name == "retransmit":
                        self._take(pending, host, t, lambda s: s.retransmission)
                    elif e.name in ("keepalive", "persist"):
                        self._take(pending, host, t, lambda s: True)
                    elif e.name == "delayed-ack":
                        self._take(pending, host, t, lambda s: not s.flags & (
                            Flags.SYN | Flags.FIN | Flags.RST))
                else:
                    item = self.latest.get(host) or self._mark_item(host, t)
                    outcome = "set" if e.detail.startswith("set") else "cancelled"
                    self._timer_log.append((host, e.name, outcome, item, e.deadline))
            elif e.kind == "state":
                if _is_rcv(e):
                    taken = {id(a) for a in rcv_item.values()}
                    target = next((a for a in reversed(self.items[first:])
                                   if a.kind == "arrive" and a.host == host and id(a) not in taken
                                   and _rcv_matches(e, segs[a.seg])), None)
                    if target is None:
                        # states inferred from a capture change when the segment is seen,
                        # which is when it was sent: show the change where it arrives
                        later = next((i for i in sends if segs[i].receiver == host
                                      and i not in self.deferred and i not in self.arrive
                                      and _tkey(self.arrivals[i] or t) > t
                                      and _rcv_matches(e, segs[i])), None)
                        if later is not None:
                            self.deferred[later].append(e)
                            answer(e, host)
                            continue
                    item = target or self.latest.get(host) or self._mark_item(host, t)
                    rcv_item[id(e)] = item
                    self._state(e, item)
                    answer(e, host, target)
                else:                                # a call or a timer: the state changes
                    item = self.latest.get(host) or self._item("state", host, t)
                    sent = answer(e, host)           # with the segment it sends, if any
                    self._state(e, sent or item)
        # 3. whatever is left goes out in the order it was sent
        rest = sorted(i for queue in pending.values() for i in queue)
        for i in rest:
            self._emit_send(i, t)

    # ---------------------------------------------------------------- timers
    def _timers(self, mode: str) -> None:
        open_runs: dict[tuple, tuple] = {}
        runs: list[_TimerRun] = []
        for host, name, what, item, deadline in self._timer_log:
            key = (host, name)
            if key in open_runs:
                start, length = open_runs.pop(key)
                outcome = {"set": "restarted", "cancelled": "cancelled", "fired": "fired"}[what]
                runs.append(_TimerRun(host, name, start, item, outcome, length))
            if what == "set":
                length = None if deadline is None else deadline - item.time
                open_runs[key] = (item, length)
        for (host, name), (start, length) in open_runs.items():
            runs.append(_TimerRun(host, name, start, None, "running", length))
        if mode == "none":
            runs = []
        elif mode == "auto":
            runs = [r for r in runs if r.outcome in ("fired", "running")
                    or (r.name == "time-wait")
                    or (r.name == "delayed-ack" and r.outcome == "cancelled")]
        self.timer_runs = sorted(runs, key=lambda r: r.start.order)

    def _states_from_segments(self) -> None:
        """For traces without "state" events (captures): the states the segments carry."""
        if self.marks or any(e.kind == "state" for e in self.trace.events):
            return
        last: dict[str, object] = {}
        for i, s in enumerate(self.segs):
            side = {s.sender: None, s.receiver: None}
            if s.sender == "server" or (s.receiver != "server" and s.sender != "client"):
                side[s.sender], side[s.receiver] = s.server_state, s.client_state
            else:
                side[s.sender], side[s.receiver] = s.client_state, s.server_state
            for host, item in ((s.sender, self.send.get(i)), (s.receiver, self.arrive.get(i))):
                state = side.get(host)
                if state is None or item is None or last.get(host) == state:
                    continue
                last[host] = state
                peer = s.receiver if host == s.sender else s.sender
                self.marks.append(_StateMark(host, item, state, peer))


# ============================================================================ drawing

def _text_width(text: str, size: float) -> float:
    """A fair estimate of a DejaVu Sans line's width in inches (wide glyphs count double)."""
    w = 0.0
    for ch in text:
        if ord(ch) > 0x2E80:
            w += 1.0
        elif ch.isupper() or ch.isdigit() or ch in "=?%":
            w += 0.68
        elif ch in " ,.:;!|il()[]'":
            w += 0.34
        else:
            w += 0.58
    return w * size / 72


def _corners(cx, cy, w, h, angle_deg):
    """A rotated rectangle: its four corners and its bounding box (for a quick test first)."""
    a = math.radians(angle_deg)
    ux, uy = math.cos(a), -math.sin(a)            # along the text (y down)
    vx, vy = math.sin(a), math.cos(a)             # across it, downwards
    quad = [(cx + sx * w / 2 * ux + sy * h / 2 * vx, cy + sx * w / 2 * uy + sy * h / 2 * vy)
            for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    xs, ys = [x for x, _ in quad], [y for _, y in quad]
    return quad, (min(xs), min(ys), max(xs), max(ys))


def _overlap(p, q) -> bool:
    """Whether two rotated rectangles (from :func:`_corners`) overlap: separating axes."""
    (p, bp), (q, bq) = p, q
    if bp[2] < bq[0] or bq[2] < bp[0] or bp[3] < bq[1] or bq[3] < bp[1]:
        return False
    for poly in (p, q):
        for k in range(4):
            x1, y1 = poly[k]
            x2, y2 = poly[(k + 1) % 4]
            nx, ny = y2 - y1, x1 - x2
            a = [nx * x + ny * y for x, y in p]
            b = [nx * x + ny * y for x, y in q]
            if max(a) < min(b) or max(b) < min(a):
                return False
    return True


def _ensure_cjk_font(texts) -> None:
    """If a text needs CJK glyphs and matplotlib knows no CJK font, register the system's.

    matplotlib caches its font list; a font installed after that (fonts-noto-cjk)
    is unknown to it until added.
    """
    if not any(ord(ch) > 0x2E80 for t in texts for ch in (t or "")):
        return
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if known & set(FONT_FAMILY[1:]):
        return
    roots = [pathlib.Path("/usr/share/fonts"), pathlib.Path("/usr/local/share/fonts"),
             pathlib.Path.home() / ".fonts", pathlib.Path.home() / ".local/share/fonts"]
    for root in roots:
        if not root.is_dir():
            continue
        for pattern in _CJK_FONT_GLOBS:
            for path in sorted(root.rglob(pattern)):
                if path.suffix.lower() in (".ttc", ".ttf", ".otf") and "Serif" not in path.name:
                    try:
                        font_manager.fontManager.addfont(str(path))
                    except (OSError, RuntimeError, ValueError):
                        continue


def font_family() -> list[str]:
    """The families of :data:`FONT_FAMILY` that matplotlib has (naming a missing one warns)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in FONT_FAMILY if f in known] or ["DejaVu Sans"]


class LadderFigureMixin:
    """Jupyter shows a ladder as its picture, with :func:`ladder_text` as the text version."""

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64

        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
                "text/plain": self.ladder.text}


def _figure_class():
    from matplotlib.figure import Figure

    global LadderFigure
    if LadderFigure is None:
        LadderFigure = type("LadderFigure", (LadderFigureMixin, Figure), {
            "__doc__": "A matplotlib Figure holding a ladder; ``.ladder`` says what is where.",
            "__module__": __name__})
    return LadderFigure


LadderFigure = None


@dataclass
class SegmentArtists:
    """What was drawn for one segment (coordinates in inches, y down)."""

    index: int
    start: tuple[float, float]
    end: tuple[float, float]
    label: str
    arrow: object = None
    text: object = None
    tag: object = None
    cross: object = None
    lost: bool = False
    block: bool = False


@dataclass
class LadderInfo:
    """What a ladder figure shows, for tests, the stepper and animations.

    ``x`` maps each host to its timeline; ``segments`` holds one
    :class:`SegmentArtists` per segment; ``states`` lists (host, y, state
    text); ``steps`` is the number of segments (a frame per segment plus the
    empty one before them).
    """

    hosts: list[str]
    x: dict[str, float]
    segments: list[SegmentArtists]
    states: list[tuple[str, float, str]]
    breaks: list[tuple[float, float, float]]
    timers: list[tuple[str, str, float, float, str]]
    text: str
    options: dict
    steps: int = 0
    _dynamic: list = field(default_factory=list, repr=False)       # (artist, order, step)
    _send_order: list = field(default_factory=list, repr=False)
    _state_marks: list = field(default_factory=list, repr=False)   # (order, host, state)

    def shows(self, k: int, order: float, step: int | None) -> bool:
        """Whether frame ``k`` shows an artist that appears at ``order`` (or at ``step``)."""
        return k >= step if step is not None else order < self.cut(k)

    def cut(self, k: int) -> float:
        """The emission order up to which frame ``k`` shows things (all of it for the last)."""
        return math.inf if k >= self.steps else self._send_order[k]

    def states_at(self, k: int) -> dict[str, object]:
        """Each host's state in frame ``k`` (what the stepper lights in the state graph)."""
        cut = self.cut(k)
        out: dict[str, object] = {}
        for order, host, state in self._state_marks:
            if order < cut or (order == -1):
                out[host] = state
        return out


def _check_options(numbers, hide, highlight, timers, n: int) -> tuple[tuple, set, str]:
    if numbers not in NUMBERS:
        raise ValueError(f"numbers must be one of {', '.join(map(repr, NUMBERS))}, not {numbers!r}")
    hide = _check_hide(hide)
    if timers is True:
        timers = "auto"
    if timers is False or timers is None:
        timers = "none"
    if timers not in TIMERS:
        raise ValueError(f"timers must be one of {', '.join(map(repr, TIMERS))}, not {timers!r}")
    if isinstance(highlight, int):
        highlight = [highlight]
    marked = set()                   # indices into trace.segments: segment k is index k - 1
    for k in highlight or ():
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            valid = f"1 .. {n}" if n else "none: the trace has no segments"
            raise ValueError(f"highlight takes segment numbers as ladder_text() numbers them "
                             f"({valid}), got {k!r}")
        marked.add(k - 1)
    return hide, marked, timers


def draw_ladder(trace, *, numbers: str = "absolute", symbolic: bool = False, hide=(),
                highlight=(), collapse_data=False, title: str | None = None,
                figsize: tuple[float, float] | None = None, timers="auto", calls: bool = True,
                times: bool = True) -> Figure:
    """The trace as a sequence ladder (时序图): a matplotlib Figure.

    Each segment is an arrow from its sender's timeline, when it was sent, to
    its receiver's, when it arrived (:func:`arrival_times`), labelled as
    :func:`segment_labels` writes it (``numbers``, ``symbolic``, ``hide``).
    States (from the trace's "state" events, or the segments' states for a
    capture) are written beside each timeline where they begin; calls
    (``connect()``, ``close()``, ``shutdown(SHUT_WR)``) are marked where they
    happen (``calls=False`` leaves them out).  A lost segment ends in a cross,
    a retransmission is dashed and says so, a timer is a bracket beside its
    timeline (``timers="auto"``: those that fired or still run at the end,
    every TIME-WAIT, delayed ACKs that a FIN took along; "all"; "none").  Idle gaps of more than twelve
    latencies are cut out and marked with a zig-zag that gives their length.

    ``highlight``: the numbers of the segments to draw bold, counted from 1 as
    :func:`ladder_text` and the trace's table number them (segment 1 is ``trace[0]``);
    ``collapse_data``: runs of 4 or more data segments and plain ACKs (or of
    the given number) become one labelled block; ``hide=("states",)`` writes
    ``?`` for each state (an exercise); ``times=False`` drops the time column;
    ``title``; ``figsize`` scales the picture (the natural size is chosen to
    fit the trace).  The figure displays in Jupyter as its picture, with
    :func:`ladder_text` as its text version.
    """
    trace = _as_trace(trace)
    n = len(trace.segments)
    hide, marked, timers = _check_options(numbers, hide, highlight, timers, n)
    labels = segment_labels(trace, numbers, symbolic, hide)
    layout = _Layout(trace, collapse=collapse_data, timers=timers)
    text = ladder_text(trace, numbers=numbers, symbolic=symbolic, hide=hide,
                       collapse_data=collapse_data, _layout=layout, _labels=labels)
    options = {"numbers": numbers, "symbolic": symbolic, "hide": hide,
               "highlight": [i + 1 for i in sorted(marked)],
               "collapse_data": collapse_data, "title": title, "timers": timers, "calls": calls,
               "times": times}
    import matplotlib as mpl

    _ensure_cjk_font([title or "", *labels, *(s.note for s in trace.segments)])
    rc = {"font.family": font_family(), "axes.unicode_minus": False, "path.simplify": False,
          "pdf.fonttype": 42, "svg.fonttype": "path"}
    with mpl.rc_context(rc):
        return _Drawer(trace, layout, labels, marked, options, text, figsize).draw()


class _Drawer:
    """Turns a :class:`_Layout` into matplotlib artists (data units: inches, y down)."""

    def __init__(self, trace, layout: _Layout, labels, marked, options, text, figsize):
        self.trace, self.layout, self.labels = trace, layout, labels
        self.marked, self.options, self.text, self.figsize = marked, options, text, figsize
        self.hide = options["hide"]
        self.rects: list = []           # text already placed: (quadrilateral, weight)
        self.scale = 1.0

    # ---------------------------------------------------------------- geometry
    def _geometry(self) -> None:
        lay = self.layout
        hosts = lay.hosts
        gap = GAP_TWO if len(hosts) == 2 else GAP
        self.colour = {}
        k = 0
        for h in hosts:
            if h == "server":
                self.colour[h] = SERVER_COLOUR
            else:
                self.colour[h] = HOST_COLOURS[k % len(HOST_COLOURS)]
                k += 1
        self.lane_count = self._assign_lanes()
        self.timer_texts = {id(run): self._timer_text(run) for run in lay.timer_runs}
        self.vertical = {}
        for run in lay.timer_runs:
            y0, y1 = self._run_span(run)
            self.vertical[id(run)] = y1 - y0 >= _text_width(self.timer_texts[id(run)],
                                                            FONT["timer"]) + 0.05
        # each outer column is as wide as the widest name written in it
        cols = {}
        for host in (hosts[0], hosts[-1]):
            widths = [_text_width(line, FONT["state"]) + 0.35 for line in self._state_lines(host)]
            widths += [_text_width(self.timer_texts[id(r)], FONT["timer"]) + 0.2
                       for r in lay.timer_runs if r.host == host and not self.vertical[id(r)]]
            cols[host] = max([0.9, *widths])
        lanes_l = self.lane_count.get(hosts[0], 0)
        lanes_r = self.lane_count.get(hosts[-1], 0)
        x0 = (TIME_COL if self.options["times"] else 0.2) + cols[hosts[0]] + lanes_l * LANE + 0.25
        self.x = {h: x0 + k * gap for k, h in enumerate(hosts)}
        self.width = self.x[hosts[-1]] + 0.25 + lanes_r * LANE + cols[hosts[-1]] + 0.15
        self.head = (0.62 if self.options["title"] else 0.12)
        self.top = self.head + 0.5 + 0.55
        self.height = self.top + lay.bottom + 0.75

    def _state_lines(self, host: str) -> list[str]:
        lay = self.layout
        out = []
        if host in lay.initial:
            out += self._state_text(None, lay.initial[host], host).split("\n")
        for m in lay.marks:
            if m.host == host:
                out += self._state_text(m, m.state, host).split("\n")
        return out

    def _run_span(self, run: _TimerRun) -> tuple[float, float]:
        y1 = run.end.y if run.end is not None else self.layout.bottom + 0.35
        return run.start.y, y1

    def _assign_lanes(self) -> dict[str, int]:
        lanes: dict[str, list[float]] = defaultdict(list)
        self.lane_of = {}
        for run in self.layout.timer_runs:
            y0, y1 = self._run_span(run)
            used = lanes[run.host]
            for k, last in enumerate(used):
                if last <= y0 + 0.01:
                    used[k] = y1
                    self.lane_of[id(run)] = k
                    break
            else:
                used.append(y1)
                self.lane_of[id(run)] = len(used) - 1
        return {h: len(v) for h, v in lanes.items()}

    def side(self, host: str) -> int:
        """-1: state names go to the left of the timeline; +1: to the right (the last host)."""
        return 1 if host == self.layout.hosts[-1] else -1

    def Y(self, y: float) -> float:
        return self.top + y

    # ---------------------------------------------------------------- the figure
    def draw(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self._geometry()
        if self.figsize is not None:
            try:
                fw, fh = (float(v) for v in self.figsize)
            except (TypeError, ValueError):
                fw = fh = -1.0
            if not (fw > 0 and fh > 0):
                raise ValueError(f"figsize must be (width, height) in inches, got {self.figsize!r}")
            self.scale = min(fw / self.width, fh / self.height)
        else:
            fw, fh = self.width, self.height
        fig = _figure_class()(figsize=(fw, fh))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        # data units are inches of the natural picture, square in any figsize
        w, h = fw / self.scale, fh / self.scale
        ax.set_xlim((self.width - w) / 2, (self.width + w) / 2)
        ax.set_ylim(self.height + (h - self.height) / 2, -(h - self.height) / 2)
        self.ax, self.fig = ax, fig
        self.info = info = LadderInfo(list(self.layout.hosts), dict(self.x), [], [], [], [],
                                      self.text, dict(self.options),
                                      steps=len(self.trace.segments))
        self._header()
        self._timelines()
        self._breaks()
        self._timer_brackets()
        self._states()
        self._calls()
        self._blocks()
        self._segments()
        self._times()
        lay = self.layout
        order = []
        for i in range(len(self.trace.segments)):
            block = lay.block_of.get(i)
            if block is not None and block.members[0] != i:
                order.append(block.item.order + 0.5)
            else:
                item = lay.send.get(i)
                order.append(item.order if item is not None else math.inf)
        info._send_order = order
        info._state_marks = [(-1, h, s) for h, s in lay.initial.items()] + \
            [(m.item.order, m.host, m.state) for m in lay.marks]
        fig.ladder = info
        return fig

    def fs(self, key: str) -> float:
        return FONT[key] * self.scale

    def progressive(self, artist, order=None, step=None) -> None:
        """Register an artist that frames show from emission ``order`` (or from ``step``) on."""
        self.info._dynamic.append((artist, order, step))

    def _halo(self, width=3.2):
        from matplotlib import patheffects

        return [patheffects.withStroke(linewidth=width * self.scale, foreground="white")]

    # ---------------------------------------------------------------- pieces
    def _header(self) -> None:
        ax = self.ax
        y = self.head + 0.25
        for h, x in self.x.items():
            ax.text(x, y, h, ha="center", va="center", fontsize=self.fs("host"),
                    fontweight="bold", color=INK, zorder=6, gid=f"host:{h}",
                    bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": self.colour[h],
                          "lw": 2.2})
        if self.options["title"]:
            ax.text(self.width / 2, 0.36, self.options["title"], ha="center", va="center",
                    fontsize=self.fs("title"), fontweight="bold", color=INK, gid="title")
        bits = []
        if self.trace.profile:
            bits.append(f"profile {self.trace.profile}")
        if self.layout.latency:
            bits.append(f"one-way latency {fmt_duration(self.layout.latency)}")
        if self.trace.source and self.trace.source != "simulation":
            bits.append(f"capture {pathlib.Path(str(self.trace.source)).name}")
        if self.options["numbers"] == "relative" and not self.options["symbolic"]:
            bits.append("relative seq/ack")
        if bits:
            ax.text(self.width - 0.12, self.height - 0.14, " · ".join(bits), ha="right",
                    va="bottom", fontsize=self.fs("caption"), color=GREY, gid="caption")

    def _timelines(self) -> None:
        lay, ax = self.layout, self.ax
        top, bottom = self.Y(-0.45), self.Y(lay.bottom + 0.45)
        self.line_span = (top, bottom)
        cuts = [(self.Y(b.y0), self.Y(b.y1)) for b in lay.breaks]
        for h, x in self.x.items():
            y = top
            for y0, y1 in cuts:
                ax.plot([x, x], [y, y0], color=INK, lw=2.0 * self.scale, solid_capstyle="butt", zorder=2,
                        gid=f"timeline:{h}")
                y = y1
            ax.plot([x, x], [y, bottom], color=INK, lw=2.0 * self.scale, solid_capstyle="butt", zorder=2,
                    gid=f"timeline:{h}")
            ax.plot([x], [bottom], marker="v", ms=7 * self.scale, color=INK, zorder=2)
            self.rects.append((_corners(x, (top + bottom) / 2, 0.05, bottom - top, 0), 1.0, h))
        ax.text(self.x[lay.hosts[0]] - 0.1, bottom + 0.12, "time ↓", ha="right", va="top",
                fontsize=self.fs("caption"), color=GREY)

    def _breaks(self) -> None:
        lay, ax = self.layout, self.ax
        xs = list(self.x.values())
        for b in lay.breaks:
            y0, y1 = self.Y(b.y0), self.Y(b.y1)
            arts = []
            for x in xs:
                n = 4
                px, py = [x], [y0]
                for k in range(1, n + 1):
                    px.append(x if k == n else x + (0.08 if k % 2 else -0.08))
                    py.append(y0 + (y1 - y0) * k / n)
                ax.plot(px, py, color=INK, lw=2.0 * self.scale, zorder=2, gid="break")
            mid = (xs[0] + xs[-1]) / 2
            text = f"≈ {fmt_duration(b.seconds)} later"
            arts.append(ax.text(mid, (y0 + y1) / 2, text, ha="center", va="center",
                                fontsize=self.fs("break"), style="italic", color=GREY,
                                gid="break:text", zorder=3,
                                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": LIGHT,
                                      "ls": (0, (4, 3))}))
            self.rects.append((_corners(mid, (y0 + y1) / 2, _text_width(text, FONT["break"]) + 0.2,
                                        0.3, 0), 1.0, None))
            for a in arts:
                self.progressive(a, b.order)
            self.info.breaks.append((y0, y1, b.seconds))

    def _timer_text(self, run: _TimerRun) -> str:
        length = "" if run.length is None else fmt_duration(run.length)
        name = run.name
        if name == "time-wait":
            text = "TIME-WAIT"
            msl = None
            if self.trace.profile:
                from .profiles import PROFILES

                prof = PROFILES.get(self.trace.profile)
                msl = getattr(prof, "msl", None)
            if msl and run.length is not None and abs(run.length - 2 * msl) < 1e-6:
                text += f" 2MSL = {length}"
            elif length:
                text += f" {length}"
        elif name == "retransmit":
            text = f"RTO {length}".strip()
        elif name == "delayed-ack":
            text = f"delayed ACK {length}".strip()
        elif name == "fin-wait-2":
            text = f"FIN-WAIT-2 timer {length}".strip()
        else:
            text = f"{name} {length}".strip()
        if run.outcome == "restarted":
            return f"{text.split(' ')[0]} (restarted)"
        if run.outcome != "fired":
            text += f" ({run.outcome})"
        return text

    def _timer_brackets(self) -> None:
        from matplotlib.lines import Line2D

        lay, ax = self.layout, self.ax
        self.timer_labels = []
        for run in lay.timer_runs:
            side = self.side(run.host)
            x = self.x[run.host] + side * (0.14 + self.lane_of[id(run)] * LANE)
            a, b = self._run_span(run)
            y0, y1 = self.Y(a), self.Y(b)
            tick = -side * 0.07
            style = "solid" if run.outcome in ("fired", "running") else (0, (1.5, 2))
            line = Line2D([x + tick, x, x, x + tick], [y0, y0, y1, y1], color=GREY,
                          lw=1.7 * self.scale,
                          ls=style, zorder=2, gid=f"timer:{run.host}:{run.name}")
            ax.add_line(line)
            self.progressive(line, run.start.order)
            if run.outcome == "running":
                head = ax.plot([x], [y1], marker="v", ms=6 * self.scale, color=GREY, zorder=2)[0]
                self.progressive(head, run.start.order)
            text = self.timer_texts[id(run)]
            if self.vertical[id(run)]:
                t = ax.text(x + side * 0.05, (y0 + y1) / 2, text, rotation=90,
                            ha="right" if side < 0 else "left", va="center",
                            fontsize=self.fs("timer"), style="italic", color=GREY, zorder=5,
                            gid=f"timerlabel:{run.host}")
                self.progressive(t, run.start.order)
            else:
                self.timer_labels.append((run, text, y0, y1))
            self.info.timers.append((run.host, run.name, y0, y1, text))

    def _state_text(self, mark: _StateMark | None, state, host: str) -> str:
        if "states" in self.hide:
            return "?"
        text = str(state)
        if mark is not None and mark.peer and len(self._peers(host)) > 1:
            text += f"\n({mark.peer})"
        return text

    def _peers(self, host: str) -> set:
        if not hasattr(self, "_peer_cache"):
            self._peer_cache = defaultdict(set)
            for s in self.trace.segments:
                self._peer_cache[s.sender].add(s.receiver)
                self._peer_cache[s.receiver].add(s.sender)
        return self._peer_cache[host]

    def _states(self) -> None:
        """State names beside each timeline where each state begins; timer names that did
        not fit along their bracket go in the same column, kept clear of the states."""
        lay, ax = self.layout, self.ax
        per_host: dict[str, list] = defaultdict(list)
        for host in lay.hosts:
            state = lay.initial.get(host)
            if state is not None:
                per_host[host].append((self.Y(-0.42), self._state_text(None, state, host), -1,
                                       (state, None)))
        for m in lay.marks:
            per_host[m.host].append((self.Y(m.item.y), self._state_text(m, m.state, m.host),
                                     m.item.order, (m.state, m.peer)))
        timers = defaultdict(list)
        for run, text, y0, y1 in self.timer_labels:
            timers[run.host].append((run, text, y0, y1))
        for host in lay.hosts:
            side = self.side(host)
            x = self.x[host] + side * (0.14 + self.lane_count.get(host, 0) * LANE + 0.06)
            taken: list[tuple[float, float]] = []
            last = None
            for y, text, order, key in per_host.get(host, []):
                if key == last:                # a self-loop (TIME-WAIT again): say it once
                    continue
                last = key
                lines = text.count("\n") + 1
                hgt = (0.2 * lines + 0.1) * self.scale
                yy = y + 0.03
                for a, b in sorted(taken):
                    if yy < b + 0.04 and yy + hgt > a:
                        yy = b + 0.04
                taken.append((yy, yy + hgt))
                t = ax.text(x, yy, text, ha="right" if side < 0 else "left", va="top",
                            fontsize=self.fs("state"), fontweight="bold", color=INK, zorder=5,
                            gid=f"state:{host}", linespacing=1.1,
                            bbox={"boxstyle": "round,pad=0.22", "fc": "white",
                                  "ec": self.colour[host], "lw": 1.3})
                tick = ax.plot([self.x[host], x], [y, y], color=self.colour[host], lw=self.scale,
                               zorder=1.5, ls=(0, (2, 2)))[0]
                self.progressive(t, order)
                self.progressive(tick, order)
                self.info.states.append((host, y, text))
                width = max(_text_width(line, FONT["state"]) for line in text.split("\n")) + 0.3
                self.rects.append((_corners(x + side * width / 2, yy + hgt / 2, width, hgt, 0),
                                   1.0, None))
            for run, text, y0, y1 in timers.get(host, []):
                hgt = 0.22 * self.scale
                yy = max(y0, (y0 + y1) / 2 - hgt / 2)
                for a, b in sorted(taken):
                    if yy < b + 0.03 and yy + hgt > a - 0.03:
                        yy = b + 0.05
                taken.append((yy, yy + hgt))
                t = ax.text(x, yy + hgt / 2, text, ha="right" if side < 0 else "left",
                            va="center", fontsize=self.fs("timer"), style="italic", color=GREY,
                            zorder=5, gid=f"timerlabel:{host}",
                            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                                  "alpha": 0.9})
                self.progressive(t, run.start.order)
                width = _text_width(text, FONT["timer"]) + 0.1
                self.rects.append((_corners(x + side * width / 2, yy + hgt / 2, width, hgt, 0),
                                   1.0, None))

    def _calls(self) -> None:
        if not self.options["calls"]:
            return
        ax = self.ax
        for item in self.layout.calls:
            x, y = self.x[item.host], self.Y(item.y)
            side = -self.side(item.host)          # calls go inside, towards the other timelines
            m = ax.plot([x], [y], marker="D", ms=6.5 * self.scale, color=INK, zorder=4,
                        gid=f"call:{item.host}")[0]
            t = ax.text(x + side * 0.12, y - 0.05, item.text, ha="left" if side > 0 else "right",
                        va="bottom", fontsize=self.fs("call"), family="DejaVu Sans Mono",
                        color=INK, zorder=5, gid=f"calltext:{item.host}",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.85})
            width = len(item.text) * 0.6 * FONT["call"] / 72
            self.rects.append((_corners(x + side * (0.12 + width / 2), y - 0.15, width, 0.22, 0),
                               1.0, None))
            self.progressive(m, item.order)
            self.progressive(t, item.order)

    def _geometry_of(self, i: int, s: Segment):
        lay = self.layout
        x0, y0 = self.x[s.sender], self.Y(lay.send[i].y)
        x1 = self.x[s.receiver]
        if s.lost:     # the cross, a little past half way
            return x0, y0, x0 + 0.58 * (x1 - x0), y0 + 0.58 * (self.Y(lay.lost[i]) - y0)
        return x0, y0, x1, self.Y(lay.arrive[i].y)

    def _segments(self) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import FancyArrowPatch

        lay, ax, trace = self.layout, self.ax, self.trace
        shapes = {}
        for i, s in enumerate(trace.segments):
            if i not in lay.block_of:
                x0, y0, xe, ye = self._geometry_of(i, s)
                length = math.hypot(xe - x0, ye - y0)
                ang = math.degrees(math.atan2(-(ye - y0), xe - x0))
                shapes[i] = _corners((x0 + xe) / 2, (y0 + ye) / 2, length, 0.03, ang)
        for i, s in enumerate(trace.segments):
            if i in lay.block_of:
                item = lay.block_of[i].item
                self.info.segments.append(SegmentArtists(
                    i, (self.x[s.sender], self.Y(item.y)), (self.x[s.receiver], self.Y(item.y)),
                    self.labels[i], block=True, lost=s.lost))
                continue
            x0, y0, xe, ye = self._geometry_of(i, s)
            bold = i in self.marked
            colour = self.colour.get(s.sender, INK)
            lw = (3.6 if bold else 1.9) * self.scale
            ls = (0, (6, 3.5)) if s.retransmission else "solid"
            arrow = FancyArrowPatch((x0, y0), (xe, ye), arrowstyle="-" if s.lost else "-|>",
                                    mutation_scale=(20 if bold else 17) * self.scale, color=colour,
                                    lw=lw, ls=ls, shrinkA=0, shrinkB=0 if s.lost else 1,
                                    zorder=3, gid=f"segment:{i}", capstyle="butt",
                                    joinstyle="miter")
            ax.add_artist(arrow)
            arts = SegmentArtists(i, (x0, y0), (xe, ye), self.labels[i], arrow=arrow, lost=s.lost)
            if s.lost:
                arts.cross = Line2D([xe], [ye], marker="X", ms=17 * self.scale, mew=1.2,
                                    mfc=INK, mec="white", ls="none", zorder=4, gid=f"lost:{i}")
                ax.add_line(arts.cross)
            # the label rides on the arrow, the tags under it
            dx, dy = xe - x0, ye - y0
            angle = math.degrees(math.atan2(-dy, dx))
            if angle > 90:
                angle -= 180
            elif angle < -90:
                angle += 180
            a = math.radians(angle)
            nx, ny = -math.sin(a), -math.cos(a)          # "up" from the text, in y-down units
            tags = _tags(s, lost=True, short=True)
            lsize, tsize = self.fs("label"), self.fs("tag")
            lwid = _text_width(self.labels[i], FONT["label"]) * (1.08 if bold else 1.0)
            twid = _text_width(tags, FONT["tag"]) if tags else 0
            ends = {s.sender, s.receiver}

            def place(f, up, x0=x0, y0=y0, dx=dx, dy=dy, nx=nx, ny=ny, angle=angle, lwid=lwid,
                      twid=twid):
                """Rectangles of the label (and tags) at ``f`` along the arrow, above it
                (``up`` = 1) or below it (-1), and where the texts are anchored."""
                px, py = x0 + f * dx, y0 + f * dy
                if up > 0:
                    label_at = (px + nx * 0.045, py + ny * 0.045, "bottom")
                    tag_at = (px - nx * 0.05, py - ny * 0.05, "top")
                    rects = [_corners(px + nx * 0.15, py + ny * 0.15, lwid + 0.1, 0.22, angle)]
                    if twid:
                        rects.append(_corners(px - nx * 0.14, py - ny * 0.14, twid + 0.1, 0.18,
                                              angle))
                else:
                    label_at = (px - nx * 0.05, py - ny * 0.05, "top")
                    tag_at = (px - nx * 0.29, py - ny * 0.29, "top")
                    rects = [_corners(px - nx * 0.16, py - ny * 0.16, lwid + 0.1, 0.22, angle)]
                    if twid:
                        rects.append(_corners(px - nx * 0.38, py - ny * 0.38, twid + 0.1, 0.18,
                                              angle))
                return rects, label_at, tag_at

            def score(rects, me=i, ends=ends):
                total = 0.0
                for r in rects:
                    for q, weight, host in self.rects:
                        if host not in ends and _overlap(r, q):
                            total += weight
                    for j, q in shapes.items():
                        if j != me and _overlap(r, q):
                            total += 0.3
                return total

            length = math.hypot(dx, dy)
            half = max(lwid, twid) / 2 / max(length, 1e-9)
            prefs = [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75, 0.2, 0.8]
            prefs = [f for f in prefs if half <= f <= 1 - half] or [0.5]
            best = None
            for up in (1, -1):
                for f in prefs:
                    spot = place(f, up)
                    total = score(spot[0])
                    if best is None or total < best[0] - 1e-9:
                        best = (total, spot)
                    if total == 0:
                        break
                if best[0] == 0:
                    break
            rects, (lx, ly, lva), (tx, ty, tva) = best[1]
            self.rects.extend((r, 1.0, None) for r in rects)
            halo = self._halo()
            arts.text = ax.text(lx, ly, self.labels[i], rotation=angle, rotation_mode="anchor",
                                ha="center", va=lva, fontsize=lsize,
                                fontweight="bold" if bold else "normal", color=INK, zorder=6,
                                gid=f"label:{i}", path_effects=halo)
            if tags:
                arts.tag = ax.text(tx, ty, tags, rotation=angle, rotation_mode="anchor",
                                   ha="center", va=tva, fontsize=tsize, style="italic",
                                   color=GREY, zorder=6, gid=f"tag:{i}", path_effects=halo)
            for art in (arts.arrow, arts.text, arts.tag, arts.cross):
                if art is not None:
                    self.progressive(art, step=i + 1)
            self.info.segments.append(arts)

    def _blocks(self) -> None:
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

        lay, ax, trace = self.layout, self.ax, self.trace
        for block in lay.blocks:
            item = block.item
            xs = [self.x[h] for h in block.hosts]
            x0, x1 = min(xs), max(xs)
            y0 = self.Y(item.y)
            box = FancyBboxPatch((x0 + 0.1, y0 + 0.05), x1 - x0 - 0.2, BLOCK - 0.1,
                                 boxstyle="round,pad=0,rounding_size=0.08", fc="#F4F4F4",
                                 ec=GREY, lw=1.2, ls=(0, (4, 2)), zorder=2.5, gid="block")
            ax.add_artist(box)
            lines = [f"{len(block.members)} segments drawn as one block"]
            arts = [box]
            pairs = [(a, b) for a in block.hosts for b in block.hosts if a != b and any(
                trace.segments[i].sender == a and trace.segments[i].receiver == b
                for i in block.members)]
            for k, (a, b) in enumerate(pairs[:2]):
                idx = [i for i in block.members
                       if trace.segments[i].sender == a and trace.segments[i].receiver == b]
                lines.append(f"{a} → {b}: {self._summary(idx)}")
                ya = y0 + 0.27 if k == 0 else y0 + BLOCK - 0.27
                arr = FancyArrowPatch((self.x[a], ya), (self.x[b], ya), arrowstyle="-|>",
                                      mutation_scale=18 * self.scale, color=self.colour[a],
                                      lw=3.0 * self.scale, zorder=2.6, gid="block:arrow",
                                      shrinkA=0, shrinkB=1)
                ax.add_artist(arr)
                arts.append(arr)
            widest = max(_text_width(line, FONT["tag"]) for line in lines)
            size = self.fs("tag") * min(1.0, (x1 - x0 - 0.5) / widest)
            t = ax.text((x0 + x1) / 2, y0 + BLOCK / 2, "\n".join(lines), ha="center",
                        va="center", fontsize=size, color=INK, zorder=6,
                        gid="block:text", linespacing=1.35,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "#F4F4F4", "ec": "none"})
            arts.append(t)
            for art in arts:
                self.progressive(art, step=block.members[0] + 1)

    def _summary(self, idx: list[int]) -> str:
        """``13 data segments seq=101:1401 (1300 B), 2 ACKs (last ack=501)``."""
        segs = self.trace.segments
        data = [i for i in idx if segs[i].len]
        acks = [i for i in idx if not segs[i].len]
        parts = []
        if data:
            first = re.search(r"seq=([^:\s]+)", self.labels[data[0]])
            last = re.search(r"seq=[^:\s]+:(\S+)", self.labels[data[-1]])
            rng = "?" if "seq" in self.hide or not (first and last) else \
                f"{first.group(1)}:{last.group(1)}"
            nbytes = "?" if "len" in self.hide else sum(segs[i].len for i in data)
            parts.append(f"{len(data)} with data (seq={rng}, {nbytes} B)")
        if acks:
            ack = re.search(r"ack=(\S+)", self.labels[acks[-1]])
            parts.append(f"{len(acks)} ACK{'s' * (len(acks) > 1)} (up to ack="
                         f"{ack.group(1) if ack else '?'})")
        return " + ".join(parts)

    def _times(self) -> None:
        if not self.options["times"]:
            return
        lay, ax = self.layout, self.ax
        best: dict[float, _Item] = {}
        for item in lay.items:
            if item.kind == "mark":
                continue
            if item.time not in best or item.y < best[item.time].y:
                best[item.time] = item
        decimals = _decimals(lay.unit)
        last = -math.inf
        ax.text(0.12, self.Y(-0.42), "time (s)", ha="left", va="center",
                fontsize=self.fs("time"), color=GREY, style="italic")
        for t, item in sorted(best.items(), key=lambda kv: kv[1].y):
            y = self.Y(item.y)
            if y - last < 0.24:
                continue
            last = y
            txt = ax.text(0.12, y, f"{t:.{decimals}f}", ha="left", va="center",
                          fontsize=self.fs("time"), color=GREY, gid="time")
            guide = ax.plot([0.18 + _text_width(f"{t:.{decimals}f}", FONT["time"]),
                             self.x[lay.hosts[0]] - 0.05], [y, y], color=LIGHT, lw=0.6,
                            ls=(0, (1, 4)), zorder=1)[0]
            self.progressive(txt, item.order)
            self.progressive(guide, item.order)


def _decimals(unit: float) -> int:
    """Enough decimals to tell apart times one latency apart (3 for 10 ms)."""
    return max(0, min(6, 1 - math.floor(math.log10(unit)))) if unit > 0 else 3


# ============================================================================ frames

def _emphasis(arts: SegmentArtists, on: bool) -> None:
    """Mark the newest segment of a frame (thicker arrow, label on a boxed ground), or undo it."""
    if arts.arrow is None:
        return
    if on:
        arts._plain = arts.arrow.get_linewidth()
        arts.arrow.set_linewidth(arts._plain * 1.9)
        arts.text.set_bbox({"boxstyle": "round,pad=0.18", "fc": "#FFF1A8", "ec": INK,
                            "lw": 0.9})
    elif hasattr(arts, "_plain"):
        arts.arrow.set_linewidth(arts._plain)
        arts.text.set_bbox(None)


def _png(canvas, colours: int = 96) -> bytes:
    from PIL import Image

    w, h = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB").quantize(colours, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=6)
    return buf.getvalue()


def ladder_frames(trace_or_figure, dpi: float = 80, emphasise: bool = True, **options
                  ) -> list[bytes]:
    """PNG images of the ladder revealed one segment at a time: ``len(trace) + 1`` frames.

    Frame 0 shows the timelines and what happened before the first segment;
    frame k the first k segments (the newest one bold) and everything that
    happened before segment k was sent; the last frame is the whole ladder.
    The figure is drawn once; each frame adds only what is new to the previous
    one (matplotlib's blitting), so a frame costs a few milliseconds.
    """
    fig = trace_or_figure if isinstance(getattr(trace_or_figure, "ladder", None), LadderInfo) \
        else draw_ladder(trace_or_figure, **options)
    info = fig.ladder
    ax, canvas = fig.axes[0], fig.canvas
    n = info.steps
    dynamic = sorted(info._dynamic, key=lambda d: d[0].get_zorder())
    old_dpi = fig.dpi
    fig.set_dpi(dpi)
    frames: list[bytes] = []
    try:
        for artist, _, _ in dynamic:
            artist.set_visible(False)
        canvas.draw()
        base = canvas.copy_from_bbox(fig.bbox)
        drawn: set[int] = set()
        for k in range(n + 1):
            if k == n:                       # the whole picture, drawn in its true order
                for artist, _, _ in dynamic:
                    artist.set_visible(True)
                canvas.draw()
            else:
                canvas.restore_region(base)
                for artist, order, step in dynamic:
                    if id(artist) not in drawn and info.shows(k, order, step):
                        drawn.add(id(artist))
                        artist.set_visible(True)
                        ax.draw_artist(artist)
                base = canvas.copy_from_bbox(fig.bbox)
            newest = info.segments[k - 1] if k > 0 else None
            if emphasise and newest is not None and newest.arrow is not None:
                _emphasis(newest, True)
                for artist in (newest.arrow, newest.text):
                    ax.draw_artist(artist)
                _emphasis(newest, False)
            frames.append(_png(canvas))
    finally:
        for artist, _, _ in dynamic:
            artist.set_visible(True)
        fig.set_dpi(old_dpi)
    return frames


# ============================================================================ text

def ladder_text(trace, *, numbers: str = "absolute", symbolic: bool = False, hide=(),
                collapse_data=False, _layout: _Layout | None = None, _labels=None) -> str:
    """The ladder as plain text, for terminals and screen readers, in the manner of
    RFC 9293's figures.

    One numbered line per segment (numbered from 1, like the trace's table):
    its time, the client's state after it, ``-->`` or ``<--`` around its label
    (a lost segment ends ``--X``), the server's state after it, and
    "retransmission" or the simulator's note.  Application calls, long idle
    gaps and the states reached after the last segment get lines of their own.
    With more than two hosts the left column names the client.  The options
    are :func:`draw_ladder`'s.
    """
    trace = _as_trace(trace)
    hide = _check_hide(hide)
    labels = _labels if _labels is not None else segment_labels(trace, numbers, symbolic, hide)
    layout = _layout if _layout is not None else _Layout(trace, collapse=collapse_data,
                                                         timers="none")
    hosts, segs = layout.hosts, trace.segments
    right = hosts[-1]
    many = len(hosts) > 2
    decimals = _decimals(layout.unit)

    def named(host, text):
        return f"{host} {text}" if many and host != right and text else text

    def state(value, host):
        return "" if value is None else named(host, "?" if "states" in hide else str(value))

    def left_of(s: Segment):
        """The non-server end of a segment and the states (left, right) after it."""
        other = s.receiver if s.sender == right else s.sender
        return other, state(s.client_state, other), state(s.server_state, right)

    events: list[tuple] = [(item.order - 0.1, "call", item) for item in layout.calls]
    seen_blocks = set()
    for i in range(len(segs)):
        block = layout.block_of.get(i)
        if block is None:
            events.append((layout.send[i].order, "seg", i))
        elif id(block) not in seen_blocks:
            seen_blocks.add(id(block))
            events.append((block.item.order, "block", block))
    events += [(b.order - 0.2, "gap", b) for b in layout.breaks]
    events.sort(key=lambda e: e[0])

    rows: list[tuple] = []          # (number, time, left, middle, right, after) or a str
    init = [state(layout.initial.get(h), h) for h in (hosts[0], right)]
    rows.append(("", None, "clients" if many else hosts[0], "", right, ""))
    if any(init) and not many:
        rows.append(("", None, init[0], "", init[1], ""))
    elif init[1]:
        rows.append(("", None, "", "", init[1], ""))
    calls: dict[str, list[str]] = defaultdict(list)
    call_time = [None]

    def flush():
        if calls:
            left = "; ".join(named(h, c) for h in hosts[:-1] for c in calls.get(h, []))
            rows.append(("", call_time[0], left, "", "; ".join(calls.get(right, [])), ""))
            calls.clear()

    for _, kind, payload in events:
        if kind == "call":
            if call_time[0] is not None and call_time[0] != payload.time:
                flush()
            call_time[0] = payload.time
            calls[payload.host].append(payload.text)
            continue
        flush()
        if kind == "gap":
            rows.append(f"~~~ {fmt_duration(payload.seconds)} later ~~~")
        elif kind == "block":
            first, last = payload.members[0], payload.members[-1]
            rows.append((f"{first + 1}-{last + 1}.", segs[first].time or 0.0, "",
                         f"... {len(payload.members)} data segments and ACKs, collapsed ...",
                         "", ""))
        else:
            s = segs[payload]
            forward = s.sender != right
            head, tail = ("-->", "--X" if s.lost else "-->") if forward else \
                ("X--" if s.lost else "<--", "<--")
            other, lstate, rstate = left_of(s)
            rows.append((f"{payload + 1}.", s.time or 0.0, lstate, (head, labels[payload], tail),
                         rstate, _tags(s)))
    flush()
    # states reached after the last segment says so (TIME-WAIT running out, say)
    shown: dict[str, object] = {}
    for s in segs:
        other = s.receiver if s.sender == right else s.sender
        shown[other], shown[right] = s.client_state, s.server_state
    last_order = max((it.order for it in layout.send.values()), default=-1)
    final: dict[str, tuple] = {}
    for m in layout.marks:
        if m.item.order > last_order:
            final[m.host] = (m.item.time, m.state)
    if any(shown.get(h) != v[1] for h, v in final.items()):
        t = max(v[0] for v in final.values())
        now = {h: final[h][1] if h in final else shown.get(h) for h in hosts}
        left = "; ".join(state(now[h], h) for h in hosts[:-1] if now[h] is not None)
        rows.append(("", t, left, "", state(now[right], right), ""))

    table = [r for r in rows if not isinstance(r, str)]
    wn = max(len(r[0]) for r in table)
    wt = max([len("time")] + [len(f"{r[1]:.{decimals}f}") for r in table if r[1] is not None])
    wl = max(len(r[2]) for r in table)
    wlab = max([len(r[3][1]) for r in table if isinstance(r[3], tuple)] + [10])
    wm = wlab + 8
    wr = max(len(r[4]) for r in table)
    out = []
    for k, r in enumerate(rows):
        if isinstance(r, str):
            out.append(f"{'':>{wn}} {'':>{wt}}  {r}")
            continue
        num, t, left, mid, rightcol, after = r
        time = "time" if k == 0 else "" if t is None else f"{t:.{decimals}f}"
        if isinstance(mid, tuple):
            mid = f"{mid[0]} {mid[1]:<{wlab}} {mid[2]}"
        line = f"{num:>{wn}} {time:>{wt}}  {left:<{wl}}  {mid:<{wm}}  {rightcol:<{wr}}"
        if after:
            line += f"  ({after})"
        out.append(line.rstrip())
    return "\n".join(out)


# ============================================================================ export

def save_ladder(trace, path, *, dpi: float | None = None, fps: float = 1.0, **options
                ) -> pathlib.Path:
    """Save the ladder for slides: ``.png``, ``.svg``, ``.pdf``, an animated ``.gif`` (one
    frame per segment, the whole ladder held at the end) or ``.mp4`` (needs ffmpeg).

    ``options`` are :func:`draw_ladder`'s; ``dpi`` defaults to 150 for PNG and 90
    for animations; ``fps`` is frames per second of an animation.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise ValueError(f"cannot save a ladder as {suffix or 'a file without extension'!r}; "
                         f"use one of {', '.join(SAVE_FORMATS)}")
    if not (isinstance(fps, (int, float)) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise ValueError("saving .mp4 needs ffmpeg, which is not installed (not on PATH); "
                         "install it (apt-get install ffmpeg) or save a .gif")
    fig = draw_ladder(trace, **options)
    if suffix in (".png", ".svg", ".pdf"):
        import matplotlib as mpl

        with mpl.rc_context({"pdf.fonttype": 42}):
            fig.savefig(path, dpi=dpi or (150 if suffix == ".png" else None))
        return path
    frames = ladder_frames(fig, dpi=dpi or 90)[1:]
    if not frames:
        frames = ladder_frames(fig, dpi=dpi or 90)
    if suffix == ".gif":
        from PIL import Image

        images = [Image.open(io.BytesIO(f)).convert("RGB") for f in frames]
        palette = images[-1].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
        durations = [int(1000 / fps)] * len(images)
        durations[-1] = max(durations[-1], 3000)
        images[0].save(path, save_all=True, append_images=images[1:], duration=durations,
                       loop=0, disposal=1, optimize=False)
        return path
    import subprocess

    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "image2pipe", "-framerate", f"{fps:g}",
           "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-r", "25", str(path)]
    data = b"".join(frames + [frames[-1]] * 2)
    done = subprocess.run(cmd, input=data, capture_output=True)
    if done.returncode != 0:
        raise OSError(f"ffmpeg failed to write {path}: {done.stderr.decode(errors='replace')}")
    return path
