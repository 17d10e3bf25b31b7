"""Segments, control flags and sequence-number arithmetic (RFC 9293 §3.1, §3.4).

Sequence numbers live in a circle of 2**32 numbers: every comparison and
addition here is modulo 2**32, so an ISN just below the wrap works like any
other.  SYN and FIN each take one sequence number; ACK and RST take none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

__all__ = [
    "SEQ_SPACE", "seq_add", "seq_diff", "seq_lt", "seq_le", "check_seq", "Flags", "Segment",
]

SEQ_SPACE = 2**32
_MASK = SEQ_SPACE - 1
_HALF = 2**31


def seq_add(a: int, n: int) -> int:
    """``a + n`` in sequence space (mod 2**32)."""
    return (a + n) & _MASK


def seq_diff(a: int, b: int) -> int:
    """The signed distance ``a - b`` in sequence space, in -2**31 .. 2**31-1."""
    d = (a - b) & _MASK
    return d - SEQ_SPACE if d >= _HALF else d


def seq_lt(a: int, b: int) -> bool:
    """``a < b`` in sequence space (RFC 9293 §3.4: comparisons are modulo 2**32)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """``a <= b`` in sequence space."""
    return seq_diff(a, b) <= 0


def check_seq(value, what: str = "sequence number") -> int:
    """Return ``value`` if it is a valid 32-bit sequence number, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEQ_SPACE:
        raise ValueError(f"{what} must be an integer in 0..2**32-1 (0..4294967295), got {value!r}")
    return value


class Flags(enum.Flag):
    """TCP control bits, combinable: ``Flags.SYN | Flags.ACK``.

    ``str()`` gives the textbook spelling (``"SYN,ACK"``); :meth:`tcpdump`
    gives tcpdump's letters (``"S."``).
    """

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10

    def __str__(self) -> str:
        if not self:
            return "none"
        order = (Flags.SYN, Flags.FIN, Flags.RST, Flags.PSH, Flags.ACK)
        return ",".join(f.name for f in order if f in self)

    def tcpdump(self) -> str:
        """Flags as tcpdump prints them: S F R P and '.' for ACK, e.g. ``S.``, ``F.``, ``R.``."""
        letters = "".join(ch for f, ch in ((Flags.SYN, "S"), (Flags.FIN, "F"), (Flags.RST, "R"),
                                           (Flags.PSH, "P"), (Flags.ACK, ".")) if f in self)
        return letters or "none"

    @classmethod
    def parse(cls, text: str) -> Flags:
        """``"SYN,ACK"`` or ``"S."`` → ``Flags.SYN | Flags.ACK``; ValueError names a bad letter."""
        text = text.strip()
        result = cls(0)
        if "," in text or text.upper() in cls.__members__:
            for name in text.split(","):
                name = name.strip().upper()
                if name not in cls.__members__:
                    raise ValueError(f"unknown TCP flag {name!r}; use SYN, ACK, FIN, RST, PSH")
                result |= cls[name]
            return result
        letters = {"S": cls.SYN, "F": cls.FIN, "R": cls.RST, "P": cls.PSH, ".": cls.ACK}
        for ch in text:
            if ch.upper() not in letters:
                raise ValueError(f"unknown tcpdump flag letter {ch!r} in {text!r}; use S F R P .")
            result |= letters[ch.upper()]
        return result


@dataclass(slots=True)
class Segment:
    """One TCP segment.

    The engine fills in the header fields (``flags``, ``seq``, ``ack``,
    ``payload``, ``window``); the simulator that carries it adds who sent it,
    when, and both endpoints' states (the sender's after sending, the
    receiver's after receiving).  ``ack`` is meaningful only when
    ``Flags.ACK`` is set (it is 0 otherwise, as on the wire).
    """

    flags: Flags
    seq: int
    ack: int = 0
    payload: bytes = b""
    window: int = 65535
    sport: int = 0
    dport: int = 0
    # Filled in by a trace:
    sender: str | None = None
    receiver: str | None = None
    time: float | None = None
    client_state: object = None
    server_state: object = None
    lost: bool = False
    retransmission: bool = False
    injected: bool = False       # put on the wire by hand (Simulation.inject), no call or timer
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def len(self) -> int:
        """Payload bytes (what tcpdump calls ``length``)."""
        return len(self.payload)

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293: payload bytes plus one for SYN and one for FIN."""
        bits = self.flags._value_                  # SYN = 2, FIN = 1: one number each
        return len(self.payload) + ((bits >> 1) & 1) + (bits & 1)

    @property
    def end_seq(self) -> int:
        """The sequence number just after this segment: SEG.SEQ + SEG.LEN (mod 2**32)."""
        return seq_add(self.seq, self.seg_len)

    def header(self) -> str:
        """The header in RFC 9293 figure notation, e.g. ``<SEQ=100><ACK=301><CTL=SYN,ACK>``."""
        text = f"<SEQ={self.seq}>"
        if Flags.ACK in self.flags:
            text += f"<ACK={self.ack}>"
        text += f"<CTL={self.flags}>"
        if self.payload:
            text += f"<DATA {len(self.payload)}>"
        return text

    def replace(self, **changes) -> Segment:
        """A copy with some fields changed."""
        return replace(self, **changes)
