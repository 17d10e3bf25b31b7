"""Read captures (pcap, pcapng) into the same :class:`~tcpedu.Trace` the simulator makes.

Parsing is done by dpkt.  The host that sent the first SYN is named
"client", its peer "server"; if no SYN was captured the first sender is the
client.  Times are seconds since the first packet of the connection.
"""

from __future__ import annotations

import socket
import struct

from .segment import Flags, Segment
from .trace import Trace


class CaptureError(ValueError):
    """A capture file could not be read; the message names the file and the problem."""


_TCP_FLAGS = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10))


def _packets(path: str):
    """(timestamp, ip packet) for every IPv4/IPv6 packet in the file."""
    import dpkt  # imported here: `import tcpedu` stays light

    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror}") from None
    with f:
        try:
            magic = f.read(4)
            f.seek(0)
            reader = dpkt.pcapng.Reader(f) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)
            link = reader.datalink()
            decode = {   # link type -> link-layer class (None: the packet starts with IP)
                dpkt.pcap.DLT_EN10MB: dpkt.ethernet.Ethernet,      # VLAN tags handled by dpkt
                dpkt.pcap.DLT_LINUX_SLL: dpkt.sll.SLL,             # tcpdump -i any (v1)
                dpkt.pcap.DLT_LINUX_SLL2: dpkt.sll2.SLL2,          # tcpdump -i any (v2)
                dpkt.pcap.DLT_NULL: dpkt.loopback.Loopback,        # BSD loopback
                dpkt.pcap.DLT_LOOP: dpkt.loopback.Loopback,
                dpkt.pcap.DLT_RAW: None, 101: None, 14: None,      # raw IP (DLT 12, LINKTYPE 101)
                dpkt.pcap.DLT_IPV4: None, dpkt.pcap.DLT_IPV6: None,
            }
            if link not in decode:
                raise CaptureError(f"{path}: unsupported link type {link}")
            for ts, buf in reader:
                cls = decode[link]
                if cls is None:
                    ip = dpkt.ip.IP(buf) if buf[:1] and buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
                else:
                    ip = cls(buf).data
                if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                    yield float(ts), ip
        except CaptureError:
            raise
        except (dpkt.dpkt.Error, ValueError, struct.error, IndexError) as exc:
            raise CaptureError(f"{path}: not a readable pcap/pcapng file: {exc}") from None


def _addr(ip, raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def read_pcap(path: str, connection: int = 0) -> Trace:
    """The ``connection``-th TCP connection (in order of first packet) of a capture, as a Trace."""
    import dpkt

    conns: dict[frozenset, list] = {}
    for ts, ip in _packets(path):
        tcp = ip.data
        if not isinstance(tcp, dpkt.tcp.TCP):
            continue
        src, dst = (_addr(ip, ip.src), tcp.sport), (_addr(ip, ip.dst), tcp.dport)
        conns.setdefault(frozenset((src, dst)), []).append((ts, src, dst, tcp))
    if not conns:
        raise CaptureError(f"{path}: no TCP packets in this capture")
    keys = list(conns)
    if not 0 <= connection < len(keys):
        raise CaptureError(f"{path}: connection {connection} out of range: the capture holds "
                           f"{len(keys)} TCP connection(s), numbered from 0")
    packets = conns[keys[connection]]
    first_syn = next((p for p in packets if p[3].flags & 0x02 and not p[3].flags & 0x10), None)
    client = (first_syn or packets[0])[1]
    t0 = packets[0][0]
    segments = []
    for ts, src, _dst, tcp in packets:
        flags = Flags(0)
        for name, bit in _TCP_FLAGS:
            if tcp.flags & bit:
                flags |= Flags[name]
        sender, receiver = ("client", "server") if src == client else ("server", "client")
        segments.append(Segment(flags, tcp.seq, tcp.ack if tcp.flags & 0x10 else 0, bytes(tcp.data),
                                tcp.win, sport=tcp.sport, dport=tcp.dport, sender=sender,
                                receiver=receiver, time=ts - t0))
    isn = {s.sender: s.seq for s in segments if Flags.SYN in s.flags}
    return Trace(segments, [], "", isn, source=path)
