"""State inference: replay a captured trace through the engine to recover both sides' states.

A capture shows segments, not states.  :func:`infer_states` feeds each
captured segment to an :class:`~tcpedu.endpoint.Endpoint` standing for its
receiver, after telling the sender's endpoint what its application must have
done to send it (connect, send, shutdown or close, abort).  Each segment then
carries both endpoints' states as the RFC figures print them (the sender's
after sending, the receiver's after receiving), the trace gains "state"
events for the ladder, and where the capture does something the chosen
profile would not do, the segment's ``note`` says so and why it can happen.
"""

from __future__ import annotations

from .endpoint import SHUT_WR, Endpoint, Output
from .machine import State
from .profiles import Profile, get_profile
from .segment import Flags, Segment, seq_add, seq_diff
from .trace import Trace, TraceEvent

__all__ = [
    "infer_states",
]

_WIDE = 2**30        # windows are not modelled here: accept whatever the capture shows

_WHY_RST = ("RST instead of FIN: the application closed with received data unread "
            "(RFC 9293 §3.6), or aborted with SO_LINGER {1, 0}")
_WHY_RST_CLOSED = "RST from a side with no connection: the segment it answers found no socket"
_WHY_MERGED = ("FIN carries the delayed ACK of the peer's FIN: a three-way close, as Linux "
               "does; the rfc profile would have sent the ACK at once")
_WHY_NO_SYN = "no SYN captured: states assume the connection was ESTABLISHED before the capture began"
_WHY_SILENT = ("no answer from the server in this capture: the SYN was dropped (e.g. its accept "
               "queue was full) or lost before it arrived")


class _Side:
    def __init__(self, name: str, endpoint: Endpoint):
        self.name = name
        self.ep = endpoint
        self.owes_ack = False       # the model would have sent an ACK the capture has not shown
        self.owes_rst = False       # the model answered the last arrival with a RST
        self.syn_sent = False
        self.silent = False         # never sent anything in the capture: it took nothing in


def infer_states(trace: Trace, profile: str = "linux") -> Trace:
    """A copy of ``trace`` (a capture) with both endpoints' states inferred under ``profile``."""
    prof = get_profile(profile)
    segs = trace.segments
    if not segs:
        return Trace([], [], prof.name, dict(trace.isn), trace.source)
    events: list[TraceEvent] = []
    sides, resumed = _start(segs, prof, events)
    out_segments = []
    for i, seg in enumerate(segs):
        if seg.sender not in sides or seg.receiver not in sides:
            out_segments.append(seg.replace())
            continue
        a, b = sides[seg.sender], sides[seg.receiver]
        t = seg.time or 0.0
        for side in sides.values():
            _expire(side, t, events)
        notes = [seg.note] if seg.note else []
        if resumed and i == 0:
            notes.append(_WHY_NO_SYN)
        retransmission = _sender_acts(a, b, seg, t, prof, notes, events)
        if seg.payload and b.ep.state in (State.FIN_WAIT_1, State.FIN_WAIT_2) \
                and _answers_with_rst(segs, i, b.name):
            # its FIN came from close(), not shutdown(): only now does the capture tell
            b.ep.orphan = b.ep.rd_shut = True
        sent_state = a.ep.state             # the sender's state after sending
        if b.silent:
            notes.append(_WHY_SILENT)
            out = Output()
        else:
            out = b.ep.segment_arrives(seg.replace(window=_WIDE), t)
        _record(b, out, t, events)
        if Flags.ACK in seg.flags:
            a.owes_ack = False
        b.owes_ack = any(Flags.ACK in s.flags and not s.payload and Flags.RST not in s.flags
                         for s in out.segments) or "delayed-ack" in out.timers
        b.owes_rst = any(Flags.RST in s.flags for s in out.segments)
        # the RFC figures' columns: the sender after sending, the receiver after receiving
        # (a self-connect's one socket appears in both, at those two moments)
        if a.name == "server":
            client_state, server_state = b.ep.state, sent_state
        else:
            client_state, server_state = sent_state, b.ep.state
        out_segments.append(seg.replace(
            client_state=client_state, server_state=server_state,
            retransmission=seg.retransmission or retransmission, note="; ".join(notes)))
    events.sort(key=lambda e: e.time)
    return Trace(out_segments, events, prof.name, dict(trace.isn), trace.source)


def _answers_with_rst(segs: list[Segment], i: int, host: str) -> bool:
    """Whether ``host``'s next segment after the i-th is a reset."""
    nxt = next((s for s in segs[i + 1:] if s.sender == host), None)
    return nxt is not None and Flags.RST in nxt.flags


def _start(segs: list[Segment], prof, events: list[TraceEvent]) -> tuple[dict[str, _Side], bool]:
    """Endpoints for both sides, opened as the first segments show; True if resumed mid-way."""
    t0 = segs[0].time or 0.0
    syn = {s.sender: s for s in reversed(segs) if Flags.SYN in s.flags}
    sides = {}
    if "client" in syn:
        for name in ("client", "server"):
            isn = syn[name].seq if name in syn else 0
            sides[name] = _Side(name, Endpoint(prof, isn, mss=65535, window=_WIDE))
        client, server = sides["client"], sides["server"]
        _record(client, client.ep.open_active(t0), t0, events)
        first_server_syn = syn.get("server")
        first_reply = next((s for s in segs if s.sender == "server"), None)
        if first_server_syn is not None and Flags.ACK not in first_server_syn.flags:
            _record(server, server.ep.open_active(first_server_syn.time or t0), t0, events)
        elif first_reply is None:
            _record(server, server.ep.open_passive(t0), t0, events)
            server.silent = True            # listening (presumably) but it never answered
        elif Flags.RST not in first_reply.flags:
            _record(server, server.ep.open_passive(t0), t0, events)
        # else: the server's first answer is a RST: nothing listened there (it stays CLOSED)
        return sides, False
    # the start was not captured: resume both ends in ESTABLISHED from the first segment
    first = segs[0]
    ack = first.ack if Flags.ACK in first.flags else first.seq
    sides[first.sender] = _Side(first.sender, Endpoint.resume(prof, first.seq, ack, window=_WIDE))
    sides[first.receiver] = _Side(first.receiver, Endpoint.resume(prof, ack, first.seq,
                                                                   window=_WIDE))
    return sides, True


def _sender_acts(a: _Side, b: _Side, seg: Segment, t: float, profile: Profile, notes: list[str],
                 events: list[TraceEvent]) -> bool:
    """Tell ``a``'s endpoint what its application did to send ``seg``; True if a retransmission."""
    ep = a.ep
    f = seg.flags
    if Flags.SYN in f:
        again, a.syn_sent = a.syn_sent, True
        return again and seg.seq == ep.iss
    if Flags.RST in f:
        if ep.state.synchronized and ep.state not in (State.CLOSING, State.LAST_ACK,
                                                      State.TIME_WAIT):
            if not a.owes_rst:
                notes.append(_WHY_RST)
            _record(a, ep.abort(t), t, events)
        elif not a.owes_rst and ep.state is State.CLOSED:
            notes.append(_WHY_RST_CLOSED)
        a.owes_rst = False
        return False
    retransmission = False
    data_end = seq_add(seg.seq, len(seg.payload))
    if seg.payload and ep.state.synchronized:
        new = seq_diff(data_end, ep.snd_nxt)
        if new > 0 and ep.fin_seq is None:
            try:
                _record(a, ep.send(seg.payload[-new:], t), t, events)
            except OSError as exc:
                notes.append(f"the engine could not send this data: {exc}")
        else:
            retransmission = True
    if Flags.FIN in f:
        if ep.fin_seq is None and not ep.wr_shut and ep.state.synchronized:
            if profile.delayed_ack is None and a.owes_ack and ep.state is State.CLOSE_WAIT:
                notes.append(_WHY_MERGED)
            try:
                _record(a, ep.shutdown(SHUT_WR, t), t, events)
            except OSError as exc:
                notes.append(f"the engine could not close here: {exc}")
        elif ep.fin_seq is not None and seg.seq == ep.fin_seq:
            retransmission = True
    return retransmission


def _expire(side: _Side, t: float, events: list[TraceEvent]) -> None:
    """Let the timers that change state (TIME-WAIT, FIN-WAIT-2) run out before ``t``."""
    for name in ("time-wait", "fin-wait-2"):
        deadline = side.ep.timers.get(name)
        if deadline is not None and deadline <= t:
            _record(side, side.ep.timer_expired(name, deadline), deadline, events)


def _record(side: _Side, out: Output, t: float, events: list[TraceEvent]) -> None:
    """Keep the state changes of one engine call as trace events."""
    for row in out.transitions:
        events.append(TraceEvent(t, side.name, "state", str(row.event), row.label,
                                 old=row.state, new=row.next, row=row))


