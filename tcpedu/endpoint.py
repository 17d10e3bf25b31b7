"""One TCP endpoint, sans-I/O: user calls and segments in, segments and timers out.

The endpoint holds the TCB of RFC 9293 §3.3.1 (ISS, IRS, SND.UNA, SND.NXT,
SND.WND, RCV.NXT, RCV.WND) and runs ``machine.TRANSITIONS`` for every state
change.  It never reads a clock (every call takes ``now``), never opens a
socket and never prints: each call returns an :class:`Output` listing the
segments to put on the wire, the timers to arm or cancel (absolute times),
and the table rows that fired.

Errors a program would see from its socket are raised as the same built-in
exceptions the ``socket`` module raises (BrokenPipeError, ConnectionResetError,
ConnectionRefusedError, TimeoutError, OSError with an errno).
"""

from __future__ import annotations

import errno
import os

from .machine import (
    Event,
    State,
    Transition,
    acceptable_ack,
    is_simultaneous_open_syn_ack,
    lookup,
    lookup_by,
    rst_for_closed,
    segment_acceptable,
    table_conditions,
)
from .profiles import Profile
from .segment import Flags, Segment, check_seq, seq_add, seq_diff, seq_le, seq_lt

__all__ = [
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "RETRANSMIT", "DELAYED_ACK", "TIME_WAIT", "FIN_WAIT_2",
    "KEEPALIVE", "PERSIST", "TIMERS", "Output", "Endpoint", "no_connection",
]

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2   # the socket module's values

# Timer names (the keys of Output.timers).
RETRANSMIT = "retransmit"
DELAYED_ACK = "delayed-ack"
TIME_WAIT = "time-wait"
FIN_WAIT_2 = "fin-wait-2"
KEEPALIVE = "keepalive"
PERSIST = "persist"
TIMERS = (RETRANSMIT, DELAYED_ACK, TIME_WAIT, FIN_WAIT_2, KEEPALIVE, PERSIST)

_ERRORS = {  # row.error -> (exception, errno)
    "connection refused": (ConnectionRefusedError, errno.ECONNREFUSED),
    "connection reset": (ConnectionResetError, errno.ECONNRESET),
    "connection timed out": (TimeoutError, errno.ETIMEDOUT),
}
_ATO_MIN = 0.04  # TCP_ATO_MIN: smallest delayed-ACK timeout once data has been received
_NEXT_TICK = 0.002


class Output:
    """What one call asks of the I/O layer: ``segments`` to send, ``timers`` to arm
    (name -> absolute deadline) or cancel (name -> None), the table ``transitions``
    that fired, and for receive() the ``data`` read."""

    __slots__ = ("segments", "timers", "transitions", "data")

    def __init__(self, segments: list[Segment] | None = None) -> None:
        self.segments: list[Segment] = segments if segments is not None else []
        self.timers: dict[str, float | None] = {}
        self.transitions: list[Transition] = []
        self.data = b""

    def __repr__(self) -> str:
        return (f"Output(segments={self.segments!r}, timers={self.timers!r}, "
                f"transitions={[t.label for t in self.transitions]!r}, data={self.data!r})")


def no_connection(seg: Segment, profile: str | Profile = "rfc") -> Output:
    """What a TCP with no connection for ``seg`` sends back: the CLOSED row of the table
    (RFC 9293 §3.10.7.1) — a reset, unless ``seg`` is itself a reset."""
    out = Output()
    rst = rst_for_closed(seg)
    if rst is not None:
        out.transitions.append(lookup(State.CLOSED, Event.RCV_SEGMENT, profile))
        out.segments.append(rst)
    return out



class Endpoint:
    """A TCP connection endpoint driven by the state-machine table.

    ``profile`` chooses textbook (rfc) or Linux behaviour; ``iss`` is the
    initial send sequence number (any value in 0..2**32-1).
    """

    def __init__(self, profile: Profile, iss: int, *, mss: int | None = None,
                 window: int | None = None):
        self.profile = profile
        self._conditions = table_conditions(profile)     # which rows of the table apply
        self.iss = check_seq(iss, "ISS")
        self.mss = mss or profile.mss
        self.rcv_wnd = window or profile.window
        self.state = State.CLOSED
        self.passive = False           # reached SYN-RECEIVED from LISTEN
        self.irs: int | None = None
        self.snd_una = self.snd_nxt = self.iss
        self.snd_wnd = 0
        self._snd_wl1 = self._snd_wl2 = 0
        self.rcv_nxt = 0
        self._sndq = bytearray()       # unacknowledged + unsent data, first byte at _sndq_seq
        self._sndq_seq = seq_add(self.iss, 1)
        self._fin_pending = False      # CLOSE called: FIN goes after the queued data
        self._fin_seq: int | None = None
        self._rcvq = bytearray()       # in-order data not yet read by the application
        self._ooo: dict[int, Segment] = {}
        self.peer_fin = False          # the peer's FIN has been received (EOF after _rcvq)
        self.rd_shut = False
        self.wr_shut = False
        self.orphan = False            # close() was called: the application is gone
        self.error: tuple[type, int, str] | None = None
        self.reset = False             # the connection ended with a RST (sent or received)
        self.timers: dict[str, float] = {}
        # retransmission (RFC 6298)
        self.rto = profile.rto_initial
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._rtt_probe: tuple[int, float] | None = None   # (seq to be acked, send time)
        self._retries = 0
        self._recover: int | None = None
        # delayed ACK (Linux; the rfc profile has delayed_ack=None)
        self._ack_pending = False
        self._quick = 0
        self._ato = 0.0
        self._pingpong = False
        self._lrcvtime: float | None = None
        self._rcv_wup = 0              # RCV.NXT when we last sent an ACK
        self._adv_right = 0            # right edge of the window we last advertised
        self._rcv_mss = min(self.mss, 536)   # Linux icsk_ack.rcv_mss: the peer's MSS, estimated
        self._data_unacked = False     # received data not yet acknowledged
        # keepalive (RFC 9293 §3.8.4)
        self.keepalive = False
        self.keepalive_idle = profile.keepalive_idle
        self.keepalive_interval = profile.keepalive_interval
        self.keepalive_probes = profile.keepalive_probes
        self._probes_out = 0
        self._last_rcv = 0.0
        self._out = Output()
        self._now = 0.0

    @classmethod
    def resume(cls, profile: Profile, snd_nxt: int, rcv_nxt: int, *, mss: int | None = None,
               window: int | None = None) -> Endpoint:
        """An endpoint already ESTABLISHED with these numbers (for a capture that began
        after the handshake): as if its SYN was SND.NXT-1 and the peer's RCV.NXT-1."""
        ep = cls(profile, seq_add(check_seq(snd_nxt, "SND.NXT"), -1), mss=mss, window=window)
        ep.state = State.ESTABLISHED
        ep.irs = seq_add(check_seq(rcv_nxt, "RCV.NXT"), -1)
        ep.snd_una = ep.snd_nxt = ep._sndq_seq = snd_nxt
        ep.rcv_nxt = ep._rcv_wup = rcv_nxt
        ep.snd_wnd = ep.rcv_wnd
        return ep

    # ------------------------------------------------------------------ bookkeeping
    def __repr__(self) -> str:
        return (f"<Endpoint {self.state} ISS={self.iss} IRS={self.irs} SND.UNA={self.snd_una} "
                f"SND.NXT={self.snd_nxt} RCV.NXT={self.rcv_nxt}>")

    def _begin(self, now: float) -> None:
        self._now = now
        self._out = Output()

    def _end(self) -> Output:
        self._transmit()
        out, self._out = self._out, Output()
        return out

    def _set_timer(self, name: str, delay: float) -> None:
        deadline = self._now + delay
        self.timers[name] = deadline
        self._out.timers[name] = deadline

    def _cancel_timer(self, name: str) -> None:
        if self.timers.pop(name, None) is not None:
            self._out.timers[name] = None

    @property
    def unread(self) -> int:
        """Bytes received in order and not yet read by the application."""
        return len(self._rcvq)

    @property
    def in_flight(self) -> int:
        """Sequence numbers sent but not yet acknowledged (SND.NXT - SND.UNA)."""
        return seq_diff(self.snd_nxt, self.snd_una)

    @property
    def fin_seq(self) -> int | None:
        """The sequence number our FIN took (None until it is sent)."""
        return self._fin_seq

    def _window(self) -> int:
        return max(0, self.rcv_wnd - len(self._rcvq))

    def _seg(self, flags: Flags, seq: int | None = None, payload: bytes = b"") -> Segment:
        if Flags.ACK in flags:
            window = self._window()
            self._adv_right = seq_add(self.rcv_nxt, window)
            return Segment(flags, self.snd_nxt if seq is None else seq, self.rcv_nxt,
                           bytes(payload), window)
        return Segment(flags, self.snd_nxt if seq is None else seq, 0, bytes(payload),
                       self._window())

    def _emit(self, seg: Segment, retransmission: bool = False) -> None:
        if retransmission:
            seg = seg.replace(retransmission=True)
        self._out.segments.append(seg)
        if Flags.ACK in seg.flags and Flags.RST not in seg.flags:
            self._ack_sent(seg)

    # ------------------------------------------------------------------ the table
    def _fire(self, event: Event, seg: Segment | None = None) -> Transition:
        """Apply the table row for ``event`` in the current state, sending what it says."""
        row = lookup_by(self.state, event, self._conditions, self.passive, self.profile.name)
        old = self.state
        self.state = row.next
        self._out.transitions.append(row)
        if row.error and row.next is State.CLOSED:
            exc, code = _ERRORS[row.error]
            if old is State.CLOSE_WAIT and exc is ConnectionResetError:
                exc, code = BrokenPipeError, errno.EPIPE   # Linux tcp_reset(): EPIPE in CLOSE-WAIT
            self.error = (exc, code, row.error)
        if row.send:
            self._send_control(row, seg)
        if row.next is not old or event is Event.RCV_FIN:
            self._entered(old, row)
        return row

    def _send_control(self, row: Transition, seg: Segment | None) -> None:
        send = row.send
        if send in ("SYN", "SYN,ACK"):
            self.snd_nxt = seq_add(self.iss, 1)
            self._emit(self._seg(Flags.parse(send), self.iss))
            self._rtt_probe = (self.snd_nxt, self._now)
            self._arm_retransmit()
        elif send == "ACK":
            if row.event is Event.RCV_FIN and row.state in (State.ESTABLISHED, State.SYN_RECEIVED):
                self._schedule_ack(fin=True)   # Linux tcp_fin(): pingpong mode, so delayed
            else:
                self._send_ack_now()           # handshake ACK; FIN in FIN-WAIT-*/TIME-WAIT
        elif send == "FIN":
            self._fin_pending = True     # _transmit() sends it after any queued data
        elif send == "RST":
            if row.event in (Event.ABORT, Event.CLOSE_UNREAD, Event.KEEPALIVE_TIMEOUT):
                self._emit(self._seg(self.profile.abort_flags))   # <SEQ=SND.NXT>[<ACK=RCV.NXT>]
            else:
                rst = rst_for_closed(seg)   # <SEQ=SEG.ACK><CTL=RST> or <SEQ=0><ACK=...><CTL=RST,ACK>
                if rst is not None:
                    self._emit(rst.replace(window=0))
            if row.next is State.CLOSED:
                self.reset = True

    def _entered(self, old: State, row: Transition) -> None:
        """Timers and queues that follow a state change."""
        new = row.next
        if new is State.CLOSED:
            for name in list(self.timers):
                self._cancel_timer(name)
            self._sndq.clear()
            self._fin_pending = False
            if row.event is Event.RCV_RST:
                self.reset = True
        elif new is State.TIME_WAIT:
            for name in (RETRANSMIT, KEEPALIVE, DELAYED_ACK, FIN_WAIT_2, PERSIST):
                self._cancel_timer(name)
            self._set_timer(TIME_WAIT, self.profile.time_wait)
        elif new is State.LISTEN:
            for name in list(self.timers):
                self._cancel_timer(name)
            self.irs = None
            self.snd_una = self.snd_nxt = self.iss
        elif new is State.ESTABLISHED:
            self._arm_keepalive()
        elif new is State.FIN_WAIT_2:
            self._arm_fin_wait_2()

    # ------------------------------------------------------------------ user calls
    def open_passive(self, now: float) -> Output:
        """passive OPEN (listen): CLOSED -> LISTEN."""
        self._begin(now)
        self._require(State.CLOSED, "listen")
        self._fire(Event.PASSIVE_OPEN)
        return self._end()

    def open_active(self, now: float) -> Output:
        """active OPEN (connect): CLOSED -> SYN-SENT, sending <SEQ=ISS><CTL=SYN>."""
        self._begin(now)
        if self.state is not State.CLOSED:
            raise OSError(errno.EISCONN, f"Transport endpoint is already connected (state {self.state})")
        self._fire(Event.ACTIVE_OPEN)
        return self._end()

    def send(self, data: bytes, now: float) -> Output:
        """SEND: queue ``data``; it goes out as the window allows (MSS-sized segments)."""
        self._begin(now)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"a bytes-like object is required, not {type(data).__name__!r}")
        self.raise_pending_error()
        if self.wr_shut or self._fin_pending or self._fin_seq is not None:
            why = "the connection was reset" if self.reset else "sending was shut down"
            raise BrokenPipeError(errno.EPIPE, f"Broken pipe: {why} (state {self.state})")
        st = self.state
        if st is State.LISTEN:
            self._fire(Event.SEND)           # Figure 5: LISTEN --SEND / snd SYN--> SYN-SENT
        elif st is State.CLOSED:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe: the connection is CLOSED")
        elif st not in (State.SYN_SENT, State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT):
            raise BrokenPipeError(errno.EPIPE, f"Broken pipe: connection closing (state {st})")
        if data:
            self._sndq += data
            self._note_data_sent()
        return self._end()

    def receive(self, now: float, bufsize: int | None = None) -> Output:
        """RECEIVE: take up to ``bufsize`` in-order bytes (all when None) into ``Output.data``.

        ``b""`` means end of stream (the peer's FIN arrived, or reading was shut
        down); with nothing to read yet, BlockingIOError, as a non-blocking socket.
        """
        self._begin(now)
        if self._rcvq:                       # Linux: queued data is still read after SHUT_RD
            n = len(self._rcvq) if bufsize is None else bufsize
            before = self._window()
            self._out.data = bytes(self._rcvq[:n])
            del self._rcvq[:n]
            if self.state.synchronized and self._window_update_due(before):
                self._send_ack_now()
            return self._end()
        if self.peer_fin:
            # the peer's FIN was read: EOF, even if a RST came after it (Linux
            # tcp_recvmsg_locked() tests SOCK_DONE before sk_err); send() reports the error
            return self._end()
        self.raise_pending_error()
        if self.rd_shut or self.state is State.CLOSED:
            return self._end()
        if self.state in (State.LISTEN, State.SYN_SENT) and not self.irs:
            raise OSError(errno.ENOTCONN, f"Transport endpoint is not connected (state {self.state})")
        raise BlockingIOError(errno.EAGAIN, f"no data to read yet (state {self.state})")

    def _window_update_due(self, before: int) -> bool:
        """Whether a read opened the window enough to say so at once.

        linux (tcp_cleanup_rbuf()): the window on offer is at most half the maximum
        and the read at least doubles it, and the peer has not sent FIN.  rfc
        (§3.8.6.2.2, receiver SWS avoidance): the window grows past one MSS.
        """
        if self.profile.delayed_ack is None:
            return before < self.mss <= self._window()
        on_offer = max(seq_diff(self._adv_right, self.rcv_nxt), 0)
        return not self.peer_fin and 2 * on_offer <= self.rcv_wnd \
            and self._window() >= 2 * on_offer

    def shutdown(self, how: int, now: float) -> Output:
        """shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR).  SHUT_WR is the RFC's CLOSE: a FIN
        after the queued data; SHUT_RD puts nothing on the wire."""
        self._begin(now)
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise ValueError(f"shutdown how must be SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2), got {how!r}")
        if self.state is State.CLOSED and not self.error:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected (state CLOSED)")
        if self.state is State.LISTEN:
            # Linux inet_shutdown(): a listener stops listening on SHUT_RD; SHUT_WR does nothing
            if how in (SHUT_RD, SHUT_RDWR):
                self._fire(Event.CLOSE)
            return self._end()
        if how in (SHUT_RD, SHUT_RDWR):
            self.rd_shut = True
        if how in (SHUT_WR, SHUT_RDWR) and self.state is not State.CLOSED:
            self.wr_shut = True
            self._fire(Event.CLOSE)
        return self._end()

    def close(self, now: float) -> Output:
        """close(): the application lets go of the socket.

        With unread received data this is an RST (RFC 9293 §3.6 SHLD-2; Linux
        tcp_close()); otherwise the RFC's CLOSE (a FIN after queued data).
        """
        self._begin(now)
        st = self.state
        self.orphan = True
        self.rd_shut = True
        if self._rcvq and st in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2,
                                 State.CLOSE_WAIT):
            self._rcvq.clear()
            self._fire(Event.CLOSE_UNREAD)
        elif st in (State.LISTEN, State.SYN_SENT):
            self._fire(Event.CLOSE)
        elif not self.wr_shut and st in (State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT):
            self.wr_shut = True
            self._fire(Event.CLOSE)
        elif st is State.FIN_WAIT_2:
            self._arm_fin_wait_2()
        self.wr_shut = True
        return self._end()

    def abort(self, now: float) -> Output:
        """ABORT (close() with SO_LINGER {1, 0}): RST where the table says so, then CLOSED."""
        self._begin(now)
        self.orphan = self.rd_shut = self.wr_shut = True
        self._rcvq.clear()
        if self.state is not State.CLOSED:
            self._fire(Event.ABORT)
        return self._end()

    def set_keepalive(self, enabled: bool, now: float, idle: float | None = None,
                      interval: float | None = None, probes: int | None = None) -> Output:
        """SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT."""
        self._begin(now)
        for name, value in (("idle", idle), ("interval", interval)):
            if value is not None and not value > 0:
                raise ValueError(f"keepalive {name} must be > 0 seconds, got {value!r}")
        if probes is not None and (not isinstance(probes, int) or probes < 1):
            raise ValueError(f"keepalive probes must be an integer >= 1, got {probes!r}")
        self.keepalive = bool(enabled)
        self.keepalive_idle = idle or self.keepalive_idle
        self.keepalive_interval = interval or self.keepalive_interval
        self.keepalive_probes = probes or self.keepalive_probes
        self._last_rcv = now
        if self.keepalive:
            self._arm_keepalive()
        else:
            self._cancel_timer(KEEPALIVE)
        return self._end()

    def _require(self, state: State, call: str) -> None:
        if self.state is not state:
            raise OSError(errno.EINVAL, f"{call}() needs state {state}, not {self.state}")

    def raise_pending_error(self) -> None:
        """Raise the error the connection holds for the application (a reset, a refusal,
        a timeout), once, as the next call would (SO_ERROR); nothing if there is none."""
        if self.error is not None:
            exc, code, text = self.error
            self.error = None
            self.wr_shut = True
            raise exc(code, f"{os.strerror(code)} ({text}; state {self.state})")

    # ------------------------------------------------------------------ timers
    def move_timer(self, name: str, deadline: float) -> float:
        """The I/O layer's clock will fire timer ``name`` at ``deadline`` rather than when it
        was set for (a kernel's timer wheel rounds it): the timer is moved there (not into
        the past); returns the deadline now in force."""
        if name not in self.timers:
            raise ValueError(f"no timer {name!r} is set (set: {sorted(self.timers)})")
        self.timers[name] = max(deadline, self._now)
        return self.timers[name]

    def timer_expired(self, name: str, now: float) -> Output:
        """The I/O layer's timer ``name`` went off at ``now``."""
        self._begin(now)
        if self.timers.get(name) is not None and self.timers[name] <= now:
            del self.timers[name]
            getattr(self, "_on_" + name.replace("-", "_"))()
        return self._end()

    def _on_time_wait(self) -> None:
        self._fire(Event.TIMEOUT_2MSL)

    def _on_fin_wait_2(self) -> None:
        if self.state is State.FIN_WAIT_2:
            self._fire(Event.TIMEOUT_FIN_WAIT_2)

    def _on_delayed_ack(self) -> None:
        if self._ack_pending:                # Linux tcp_delack_timer_handler()
            if self._pingpong:
                self._pingpong = False       # "delayed ACK missed: leave pingpong mode"
                self._ato = _ATO_MIN
            else:
                self._ato = min(self._ato * 2, self.rto)
            self._send_ack_now()

    def _on_keepalive(self) -> None:
        if not self.keepalive or self.state not in (State.ESTABLISHED, State.CLOSE_WAIT):
            return
        if self.in_flight or len(self._sndq) > 0:
            self._arm_keepalive()           # not idle: data is outstanding
            return
        idle = self._now - self._last_rcv
        if idle + 1e-9 < self.keepalive_idle and self._probes_out == 0:
            self._set_timer(KEEPALIVE, self.keepalive_idle - idle)
            return
        if self._probes_out >= self.keepalive_probes:
            self._fire(Event.KEEPALIVE_TIMEOUT)
            return
        # a probe repeats the last sequence number: <SEQ=SND.NXT-1><ACK=RCV.NXT>, no data
        self._emit(self._seg(Flags.ACK, seq_add(self.snd_nxt, -1)))
        self._probes_out += 1
        self._set_timer(KEEPALIVE, self.keepalive_interval)

    def _on_persist(self) -> None:
        if self.snd_wnd == 0 and self._unsent() and self.state.synchronized:
            self._emit(self._seg(Flags.ACK, seq_add(self.snd_una, -1)))
            self._set_timer(PERSIST, min(self.rto * 2, self.profile.rto_max))

    def _on_retransmit(self) -> None:
        st = self.state
        if not self.in_flight:
            return
        # Linux tcp_write_timeout(): in SYN-SENT the linear timeouts come on top of tcp_syn_retries
        limit = {State.SYN_SENT: self.profile.syn_retries + self.profile.syn_linear_retries,
                 State.SYN_RECEIVED: self.profile.synack_retries}.get(st, self.profile.data_retries)
        if self._retries >= limit:
            self._fire(Event.USER_TIMEOUT)
            return
        self._retries += 1
        self._rtt_probe = None               # Karn: no RTT sample from a retransmission
        if st is State.SYN_SENT and self._retries <= self.profile.syn_linear_retries:
            pass          # Linux tcp_retransmit_timer(): no backoff while total_rto <= linear timeouts
        else:
            self.rto = min(self.rto * 2, self.profile.rto_max)
        self._recover = self.snd_nxt
        self._retransmit_first()
        self._set_timer(RETRANSMIT, self.rto)

    def _retransmit_first(self) -> None:
        """Send again the earliest unacknowledged segment (RFC 6298 §5.4)."""
        if self.snd_una == self.iss:       # our SYN is unacknowledged (even after a CLOSE)
            flags = Flags.SYN if self.irs is None else Flags.SYN | Flags.ACK
            self._emit(self._seg(flags, self.iss), retransmission=True)
        else:
            start = seq_diff(self.snd_una, self._sndq_seq)
            sent_data = seq_diff(self._fin_seq if self._fin_seq is not None else self.snd_nxt,
                                 self._sndq_seq)
            chunk = bytes(self._sndq[start:min(sent_data, start + self.mss)])
            flags = Flags.ACK | (Flags.PSH if chunk and self.profile.push_flag else Flags(0))
            if self._fin_seq is not None and start + len(chunk) == sent_data:
                flags |= Flags.FIN
            if chunk or Flags.FIN in flags:
                self._emit(self._seg(flags, self.snd_una, chunk), retransmission=True)

    def _arm_retransmit(self) -> None:
        if RETRANSMIT not in self.timers:
            self._set_timer(RETRANSMIT, self.rto)

    def _arm_keepalive(self) -> None:
        if self.keepalive and self.state in (State.ESTABLISHED, State.CLOSE_WAIT):
            self._set_timer(KEEPALIVE, self.keepalive_idle if self._probes_out == 0
                            else self.keepalive_interval)

    def _arm_fin_wait_2(self) -> None:
        if self.orphan and self.profile.fin_wait_2_timeout is not None \
                and self.state is State.FIN_WAIT_2 and FIN_WAIT_2 not in self.timers:
            self._set_timer(FIN_WAIT_2, self.profile.fin_wait_2_timeout)

    # ------------------------------------------------------------------ output
    def _unsent(self) -> int:
        return len(self._sndq) - seq_diff(self.snd_nxt, self._sndq_seq) if self._fin_seq is None else 0

    def _transmit(self) -> None:
        """Send queued data the window allows, then a pending FIN (RFC 9293 §3.10.4)."""
        st = self.state
        if st not in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK) \
                or self._fin_seq is not None:
            return
        while True:
            unsent = self._unsent()
            usable = self.snd_wnd - self.in_flight
            n = min(unsent, self.mss, max(usable, 0))
            fin = self._fin_pending and unsent == n
            if n <= 0 and not fin:
                break
            start = seq_diff(self.snd_nxt, self._sndq_seq)
            chunk = bytes(self._sndq[start:start + n])
            flags = Flags.ACK
            if chunk and n == unsent and self.profile.push_flag:
                flags |= Flags.PSH
            if fin:
                flags |= Flags.FIN
            seg = self._seg(flags, self.snd_nxt, chunk)
            if self._rtt_probe is None:
                self._rtt_probe = (seg.end_seq, self._now)
            self.snd_nxt = seg.end_seq
            if fin:
                self._fin_seq = seq_add(self.snd_nxt, -1)
            self._emit(seg)
            self._arm_retransmit()
            if fin:
                break
        if self._unsent() and self.snd_wnd == 0 and not self.in_flight and PERSIST not in self.timers:
            self._set_timer(PERSIST, self.rto)

    def _note_data_sent(self) -> None:
        """Linux tcp_event_data_sent(): data sent within ATO of the last received data
        means request/response traffic, so ACKs are delayed to ride on replies.  Any such
        send counts, the first reply or a later one, even at the same instant as the
        arrival (``now - lrcvtime`` is 0 < ATO; net.ipv4.tcp_pingpong_thresh = 1)."""
        if (self.profile.delayed_ack is not None and self._lrcvtime is not None
                and self._now - self._lrcvtime < self._ato):
            self._pingpong = True

    # ------------------------------------------------------------------ acknowledgements
    def _schedule_ack(self, fin: bool = False) -> None:
        """Acknowledge received data or FIN: at once (rfc), or as Linux would."""
        if not fin and not self._data_unacked:
            return
        delack = self.profile.delayed_ack
        if delack is None:
            self._send_ack_now()
            return
        if fin:
            self._pingpong = True            # Linux tcp_fin(): inet_csk_enter_pingpong_mode()
        quick = self._quick > 0 and not self._pingpong
        # Linux __tcp_ack_snd_check(): "more than one full frame received" acks at once
        if quick or seq_diff(self.rcv_nxt, self._rcv_wup) > self._rcv_mss:
            self._send_ack_now()
            return
        self._ack_pending = True
        if DELAYED_ACK not in self.timers:
            self._set_timer(DELAYED_ACK, self._delack_timeout())

    def _delack_timeout(self) -> float:
        """Linux tcp_send_delayed_ack(): ATO bounded by the RTT, at least TCP_DELACK_MIN."""
        ato = self._ato
        if ato > _ATO_MIN:
            max_ato = 0.2 if self._pingpong else 0.5
            if self._srtt is not None:
                max_ato = min(max_ato, max(self._srtt, _ATO_MIN))
            ato = min(ato, max_ato)
        # ATO 0 (no data received yet) fires at the next timer tick: on a HZ=250 kernel
        # that is 0.1-4 ms later (measured median 2.3 ms); the model takes 2 ms
        return max(ato, _NEXT_TICK)

    def _send_ack_now(self) -> None:
        self._emit(self._seg(Flags.ACK))

    def _ack_sent(self, seg: Segment) -> None:
        """Any segment carrying ACK satisfies a pending delayed ACK."""
        self._rcv_wup = self.rcv_nxt
        if self._ack_pending:
            self._ack_pending = False
            self._cancel_timer(DELAYED_ACK)
        if self._data_unacked:
            self._data_unacked = False
            if self._quick:
                self._quick -= 1

    # ------------------------------------------------------------------ arriving segments
    def segment_arrives(self, seg: Segment, now: float) -> Output:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7) in the current state."""
        self._begin(now)
        st = self.state
        if st is State.CLOSED:
            return no_connection(seg, self.profile)
        if st is State.LISTEN:
            self._arrives_listen(seg)
        elif st is State.SYN_SENT:
            self._arrives_syn_sent(seg)
        else:
            self._arrives_synchronized(seg)
        return self._end()

    def _arrives_listen(self, seg: Segment) -> None:
        """RFC 9293 §3.10.7.2."""
        if Flags.RST in seg.flags:
            self._fire(Event.RCV_RST)
        elif Flags.ACK in seg.flags:
            self._fire(Event.RCV_SEGMENT, seg)          # <SEQ=SEG.ACK><CTL=RST>
        elif Flags.SYN in seg.flags:
            self.passive = True
            self._take_syn(seg)
            self._fire(Event.RCV_SYN)                   # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>

    def _take_syn(self, seg: Segment) -> None:
        self.irs = seg.seq
        self.rcv_nxt = self._rcv_wup = seq_add(seg.seq, 1)
        self.snd_wnd = seg.window
        self._snd_wl1, self._snd_wl2 = seg.seq, seg.ack
        self._last_rcv = self._now

    def _arrives_syn_sent(self, seg: Segment) -> None:
        """RFC 9293 §3.10.7.3."""
        f = seg.flags
        if Flags.ACK in f and not (seq_lt(self.iss, seg.ack) and seq_le(seg.ack, self.snd_nxt)):
            if Flags.RST not in f:
                self._fire(Event.RCV_BAD_ACK, seg)      # <SEQ=SEG.ACK><CTL=RST>
            return
        if Flags.RST in f:
            if Flags.ACK in f:
                self._fire(Event.RCV_RST)               # "error: connection reset" (refused)
            return
        if Flags.SYN not in f:
            return
        self._take_syn(seg)
        if Flags.ACK in f:
            self._ack_advance(seg)
            self._fire(Event.RCV_SYN_ACK)               # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        else:
            self._fire(Event.RCV_SYN)                   # simultaneous open: SYN,ACK, SYN-RECEIVED

    def _arrives_synchronized(self, seg: Segment) -> None:
        """RFC 9293 §3.10.7.4, for SYN-RECEIVED and every later state."""
        f = seg.flags
        st = self.state
        self._last_rcv = self._now
        if st is State.SYN_RECEIVED and is_simultaneous_open_syn_ack(seg, self.rcv_nxt, self.snd_nxt):
            self._ack_advance(seg)
            self._fire(Event.RCV_ACK_OF_SYN)
            if self.profile.ack_duplicate_syn:
                self._send_ack_now()   # Linux tcp_data_queue(): the SYN is a duplicate, ACK it
            return
        if st is State.TIME_WAIT and Flags.FIN in f and Flags.RST not in f \
                and seg.end_seq == self.rcv_nxt:
            self._fire(Event.RCV_FIN)                   # retransmitted FIN: ACK, restart 2MSL
            return
        # first: is the segment in the window?
        if not segment_acceptable(seg, self.rcv_nxt, self._window()):
            if Flags.RST in f:
                return
            if st is State.SYN_RECEIVED and self.profile.dup_syn_gets_synack \
                    and (f & (Flags.SYN | Flags.ACK)) == Flags.SYN and seg.seq == self.irs:
                self._emit(self._seg(Flags.SYN | Flags.ACK, self.iss), retransmission=True)
            else:
                self._send_ack_now()
            return
        # second: RST (RFC 5961 §3.2: only an exact RCV.NXT match resets)
        if Flags.RST in f:
            if seg.seq == self.rcv_nxt:
                self._fire(Event.RCV_RST)
            else:
                self._send_ack_now()                    # challenge ACK
            return
        # fourth: SYN in the window
        if Flags.SYN in f:
            if st is State.SYN_RECEIVED and self.passive:
                self._fire(Event.RCV_SYN)               # §3.10.7.4: back to LISTEN
            else:
                self._send_ack_now()                    # RFC 5961 §4.2 challenge ACK
            return
        # fifth: ACK
        if Flags.ACK not in f:
            return
        if st is State.SYN_RECEIVED:
            if not acceptable_ack(self.snd_una, seg.ack, self.snd_nxt):
                self._fire(Event.RCV_BAD_ACK, seg)      # <SEQ=SEG.ACK><CTL=RST>
                return
            self._ack_advance(seg)
            self._fire(Event.RCV_ACK_OF_SYN)
            st = self.state
        elif st is not State.TIME_WAIT:
            if seq_lt(self.snd_nxt, seg.ack):
                self._send_ack_now()                    # acknowledges something not yet sent
                return
            self._ack_advance(seg)
        fin_in_order = Flags.FIN in f and seq_le(seg.seq, self.rcv_nxt)
        if self._fin_acked():
            if st is State.FIN_WAIT_1 and not fin_in_order:
                self._fire(Event.RCV_ACK_OF_FIN)
            elif st is State.CLOSING:
                self._fire(Event.RCV_ACK_OF_FIN)
            elif st is State.LAST_ACK:
                self._fire(Event.RCV_ACK_OF_FIN)
                return
        st = self.state
        if st not in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2):
            return       # TIME-WAIT, or text/FIN after the peer's FIN (CLOSE-WAIT ...): ignored
        # seventh: segment text
        if seg.payload:
            if self.rd_shut and st is not State.ESTABLISHED \
                    and seq_lt(self.rcv_nxt, seq_add(seg.seq, len(seg.payload))):
                self._fire(Event.RCV_DATA_AFTER_CLOSE, seg)   # new data after close(): RST
                return
        if seg.payload or Flags.FIN in f:
            if not self._take_data(seg):
                return                                    # out of order: queued, dup ACK sent
        # eighth: FIN
        if Flags.FIN in f and seq_add(seg.end_seq, -1) == self.rcv_nxt:
            self._take_fin()
        elif seg.payload:
            self._schedule_ack()

    def _fin_acked(self) -> bool:
        return self._fin_seq is not None and self.snd_una == seq_add(self._fin_seq, 1)

    def _take_fin(self) -> None:
        self.rcv_nxt = seq_add(self.rcv_nxt, 1)
        self.peer_fin = True
        if self.state is State.FIN_WAIT_1 and self._fin_acked():
            self._fire(Event.RCV_FIN_ACK_OF_FIN)
        else:
            self._fire(Event.RCV_FIN)

    def _take_data(self, seg: Segment) -> bool:
        """Accept in-order text, queue out-of-order text (RFC 9293 §3.10.7.4 seventh).

        Returns False when the segment was out of order (a duplicate ACK went out).
        """
        ahead = seq_diff(seg.seq, self.rcv_nxt)
        if ahead > 0:
            self._ooo[seg.seq] = seg
            self._send_ack_now()                         # RFC 5681 §4.2: out of order, ACK at once
            return False
        data = seg.payload[-ahead:] if ahead < 0 else seg.payload
        data = data[:self._window()]
        if len(seg.payload) >= self._rcv_mss:     # Linux tcp_measure_rcv_mss()
            self._rcv_mss = min(len(seg.payload), self.mss)
        if data:
            self._data_received()
            self._rcvq += data
            self.rcv_nxt = seq_add(self.rcv_nxt, len(data))
            self._data_unacked = True
        while self._ooo:
            nxt = next((s for s in self._ooo if seq_le(s, self.rcv_nxt)), None)
            if nxt is None:
                break
            queued = self._ooo.pop(nxt)
            skip = seq_diff(self.rcv_nxt, queued.seq)
            more = queued.payload[skip:]
            if more:
                self._rcvq += more
                self.rcv_nxt = seq_add(self.rcv_nxt, len(more))
            if Flags.FIN in queued.flags and seq_add(queued.end_seq, -1) == self.rcv_nxt:
                self._take_fin()
                return True
        return True

    def _data_received(self) -> None:
        """Linux tcp_event_data_recv(): the ATO estimate and quick-ACK credit."""
        if self.profile.delayed_ack is None:
            return
        now = self._now
        if self._ato == 0:
            self._quick = self.profile.quickacks
            self._ato = _ATO_MIN
        elif self._lrcvtime is not None:
            m = now - self._lrcvtime
            if m <= _ATO_MIN / 2:
                self._ato = self._ato / 2 + _ATO_MIN / 2
            elif m < self._ato:
                self._ato = min(self._ato / 2 + m, self.rto)
            elif m > self.rto:
                self._quick = self.profile.quickacks
        self._lrcvtime = now

    def _ack_advance(self, seg: Segment) -> None:
        """SND.UNA <- SEG.ACK when acceptable; window update; RTT sample; timers."""
        ack = seg.ack
        if acceptable_ack(self.snd_una, ack, self.snd_nxt):
            acked_data = min(max(seq_diff(ack, self._sndq_seq), 0), len(self._sndq))
            del self._sndq[:acked_data]
            self._sndq_seq = seq_add(self._sndq_seq, acked_data)
            self.snd_una = ack
            self._retries = 0
            if self._rtt_probe is not None and seq_le(self._rtt_probe[0], ack):
                self._rtt_sample(self._now - self._rtt_probe[1])
                self._rtt_probe = None
            self._cancel_timer(RETRANSMIT)
            if self.in_flight:
                self._set_timer(RETRANSMIT, self.rto)
                if self._recover is not None and seq_lt(ack, self._recover):
                    self._retransmit_first()             # partial ACK after a timeout
            else:
                self._recover = None
        # window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 test)
        if seq_lt(self._snd_wl1, seg.seq) or (self._snd_wl1 == seg.seq and seq_le(self._snd_wl2, ack)):
            self.snd_wnd = seg.window
            self._snd_wl1, self._snd_wl2 = seg.seq, ack
            if seg.window:
                self._cancel_timer(PERSIST)
        self._probes_out = 0
        if self.keepalive:
            self._arm_keepalive()

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 §2.2–2.3 (Linux keeps RTTVAR >= TCP_RTO_MIN, the same result here)."""
        if self._srtt is None:
            self._srtt, self._rttvar = r, r / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - r)
            self._srtt = 0.875 * self._srtt + 0.125 * r
        if self.profile.rto_min_bounds_rttvar:   # tcp_set_rto(): the floor bounds the variance term
            rto = self._srtt + max(4 * self._rttvar, self.profile.rto_min)
        else:                                # RFC 6298 §2.4: the floor bounds the RTO itself
            rto = max(self._srtt + max(4 * self._rttvar, 0.001), self.profile.rto_min)
        self.rto = min(rto, self.profile.rto_max)
