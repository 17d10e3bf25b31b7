"""Read captures (pcap, pcapng) into the same :class:`~tcpedu.Trace` the simulator makes.

Three ways in::

    tcpedu.capture.list_connections("lab.pcap")      # what is in the file
    tcpedu.capture.read_pcap("lab.pcap", 1)          # connection #1 as a Trace
    for key, seg in tcpedu.capture.iter_segments("big.pcap"): ...   # flat memory

Formats: pcap (either byte order, microsecond or nanosecond timestamps)
and pcapng (several interfaces, each with its own link type and timestamp
resolution).  Link types:
Ethernet (802.1Q VLAN tags and QinQ included), Linux cooked v1 and v2
(``tcpdump -i any``), raw IP (DLT 12 and 14, LINKTYPE_RAW 101, 228 IPv4,
229 IPv6) and BSD loopback (DLT_NULL 0 and DLT_LOOP 108, the family field in
either byte order); IPv4 and IPv6.  dpkt decodes every header and block.

Connections and sides:

- Connections are numbered from 0 in order of their first packet.  A SYN
  without ACK on a 4-tuple already seen starts a new connection when the
  one there has closed (FIN from both sides, or an RST) or never showed a
  SYN (the capture began in its middle), unless it repeats that side's ISN
  (a retransmitted SYN).
- "client" is the host that sent the first SYN (without ACK), "server" its
  peer.  When the first packet captured is a SYN,ACK its sender is the
  server; when it has no SYN at all, its sender is named "client".
  ``Trace.isn`` holds the ISN of each side whose SYN (or SYN,ACK) was
  captured; ``Trace.relative()`` leaves the numbers of the other side
  absolute.
- Times are seconds since the connection's first packet
  (:attr:`ConnectionKey.start` and :attr:`ConnectionInfo.start` give that
  packet's absolute time, seconds since the epoch).

What is kept of each packet: flags (FIN SYN RST PSH ACK; URG, ECE and CWR
are not kept), seq, ack (0 without ACK, as the simulator does), the window
as sent (not scaled), sport/dport and the payload.  When the capture's
snaplen cut a payload short, the segment keeps its length on the wire (the
bytes not captured are zeros) and its ``note`` says so, so that sequence
numbers still add up.  Packets that are not TCP, IP fragments after the
first and frames dpkt cannot decode are skipped.

Bad input raises :class:`CaptureError` (a ValueError) naming the file and
the problem.  A file that ends inside a record (a capture copied while
tcpdump was still writing, a cut download) is an error too, not silently
shortened: the message says which record is cut and that the records
before it are intact (``tcpdump -r cut.pcap -w whole.pcap`` keeps those).
"""

from __future__ import annotations

import functools
import operator
import os
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .infer import infer_states
from .segment import Flags, Segment
from .trace import Trace

__all__ = [
    "CaptureError", "ConnectionKey", "ConnectionInfo", "iter_segments", "list_connections",
    "read_pcap",
]


class CaptureError(ValueError):
    """A capture file could not be read; the message names the file and the problem."""


class ConnectionKey(NamedTuple):
    """Which connection a segment of :func:`iter_segments` belongs to (one object per connection)."""

    index: int                   # 0, 1, ... in order of first packet: read_pcap(path, index)
    client: tuple[str, int]      # (address, port)
    server: tuple[str, int]
    start: float                 # time of the connection's first packet, seconds since the epoch


@dataclass(frozen=True)
class ConnectionInfo:
    """One TCP connection of a capture, as :func:`list_connections` reports it."""

    index: int
    client: tuple[str, int]
    server: tuple[str, int]
    packets: int
    handshake_seen: bool         # the SYN and the SYN,ACK were captured
    close_seen: bool             # a FIN from both sides, or an RST, was captured
    start: float                 # time of the first packet, seconds since the epoch

    def __str__(self) -> str:
        marks = [m for m, seen in (("handshake", self.handshake_seen), ("close", self.close_seen))
                 if seen]
        return (f"#{self.index} {_endpoint(self.client)} > {_endpoint(self.server)}: "
                f"{self.packets} packets, {' and '.join(marks) or 'no handshake, no close'} seen")


def _endpoint(end: tuple[str, int]) -> str:
    ip, port = end
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


MAX_RECORD = 262_144          # the largest packet libpcap and Wireshark write (bytes)
MAX_BLOCK = 16 * 2**20        # the largest pcapng block Wireshark reads
LINGER_NS = 240 * 10**9       # 2 MSL (RFC 9293: MSL is 2 minutes): nothing of a closed
#                               connection can arrive later than this after its last packet
_SWEEP_NS = 10**9             # look for connections to forget once per second of capture time

_FLAGS = tuple(Flags(bits) for bits in range(32))        # TCP flag bits -> Flags, prebuilt
_SYN, _ACK, _FIN, _RST = 0x02, 0x10, 0x01, 0x04

_SUPPORTED = ("Ethernet 1, Linux cooked 113 and 276, raw IP 12, 14, 101, 228 and 229, "
              "loopback 0 and 108")


# ------------------------------------------------------------------ link layers
@functools.cache
def _decoders() -> dict[int, Callable]:
    """Link type -> function(frame bytes) returning the decoded IP packet (dpkt objects)."""
    import dpkt  # imported here: `import tcpedu` stays light

    ip4, ip6 = dpkt.ip.IP, dpkt.ip6.IP6
    ethernet, sll, sll2 = dpkt.ethernet.Ethernet, dpkt.sll.SLL, dpkt.sll2.SLL2
    loopback = dpkt.loopback.Loopback        # family 2 / 24 / 28 / 30 in either byte order
    ip_v4, ip_v6 = b"\x08\x00", b"\x86\xdd"

    def from_ethernet(frame):
        # Fast path for the common untagged frames: the IP packet after the 14-byte header.
        # Anything else (VLAN tags, QinQ, MPLS, ...) goes through dpkt's Ethernet.
        kind = frame[12:14]
        if kind == ip_v4:
            return ip4(frame[14:])
        if kind == ip_v6:
            return ip6(frame[14:])
        return ethernet(frame).data

    def raw(frame):
        return ip6(frame) if frame[0] >> 4 == 6 else ip4(frame)

    return {
        1: from_ethernet,
        113: lambda frame: sll(frame).data,     # tcpdump -i any (v1)
        276: lambda frame: sll2(frame).data,    # tcpdump -i any (v2)
        0: lambda frame: loopback(frame).data,  # DLT_NULL: family in the writer's byte order
        108: lambda frame: loopback(frame).data,  # DLT_LOOP: family in network byte order
        12: raw, 14: raw, 101: raw,             # DLT_RAW (12; 14 on OpenBSD), LINKTYPE_RAW
        228: ip4, 229: ip6,
    }


@functools.cache
def _decode_errors() -> tuple[type[Exception], ...]:
    """What dpkt raises on a frame it cannot decode (such a frame is skipped)."""
    import dpkt

    return (dpkt.Error, struct.error, IndexError, KeyError, ValueError, TypeError, AttributeError)


# ------------------------------------------------------------------ containers
class _Stats:
    """Counts kept while a file is read, for the error messages."""

    __slots__ = ("records", "unsupported")

    def __init__(self):
        self.records = 0
        self.unsupported: set[int] = set()


def _frames(path, stats: _Stats) -> Iterator[tuple[int, Callable | None, bytes]]:
    """(time in ns since the epoch, link decoder or None, frame) per packet record of a file."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror or exc}") from None
    with f:
        try:
            magic = f.read(4)
        except OSError as exc:       # a directory, for one
            raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if not magic:
            raise CaptureError(f"{path}: empty file (0 bytes), not a capture")
        if len(magic) < 4:
            import dpkt.pcap as pcap

            known = [m.to_bytes(4, "big") for m in pcap.MAGIC_TO_PKT_HDR] + [b"\x0a\x0d\x0d\x0a"]
            if not any(m.startswith(magic) for m in known):
                raise _not_a_capture(path, magic)
            raise CaptureError(f"{path}: truncated: the file ends after {len(magic)} bytes, inside "
                               "its file header")
        if magic == b"\x0a\x0d\x0d\x0a":
            yield from _pcapng_frames(f, magic, path, stats)
        else:
            yield from _pcap_frames(f, magic, path, stats)


def _not_a_capture(path, start: bytes) -> CaptureError:
    return CaptureError(f"{path}: not a pcap or pcapng file (it starts with {start[:4].hex(' ')}; "
                        "pcap starts with a1 b2 c3 d4 or d4 c3 b2 a1, pcapng with 0a 0d 0d 0a)")


def _pcap_frames(f, magic: bytes, path, stats: _Stats):
    import dpkt.pcap as pcap

    head = magic + f.read(20)
    if int.from_bytes(magic, "big") not in pcap.MAGIC_TO_PKT_HDR:
        raise _not_a_capture(path, head)
    if len(head) < 24:
        raise CaptureError(f"{path}: truncated: the 24-byte pcap file header ends after "
                           f"{len(head)} bytes")
    header = pcap.FileHdr(head)
    magic = header.magic                      # as read big-endian: says the byte order
    if magic in (pcap.PMUDPCT_MAGIC, pcap.PMUDPCT_MAGIC_NANO, pcap.PACPDOM_MAGIC):
        header = pcap.LEFileHdr(head)
    link = header.linktype & 0xFFFF           # the upper bits may carry FCS information
    decode = _decoders().get(link)
    if decode is None:
        raise CaptureError(f"{path}: unsupported link type {link} (tcpedu reads {_SUPPORTED})")
    record = pcap.MAGIC_TO_PKT_HDR[magic]
    to_ns = 1 if magic in (pcap.TCPDUMP_MAGIC_NANO, pcap.PMUDPCT_MAGIC_NANO) else 1000
    # Record headers are unpacked with dpkt's own layout for them (PktHdr.__hdr_fmt__, in the
    # file's byte order), without building a dpkt object per record.
    unpack, size = struct.Struct(record.__hdr_fmt__).unpack_from, record.__hdr_len__
    read = f.read
    offset, number = 24, 0
    while True:
        head = read(size)
        if len(head) < size:
            if not head:
                stats.records = number
                return
            raise _cut(path, number, offset, f"its {size}-byte record header ends after "
                                             f"{len(head)} bytes")
        sec, frac, caplen = unpack(head)[:3]
        if caplen > MAX_RECORD:
            raise CaptureError(f"{path}: record {number + 1} (byte {offset}) claims {caplen} bytes, "
                               f"more than the {MAX_RECORD} any capture tool writes: the file is "
                               "corrupt")
        frame = read(caplen)
        if len(frame) < caplen:
            raise _cut(path, number, offset, f"it should hold {caplen} bytes of packet, the file "
                                             f"ends after {len(frame)}")
        number += 1
        offset += size + caplen
        yield sec * 1_000_000_000 + frac * to_ns, decode, frame


def _cut(path, before: int, offset: int, detail: str) -> CaptureError:
    return CaptureError(f"{path}: truncated: record {before + 1} (byte {offset}) is cut off: "
                        f"{detail}; the {before} record(s) before it are intact")


_BOM_LE, _BOM_BE = b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"


class _Interface(NamedTuple):
    decode: Callable | None
    link: int
    mul: int                  # ns = ticks * mul // div + offset
    div: int
    offset: int


def _interface(idb, le: bool) -> _Interface:
    """Link decoder and timestamp scale of a pcapng Interface Description Block."""
    import dpkt.pcapng as ng

    mul, div, offset = 1000, 1, 0             # default resolution: microseconds
    for opt in idb.opts:
        if opt.code == ng.PCAPNG_OPT_IF_TSRESOL and opt.data:
            exp = opt.data[0] & 0x7F
            if opt.data[0] & 0x80:            # a negative power of 2
                mul, div = 10**9, 2**exp
            elif exp <= 9:                    # a negative power of 10
                mul, div = 10 ** (9 - exp), 1
            else:
                mul, div = 1, 10 ** (exp - 9)
        elif opt.code == ng.PCAPNG_OPT_IF_TSOFFSET and len(opt.data) >= 8:
            offset = struct.unpack("<q" if le else ">q", opt.data[:8])[0] * 10**9
    return _Interface(_decoders().get(idb.linktype), idb.linktype, mul, div, offset)


def _pcapng_frames(f, magic: bytes, path, stats: _Stats):
    import dpkt
    import dpkt.pcapng as ng

    read = f.read
    le = True
    interfaces: list[_Interface] = []
    offset, number, head = 0, 0, magic
    while True:
        head += read(8 - len(head))
        if len(head) < 8:
            if not head:
                stats.records = number
                return
            raise CaptureError(f"{path}: truncated: the pcapng block at byte {offset} is cut off "
                               f"in its header; the {number} packet(s) before it are intact")
        if head[:4] == b"\x0a\x0d\x0d\x0a":   # Section Header Block: a new byte order
            bom = read(4)
            if bom not in (_BOM_LE, _BOM_BE):
                if offset == 0 and len(bom) == 4:
                    raise CaptureError(f"{path}: not a pcapng file (bad byte-order magic "
                                       f"{bom.hex(' ')})")
                raise CaptureError(f"{path}: truncated or corrupt section header at byte {offset}")
            le, head, interfaces = bom == _BOM_LE, head + bom, []
        btype, length = struct.unpack("<II" if le else ">II", head[:8])
        if length < 12 or length % 4 or length > MAX_BLOCK:
            raise CaptureError(f"{path}: corrupt pcapng block at byte {offset}: length {length}")
        body = read(length - len(head))
        if len(body) < length - len(head):
            raise CaptureError(f"{path}: truncated: the pcapng block at byte {offset} should hold "
                               f"{length} bytes, the file ends after {len(head) + len(body)}; "
                               f"the {number} packet(s) before it are intact")
        block = head + body
        try:
            if btype == ng.PCAPNG_BT_SHB:
                shb = (ng.SectionHeaderBlockLE if le else ng.SectionHeaderBlock)(block)
                if shb.v_major != ng.PCAPNG_VERSION_MAJOR:
                    raise CaptureError(f"{path}: pcapng version {shb.v_major}.{shb.v_minor} "
                                       "is not supported (1.x is)")
            elif btype == ng.PCAPNG_BT_IDB:
                idb = (ng.InterfaceDescriptionBlockLE if le else ng.InterfaceDescriptionBlock)(block)
                interfaces.append(_interface(idb, le))
            elif btype in (ng.PCAPNG_BT_EPB, ng.PCAPNG_BT_PB):
                if btype == ng.PCAPNG_BT_EPB:
                    pkt = (ng.EnhancedPacketBlockLE if le else ng.EnhancedPacketBlock)(block)
                else:
                    pkt = (ng.PacketBlockLE if le else ng.PacketBlock)(block)
                if pkt.iface_id >= len(interfaces) or len(pkt.pkt_data) != pkt.caplen:
                    raise CaptureError(f"{path}: corrupt packet block at byte {offset} (interface "
                                       f"{pkt.iface_id} of {len(interfaces)}, {pkt.caplen} bytes)")
                iface = interfaces[pkt.iface_id]
                if iface.decode is None:
                    stats.unsupported.add(iface.link)
                number += 1
                ns = (((pkt.ts_high << 32) | pkt.ts_low) * iface.mul // iface.div + iface.offset)
                yield ns, iface.decode, pkt.pkt_data
            # other blocks (statistics, name resolution, simple packets without a time...) skipped
        except (dpkt.Error, struct.error, ValueError, IndexError) as exc:
            if isinstance(exc, CaptureError):
                raise
            raise CaptureError(f"{path}: corrupt pcapng block at byte {offset} (type {btype:#x}): "
                               f"{exc or type(exc).__name__}") from None
        offset += length
        head = b""


# ------------------------------------------------------------------ connections
class _Connection:
    """What the reader tracks about one connection (one per connection, not per packet)."""

    __slots__ = ("key", "index", "cip", "cport", "t0", "last", "packets", "fwd", "rev",
                 "isn_client", "isn_server", "syn", "synack", "fin_client", "fin_server", "rst",
                 "closed")

    def __init__(self, index, cip, cport, sip, sport, t0):
        self.index, self.cip, self.cport, self.t0, self.last = index, cip, cport, t0, t0
        self.key = ConnectionKey(index, (_ntop(cip), cport), (_ntop(sip), sport), t0 / 1e9)
        self.fwd, self.rev = (cip, cport, sip, sport), (sip, sport, cip, cport)
        self.packets = 0
        self.isn_client = self.isn_server = None
        self.syn = self.synack = self.fin_client = self.fin_server = self.rst = self.closed = False

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(self.index, self.key.client, self.key.server, self.packets,
                              self.syn and self.synack, self.closed, self.key.start)


def _ntop(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def _scan(path) -> Iterator[tuple[_Connection, Segment]]:
    """(connection, segment) for every TCP segment of the file, in file order."""
    import dpkt

    tcp_type, ip4_type = dpkt.tcp.TCP, dpkt.ip.IP
    errors = _decode_errors()
    flags_of = _FLAGS
    stats = _Stats()
    table: dict[tuple, _Connection] = {}      # 4-tuple (either direction) -> its connection
    closing: deque = deque()                  # (when to forget, closed connection)
    count = sweep_at = 0
    for ns, decode, frame in _frames(path, stats):
        if decode is None:
            continue
        try:
            ip = decode(frame)
            tcp = ip.data
        except errors:
            continue
        if type(tcp) is not tcp_type:
            continue
        if ns >= sweep_at:
            sweep_at = ns + _SWEEP_NS
            if closing:
                _forget(table, closing, ns)
        src, dst, sport, dport = ip.src, ip.dst, tcp.sport, tcp.dport
        bits, seq = tcp.flags & 0x1F, tcp.seq
        conn = table.get((src, sport, dst, dport))
        if conn is not None and bits & (_SYN | _ACK) == _SYN and (conn.closed or not conn.syn):
            # a new SYN where the old connection closed or was caught in its middle
            isn = conn.isn_client if (sport == conn.cport and src == conn.cip) else conn.isn_server
            if isn != seq:
                conn = None
        if conn is None:
            if bits & (_SYN | _ACK) == _SYN | _ACK:        # a SYN,ACK comes from the server
                conn = _Connection(count, dst, dport, src, sport, ns)
            else:
                conn = _Connection(count, src, sport, dst, dport, ns)
            count += 1
            table[conn.fwd] = table[conn.rev] = conn
        from_client = sport == conn.cport and src == conn.cip
        if bits & (_SYN | _FIN | _RST):
            if bits & _SYN:
                conn.syn = True
                if bits & _ACK:
                    conn.synack = True
                if from_client:
                    if conn.isn_client is None:
                        conn.isn_client = seq
                elif conn.isn_server is None:
                    conn.isn_server = seq
            if bits & _FIN:
                if from_client:
                    conn.fin_client = True
                else:
                    conn.fin_server = True
            if bits & _RST:
                conn.rst = True
            if not conn.closed and (conn.rst or (conn.fin_client and conn.fin_server)):
                conn.closed = True
                closing.append((ns + LINGER_NS, conn))
        conn.packets += 1
        conn.last = ns
        payload = tcp.data
        if type(ip) is ip4_type:
            wire = ip.len - (ip.hl << 2) if ip.len else 0
        else:
            wire = ip.plen - sum(h.length for h in ip.all_extension_headers) if ip.plen else 0
        missing = wire - (tcp.off << 2) - len(payload)
        sender = "client" if from_client else "server"
        # a socket connected to itself (self-connect) sends to itself: one endpoint
        receiver = sender if (src, sport) == (dst, dport) else \
            ("server" if from_client else "client")
        segment = Segment(flags_of[bits], seq, tcp.ack if bits & _ACK else 0, payload, tcp.win,
                          sport, dport, sender, receiver, (ns - conn.t0) / 1e9)
        if missing > 0:
            segment.note = (f"snaplen: {len(payload)} of {len(payload) + missing} payload bytes "
                            "captured (the rest are zeros here)")
            segment.payload = payload + bytes(min(missing, 65535))
        yield conn, segment
    if not count:
        if stats.unsupported:
            links = ", ".join(str(n) for n in sorted(stats.unsupported))
            raise CaptureError(f"{path}: unsupported link type {links} (tcpedu reads {_SUPPORTED})")
        what = "holds no packets" if not stats.records else \
            f"holds no TCP packets ({stats.records} packets, none of them TCP)"
        raise CaptureError(f"{path}: the capture {what}")


def _forget(table: dict, closing: deque, now: int) -> None:
    """Drop closed connections silent for 2 MSL, so memory follows open connections, not the file."""
    while closing and closing[0][0] <= now:
        _, conn = closing.popleft()
        if conn.last + LINGER_NS > now:                 # still heard from after it closed
            closing.append((conn.last + LINGER_NS, conn))
        elif table.get(conn.fwd) is conn:
            del table[conn.fwd]
            table.pop(conn.rev, None)


# ------------------------------------------------------------------ public API
def iter_segments(path: str | os.PathLike) -> Iterator[tuple[ConnectionKey, Segment]]:
    """(connection key, segment) for each TCP segment of a capture, in file order.

    Memory stays flat however long the file is: nothing is kept per packet, and
    a connection is forgotten 2 MSL after its close.  Segments are as in
    :func:`read_pcap` (sender "client"/"server", time since the connection's
    first packet); ``key.index`` is the connection's number.
    """
    for conn, segment in _scan(path):
        yield conn.key, segment


def list_connections(path: str | os.PathLike) -> list[ConnectionInfo]:
    """The TCP connections of a capture, in order of their first packet."""
    conns = [conn for conn, _ in _scan(path) if conn.packets == 1]
    return [conn.info() for conn in conns]


def read_pcap(path: str | os.PathLike, connection: int = 0, profile: str | None = "linux") -> Trace:
    """Connection number ``connection`` (0 = the first to appear) of a pcap/pcapng file, as a Trace.

    The connection's segments in file order, sides named "client" (the host
    that sent the first SYN) and "server", times in seconds since its first
    packet; ``isn`` has an entry for each side whose SYN was captured.  Both
    endpoints' states are inferred by replaying the segments through the
    engine under ``profile`` (see :func:`tcpedu.infer.infer_states`, which also
    notes where the capture departs from the profile); ``profile=None`` skips that.
    """
    try:
        if isinstance(connection, bool):
            raise TypeError
        connection = operator.index(connection)
    except TypeError:
        raise CaptureError(f"{path}: connection must be an int (0 for the first connection), "
                           f"got {connection!r}") from None
    segments: list[Segment] = []
    found = None
    count = 0
    for conn, segment in _scan(path):
        if conn.packets == 1:
            count += 1
        if conn.index == connection:
            segments.append(segment)
            found = conn
    if found is None:
        raise CaptureError(f"{path}: connection {connection} out of range: the capture holds "
                           f"{count} TCP connection(s), numbered 0 to {count - 1}")
    isn = {side: n for side, n in (("client", found.isn_client), ("server", found.isn_server))
           if n is not None}
    trace = Trace(segments, [], "", isn, source=str(path))
    return trace if profile is None else infer_states(trace, profile)
