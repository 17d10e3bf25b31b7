"""The RFC 9293 connection state machine, as one table.

Everything that decides a state change lives here: the 11 states, the events
that move between them, and ``TRANSITIONS`` — one row per arrow of RFC 9293
Figure 5 plus the arrows the figure leaves out (RST, CLOSE and ABORT in every
state, §3.10.4–5 and §3.10.7; timeouts, §3.8).  The endpoint runs this table;
the state graph and the exercises are drawn from it.  Beside the table are
the tests that decide *whether* a segment is acceptable (§3.4, §3.10.7.4),
since they decide which row fires.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from .profiles import Profile, get_profile
from .segment import Flags, Segment, seq_add, seq_diff, seq_le, seq_lt

__all__ = [
    "State", "Event", "Transition", "TRANSITIONS", "NoTransition", "lookup", "lookup_by",
    "table_conditions", "transitions_from", "acceptable_ack", "segment_acceptable",
    "is_simultaneous_open_syn_ack", "rst_for_closed",
]


class State(enum.Enum):
    """The eleven connection states of RFC 9293 §3.3.2.  ``str()`` is the RFC name."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value

    @property
    def linux_name(self) -> str:
        """The name Linux's ``ss`` prints (``SYN-RECV``, ``ESTAB``, ``CLOSE-WAIT`` ...)."""
        return _LINUX_NAMES[self]

    @property
    def synchronized(self) -> bool:
        """True in the states after the handshake's SYNs are exchanged (RFC 9293 §3.5)."""
        return self not in (State.CLOSED, State.LISTEN, State.SYN_SENT)


_LINUX_NAMES = {
    State.CLOSED: "UNCONN", State.LISTEN: "LISTEN", State.SYN_SENT: "SYN-SENT",
    State.SYN_RECEIVED: "SYN-RECV", State.ESTABLISHED: "ESTAB", State.FIN_WAIT_1: "FIN-WAIT-1",
    State.FIN_WAIT_2: "FIN-WAIT-2", State.CLOSE_WAIT: "CLOSE-WAIT", State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST-ACK", State.TIME_WAIT: "TIME-WAIT",
}


class Event(enum.Enum):
    """What can happen to a connection: a user call, an arriving segment, or a timeout.

    The value is the label the state graph prints before the slash.
    """

    PASSIVE_OPEN = "passive OPEN"
    ACTIVE_OPEN = "active OPEN"
    SEND = "SEND"
    CLOSE = "CLOSE"
    CLOSE_UNREAD = "close() with unread data"
    ABORT = "ABORT"
    RCV_SYN = "rcv SYN"
    RCV_SYN_ACK = "rcv SYN,ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    RCV_FIN = "rcv FIN"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    RCV_FIN_ACK_OF_FIN = "rcv FIN + ACK of FIN"
    RCV_RST = "rcv RST"
    RCV_DATA_AFTER_CLOSE = "rcv data after close()"
    RCV_BAD_ACK = "rcv unacceptable ACK"
    RCV_SEGMENT = "rcv segment"
    TIMEOUT_2MSL = "timeout=2MSL"
    TIMEOUT_FIN_WAIT_2 = "FIN-WAIT-2 timeout"
    USER_TIMEOUT = "retransmissions exhausted"
    KEEPALIVE_TIMEOUT = "keepalive probes unanswered"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Transition:
    """One arrow of the state machine.

    ``send`` is the control the endpoint puts on the wire ("SYN", "SYN,ACK",
    "ACK", "FIN", "RST" or "" for nothing); ``error`` is what the user is
    told, if anything; ``figure5`` says whether RFC 9293 Figure 5 draws the
    arrow; ``when`` limits a row to the profiles in which a field is set: ``"field"``
    (true, or not None) or ``"not field"`` (empty: every profile).  Behaviour follows the
    profile's fields, never its name, so a renamed or edited copy behaves by its fields.
    """

    state: State
    event: Event
    send: str
    next: State
    section: str
    figure5: bool = False
    note: str = ""
    error: str = ""
    when: str = ""

    @property
    def label(self) -> str:
        """``event / snd X`` as the RFC figure writes it, e.g. ``rcv SYN / snd SYN,ACK``."""
        return f"{self.event} / snd {self.send}" if self.send else f"{self.event} / -"

    def applies_to(self, profile: str | Profile) -> bool:
        """Whether the row is part of ``profile``'s state machine (a Profile or its name)."""
        return self.when in table_conditions(get_profile(profile))


def _conditions(profile: Profile) -> frozenset[str]:
    """The ``when`` values that hold for ``profile`` ("" always does)."""
    found = {""}
    for row in TRANSITIONS:
        if row.when:
            field = row.when.removeprefix("not ")
            value = getattr(profile, field)
            if (value is not None and value is not False) != row.when.startswith("not "):
                found.add(row.when)
    return frozenset(found)


S = State
E = Event

_SYNCHRONIZED = (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT,
                 S.CLOSING, S.LAST_ACK, S.TIME_WAIT)

TRANSITIONS: tuple[Transition, ...] = (
    # --- Figure 5: opening ---------------------------------------------------------------
    Transition(S.CLOSED, E.PASSIVE_OPEN, "", S.LISTEN, "3.10.1", figure5=True,
               note="create TCB"),
    Transition(S.CLOSED, E.ACTIVE_OPEN, "SYN", S.SYN_SENT, "3.10.1", figure5=True,
               note="create TCB"),
    Transition(S.LISTEN, E.RCV_SYN, "SYN,ACK", S.SYN_RECEIVED, "3.10.7.2", figure5=True),
    Transition(S.LISTEN, E.SEND, "SYN", S.SYN_SENT, "3.10.2", figure5=True,
               note="a listening TCB turned active by SEND"),
    Transition(S.SYN_SENT, E.RCV_SYN, "SYN,ACK", S.SYN_RECEIVED, "3.10.7.3", figure5=True,
               note="simultaneous open"),
    Transition(S.SYN_SENT, E.RCV_SYN_ACK, "ACK", S.ESTABLISHED, "3.10.7.3", figure5=True),
    Transition(S.SYN_RECEIVED, E.RCV_ACK_OF_SYN, "", S.ESTABLISHED, "3.10.7.4", figure5=True),
    # --- Figure 5: closing ---------------------------------------------------------------
    Transition(S.LISTEN, E.CLOSE, "", S.CLOSED, "3.10.4", figure5=True, note="delete TCB"),
    Transition(S.SYN_SENT, E.CLOSE, "", S.CLOSED, "3.10.4", figure5=True, note="delete TCB"),
    Transition(S.SYN_RECEIVED, E.CLOSE, "FIN", S.FIN_WAIT_1, "3.10.4", figure5=True),
    Transition(S.ESTABLISHED, E.CLOSE, "FIN", S.FIN_WAIT_1, "3.10.4", figure5=True),
    Transition(S.CLOSE_WAIT, E.CLOSE, "FIN", S.LAST_ACK, "3.10.4", figure5=True),
    Transition(S.ESTABLISHED, E.RCV_FIN, "ACK", S.CLOSE_WAIT, "3.10.7.4", figure5=True),
    Transition(S.FIN_WAIT_1, E.RCV_ACK_OF_FIN, "", S.FIN_WAIT_2, "3.10.7.4", figure5=True),
    Transition(S.FIN_WAIT_1, E.RCV_FIN, "ACK", S.CLOSING, "3.10.7.4", figure5=True,
               note="simultaneous close"),
    Transition(S.FIN_WAIT_2, E.RCV_FIN, "ACK", S.TIME_WAIT, "3.10.7.4", figure5=True),
    Transition(S.CLOSING, E.RCV_ACK_OF_FIN, "", S.TIME_WAIT, "3.10.7.4", figure5=True),
    Transition(S.LAST_ACK, E.RCV_ACK_OF_FIN, "", S.CLOSED, "3.10.7.4", figure5=True,
               note="delete TCB"),
    Transition(S.TIME_WAIT, E.TIMEOUT_2MSL, "", S.CLOSED, "3.10.8", figure5=True,
               note="delete TCB"),
    # --- arrows Figure 5 does not draw ---------------------------------------------------
    Transition(S.FIN_WAIT_1, E.RCV_FIN_ACK_OF_FIN, "ACK", S.TIME_WAIT, "3.10.7.4",
               note="FIN and the ACK of our FIN arrive in one segment"),
    Transition(S.TIME_WAIT, E.RCV_FIN, "ACK", S.TIME_WAIT, "3.10.7.4",
               note="retransmitted FIN: acknowledge it and restart the 2MSL timer"),
    Transition(S.SYN_RECEIVED, E.RCV_RST, "", S.LISTEN, "3.10.7.4", figure5=True,
               note="after a passive OPEN: back to LISTEN (Figure 5, note 1)"),
    Transition(S.SYN_RECEIVED, E.RCV_RST, "", S.CLOSED, "3.10.7.4",
               note="after an active OPEN: connection refused", error="connection refused"),
    Transition(S.SYN_RECEIVED, E.RCV_SYN, "", S.LISTEN, "3.10.7.4",
               note="after a passive OPEN, a new SYN in the window: back to LISTEN"),
    Transition(S.LISTEN, E.RCV_RST, "", S.LISTEN, "3.10.7.2", note="an RST is ignored"),
    Transition(S.LISTEN, E.RCV_SEGMENT, "RST", S.LISTEN, "3.10.7.2",
               note="an ACK to a listener: <SEQ=SEG.ACK><CTL=RST>"),
    Transition(S.SYN_SENT, E.RCV_RST, "", S.CLOSED, "3.10.7.3",
               note="RST that acknowledges our SYN", error="connection refused"),
    *(Transition(st, E.RCV_RST, "", S.CLOSED, "3.10.7.4", error="connection reset")
      for st in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)),
    *(Transition(st, E.RCV_RST, "", S.CLOSED, "3.10.7.4")
      for st in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
    Transition(S.SYN_SENT, E.RCV_BAD_ACK, "RST", S.SYN_SENT, "3.10.7.3",
               note="an ACK of something never sent (e.g. for an old duplicate SYN): "
                    "<SEQ=SEG.ACK><CTL=RST>"),
    Transition(S.SYN_RECEIVED, E.RCV_BAD_ACK, "RST", S.SYN_RECEIVED, "3.10.7.4",
               note="<SEQ=SEG.ACK><CTL=RST>"),
    Transition(S.CLOSED, E.RCV_SEGMENT, "RST", S.CLOSED, "3.10.7.1",
               note="no connection: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> or "
                    "<SEQ=SEG.ACK><CTL=RST>; an arriving RST is dropped"),
    # CLOSE (§3.10.4) once our FIN is sent: "error: connection closing" (an "ok" is allowed,
    # as long as no second FIN goes out); the socket API returns silently.
    *(Transition(st, E.CLOSE, "", st, "3.10.4", error="connection closing")
      for st in (S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
    # close() with received data still unread: RST instead of FIN (§3.6, SHLD-2)
    *(Transition(st, E.CLOSE_UNREAD, "RST", S.CLOSED, "3.6",
                 note="data was lost, so the peer is told with RST (SHLD-2)")
      for st in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)),
    # data arriving after close(): RST (§3.6, SHLD-2)
    *(Transition(st, E.RCV_DATA_AFTER_CLOSE, "RST", S.CLOSED, "3.6",
                 note="new data after CLOSE is lost, so the peer is told with RST (SHLD-2)")
      for st in (S.FIN_WAIT_1, S.FIN_WAIT_2)),
    # ABORT (§3.10.5)
    Transition(S.LISTEN, E.ABORT, "", S.CLOSED, "3.10.5"),
    Transition(S.SYN_SENT, E.ABORT, "", S.CLOSED, "3.10.5"),
    *(Transition(st, E.ABORT, "RST", S.CLOSED, "3.10.5")
      for st in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)),
    *(Transition(st, E.ABORT, "", S.CLOSED, "3.10.5")
      for st in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
    # timeouts (§3.8.3 R2, §3.8.4 keep-alive; Linux tcp_fin_timeout)
    *(Transition(st, E.USER_TIMEOUT, "", S.CLOSED, "3.8.3", error="connection timed out")
      for st in (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSE_WAIT,
                 S.CLOSING, S.LAST_ACK)),
    *(Transition(st, E.KEEPALIVE_TIMEOUT, "RST", S.CLOSED, "3.8.4",
                 error="connection timed out", when="keepalive_rst",
                 note="Linux tcp_keepalive_timer sends RST,ACK and reports ETIMEDOUT")
      for st in (S.ESTABLISHED, S.CLOSE_WAIT)),
    *(Transition(st, E.KEEPALIVE_TIMEOUT, "", S.CLOSED, "3.8.4", error="connection timed out",
                 when="not keepalive_rst")
      for st in (S.ESTABLISHED, S.CLOSE_WAIT)),
    Transition(S.FIN_WAIT_2, E.TIMEOUT_FIN_WAIT_2, "", S.CLOSED, "Linux tcp_fin_timeout",
               when="fin_wait_2_timeout",
               note="an orphaned socket (close(), not shutdown()) waits tcp_fin_timeout"),
)

del S, E


class NoTransition(LookupError):
    """The table has no row for this (state, event)."""


def _index() -> dict:
    table: dict = {}
    for row in TRANSITIONS:
        table.setdefault((row.state, row.event), []).append(row)
    return table


_TABLE = _index()


def lookup(state: State, event: Event, profile: str | Profile = "rfc", *,
           passive: bool | None = None) -> Transition:
    """The row for ``event`` in ``state`` under ``profile`` (a Profile or its name).

    Where two rows share a (state, event) they differ by how the connection
    was opened (SYN-RECEIVED on RST, §3.10.7.4): ``passive`` chooses.
    """
    profile = get_profile(profile)
    return lookup_by(state, event, table_conditions(profile), passive, profile.name)


@functools.cache
def table_conditions(profile: Profile) -> frozenset[str]:
    """What of the table's ``when`` conditions hold for ``profile``: what :func:`lookup_by`
    takes (an endpoint works it out once)."""
    return _conditions(profile)


@functools.cache
def lookup_by(state: State, event: Event, conditions: frozenset[str], passive: bool | None = None,
              profile_name: str = "") -> Transition:
    """:func:`lookup` for a profile given by its :func:`table_conditions`."""
    rows = [r for r in _TABLE.get((state, event), ()) if r.when in conditions]
    if len(rows) > 1 and passive is not None:
        rows = [r for r in rows if (r.next is State.LISTEN) == passive]
    if not rows:
        raise NoTransition(f"no transition for {event} in {state} ({profile_name} profile)")
    return rows[0]


def transitions_from(state: State, profile: str | Profile | None = None) -> list[Transition]:
    """Every row leaving ``state`` (for one profile, or for all when None)."""
    return [r for r in TRANSITIONS if r.state is state and (profile is None or r.applies_to(profile))]


# --- acceptability tests that decide which row fires ------------------------------------------

def acceptable_ack(snd_una: int, seg_ack: int, snd_nxt: int) -> bool:
    """SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.4): the ACK covers something new."""
    return seq_lt(snd_una, seg_ack) and seq_le(seg_ack, snd_nxt)


def segment_acceptable(seg: Segment, rcv_nxt: int, rcv_wnd: int) -> bool:
    """The four-case acceptability test of RFC 9293 §3.10.7.4 (first check).

    =========  =======  ============================================================
    SEG.LEN    RCV.WND  acceptable when
    =========  =======  ============================================================
    0          0        SEG.SEQ = RCV.NXT
    0          >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0         0        never
    >0         >0       first or last octet falls in RCV.NXT .. RCV.NXT+RCV.WND-1
    =========  =======  ============================================================
    """
    seg_len = seg.seg_len
    start = seq_diff(seg.seq, rcv_nxt)
    if seg_len == 0:
        return start == 0 if rcv_wnd == 0 else 0 <= start < rcv_wnd
    if rcv_wnd == 0:
        return False
    last = seq_diff(seq_add(seg.seq, seg_len - 1), rcv_nxt)
    return 0 <= start < rcv_wnd or 0 <= last < rcv_wnd


def is_simultaneous_open_syn_ack(seg: Segment, rcv_nxt: int, snd_nxt: int) -> bool:
    """The peer's SYN,ACK arriving in SYN-RECEIVED during a simultaneous open.

    Its SYN was already counted (SEG.SEQ + 1 = RCV.NXT), so the §3.10.7.4
    window test would reject it, yet RFC 9293 Figure 7 (line 6) takes it as
    the ACK of our SYN and enters ESTABLISHED; Linux does the same
    (tcp_validate_incoming, the "simultaneous open" pass).
    """
    return (seg.flags & (Flags.SYN | Flags.ACK | Flags.RST)) == (Flags.SYN | Flags.ACK) \
        and not seg.payload and seq_add(seg.seq, 1) == rcv_nxt and seg.ack == snd_nxt


def rst_for_closed(seg: Segment) -> Segment | None:
    """The reset a TCP with no connection sends for ``seg`` (RFC 9293 §3.10.7.1).

    ``<SEQ=SEG.ACK><CTL=RST>`` if the segment has ACK, else
    ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``; None for an arriving RST.
    Linux's tcp_v4_send_reset builds the same two forms.
    """
    if Flags.RST in seg.flags:
        return None
    if Flags.ACK in seg.flags:
        return Segment(Flags.RST, seg.ack, 0, window=0)
    return Segment(Flags.RST | Flags.ACK, 0, seg.end_seq, window=0)
