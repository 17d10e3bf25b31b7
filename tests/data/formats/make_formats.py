"""Write the capture fixtures of tests/test_capture.py: one tiny capture per format tcpedu reads.

    python tests/data/formats/make_formats.py      # rewrites the files next to this script

Every file holds the same short TCP connection (handshake, "hello" from the
client, "goodbye" back, FIN/ACK close: ten segments; the client's ISN is
just below 2**32 so its numbers wrap), in a different container, byte
order, timestamp precision, link layer or IP version.  A few more files
hold situations rather than formats: a capture that starts at the SYN,ACK,
one that starts in the middle, several connections (one 4-tuple used
twice), and a payload cut by the snaplen.  All packets are built and all
files written with dpkt; the output is the same on any machine.
"""

from __future__ import annotations

import os
import socket
import sys
from decimal import Decimal

import dpkt
import dpkt.pcapng as ng

CLIENT4, SERVER4 = "192.0.2.10", "192.0.2.20"
CLIENT6, SERVER6 = "2001:db8::10", "2001:db8::20"
CPORT, SPORT = 40000, 80
CLIENT_ISN, SERVER_ISN = 2**32 - 3, 7000
START = Decimal("1700000000")                 # seconds since the epoch of the first packet
STEP = Decimal("0.010")                       # between packets
NANO_EXTRA = Decimal("0.000000123")           # added per packet in nanosecond files

F, S, R, P, A = dpkt.tcp.TH_FIN, dpkt.tcp.TH_SYN, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_ACK

# (sent by the client?, flags, seq relative to the sender's ISN, ack relative to the peer's, payload)
CONNECTION = [
    (True, S, 0, 0, b""),
    (False, S | A, 0, 1, b""),
    (True, A, 1, 1, b""),
    (True, P | A, 1, 1, b"hello"),
    (False, A, 1, 6, b""),
    (False, P | A, 1, 6, b"goodbye"),
    (True, A, 6, 8, b""),
    (True, F | A, 6, 8, b""),
    (False, F | A, 8, 7, b""),
    (True, A, 7, 9, b""),
]


def tcp_segment(from_client, flags, seq, ack, payload, cisn=CLIENT_ISN, sisn=SERVER_ISN,
                cport=CPORT, sport=SPORT):
    mine, theirs = (cisn, sisn) if from_client else (sisn, cisn)
    return dpkt.tcp.TCP(sport=cport if from_client else sport, dport=sport if from_client else cport,
                        seq=(mine + seq) % 2**32, ack=(theirs + ack) % 2**32 if flags & A else 0,
                        flags=flags, win=64240, data=payload)


def ip_packet(from_client, tcp, version=4, client=None, server=None):
    """An IPv4 or IPv6 packet (dpkt object, checksums filled in when it is packed)."""
    if version == 4:
        src, dst = client or CLIENT4, server or SERVER4
        if not from_client:
            src, dst = dst, src
        return dpkt.ip.IP(src=socket.inet_pton(socket.AF_INET, src),
                          dst=socket.inet_pton(socket.AF_INET, dst), p=6, ttl=64, data=tcp)
    src, dst = (CLIENT6, SERVER6) if from_client else (SERVER6, CLIENT6)
    return dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src),
                        dst=socket.inet_pton(socket.AF_INET6, dst), nxt=6, hlim=64,
                        plen=len(tcp), data=tcp)


def packets(version=4):
    """(from client?, IP packet) for the ten segments of the connection."""
    return [(c, ip_packet(c, tcp_segment(c, *rest), version)) for c, *rest in CONNECTION]


# ------------------------------------------------------------------ link layers
MAC = {True: b"\x02\x00\x00\x00\x00\x10", False: b"\x02\x00\x00\x00\x00\x20"}


def ethernet(from_client, ip, vlans=()):
    tags = [dpkt.ethernet.VLANtag8021Q(id=v) for v in vlans]
    eth = dpkt.ethernet.Ethernet(src=MAC[from_client], dst=MAC[not from_client], data=ip)
    if tags:
        eth.vlan_tags = tags
    return bytes(eth)


def sll(from_client, ip):
    kind = dpkt.ethernet.ETH_TYPE_IP if isinstance(ip, dpkt.ip.IP) else dpkt.ethernet.ETH_TYPE_IP6
    return bytes(dpkt.sll.SLL(type=4 if from_client else 0, hdr=MAC[from_client] + b"\0\0",
                              ethtype=kind, data=ip))


def sll2(from_client, ip):
    kind = dpkt.ethernet.ETH_TYPE_IP if isinstance(ip, dpkt.ip.IP) else dpkt.ethernet.ETH_TYPE_IP6
    return bytes(dpkt.sll2.SLL2(ethtype=kind, intindex=2, type=4 if from_client else 0,
                                hdr=MAC[from_client] + b"\0\0", data=ip))


class LoopbackLE(dpkt.loopback.Loopback):
    __byte_order__ = "<"


class LoopbackBE(dpkt.loopback.Loopback):
    __byte_order__ = ">"


def loopback(order, family):
    cls = LoopbackLE if order == "little" else LoopbackBE
    return lambda from_client, ip: bytes(cls(family=family)) + bytes(ip)


def raw(from_client, ip):
    return bytes(ip)


# ------------------------------------------------------------------ containers
def writer_class(module, order):
    """dpkt's pcap or pcapng Writer, writing ``order`` ("little"/"big") on any machine."""
    return type(f"{order.title()}Writer", (module.Writer,), {"_Writer__le": order == "little"})


def times(nano):
    return [START + i * STEP + (i * NANO_EXTRA if nano else 0) for i in range(len(CONNECTION))]


def write_pcap(path, frames, linktype, order="little", nano=False, snaplen=65535, stamps=None):
    with open(path, "wb") as f:
        w = writer_class(dpkt.pcap, order)(f, snaplen=snaplen, linktype=linktype, nano=nano)
        for ts, frame in zip(stamps or times(nano), frames, strict=True):
            w.writepkt_time(frame, ts)      # a Decimal keeps nanoseconds exact


def write_pcapng(path, frames, linktypes, order="little", nano=False, interface_of=None):
    le = order == "little"
    idb_cls = ng.InterfaceDescriptionBlockLE if le else ng.InterfaceDescriptionBlock
    opt_cls = ng.PcapngOptionLE if le else ng.PcapngOption
    epb_cls = ng.EnhancedPacketBlockLE if le else ng.EnhancedPacketBlock
    idbs = []
    for link in linktypes:
        opts = [opt_cls(code=ng.PCAPNG_OPT_IF_TSRESOL, data=b"\x09")] if nano else []
        opts.append(opt_cls(code=ng.PCAPNG_OPT_ENDOFOPT))
        idbs.append(idb_cls(linktype=link, snaplen=65535, opts=opts))
    with open(path, "wb") as f:
        w = writer_class(ng, order)(f, idb=idbs)
        for i, (ts, frame) in enumerate(zip(times(nano), frames, strict=True)):
            ticks = int(ts * (10**9 if nano else 10**6))
            w.writepkt(epb_cls(iface_id=interface_of(i) if interface_of else 0,
                               ts_high=ticks >> 32, ts_low=ticks & 0xFFFFFFFF, pkt_data=frame))


# ------------------------------------------------------------------ the files
def formats():
    """File name -> function(path) writing it."""
    v4, v6 = packets(4), packets(6)

    def frames(link, pkts=v4):
        return [link(c, ip) for c, ip in pkts]

    out = {}
    for order, tag in (("little", "le"), ("big", "be")):
        for nano, unit in ((False, "us"), (True, "ns")):
            out[f"pcap-{tag}-{unit}-ethernet-ipv4.pcap"] = (
                lambda p, o=order, n=nano: write_pcap(p, frames(ethernet), 1, o, n))
        out[f"pcapng-{tag}-ethernet-ipv4.pcapng"] = (
            lambda p, o=order: write_pcapng(p, frames(ethernet), [1], o))
    out["pcapng-le-ns-ethernet-ipv6.pcapng"] = (
        lambda p: write_pcapng(p, frames(ethernet, v6), [1], nano=True))
    # two interfaces with different link types: the client's packets on 0, the server's on 1
    out["pcapng-two-interfaces-ipv4.pcapng"] = lambda p: write_pcapng(
        p, [ethernet(c, ip) if c else sll(c, ip) for c, ip in v4], [1, 113],
        interface_of=lambda i: 0 if CONNECTION[i][0] else 1)
    out["pcap-ethernet-ipv6.pcap"] = lambda p: write_pcap(p, frames(ethernet, v6), 1)
    out["pcap-ethernet-vlan-ipv4.pcap"] = lambda p: write_pcap(
        p, [ethernet(c, ip, vlans=[100]) for c, ip in v4], 1)
    out["pcap-ethernet-qinq-ipv6.pcap"] = lambda p: write_pcap(
        p, [ethernet(c, ip, vlans=[10, 200]) for c, ip in v6], 1)
    for version, pkts in ((4, v4), (6, v6)):
        out[f"pcap-sll-ipv{version}.pcap"] = lambda p, k=pkts: write_pcap(p, frames(sll, k), 113)
        out[f"pcap-sll2-ipv{version}.pcap"] = lambda p, k=pkts: write_pcap(p, frames(sll2, k), 276)
    for link in (12, 14, 101):
        out[f"pcap-raw{link}-ipv4.pcap"] = lambda p, k=link: write_pcap(p, frames(raw), k)
    out["pcap-raw101-ipv6.pcap"] = lambda p: write_pcap(p, frames(raw, v6), 101)
    out["pcap-ipv4-228.pcap"] = lambda p: write_pcap(p, frames(raw), 228)
    out["pcap-ipv6-229.pcap"] = lambda p: write_pcap(p, frames(raw, v6), 229)
    # BSD loopback: DLT_NULL has the family in the capturing host's order, DLT_LOOP in network
    # order (some writers get it wrong, so both orders are read for both)
    for link, name in ((0, "null"), (108, "loop")):
        for order, tag in (("little", "le"), ("big", "be")):
            out[f"pcap-{name}-{tag}-ipv4.pcap"] = (
                lambda p, k=link, o=order: write_pcap(p, frames(loopback(o, 2)), k))
    out["pcap-null-le-ipv6.pcap"] = lambda p: write_pcap(p, frames(loopback("little", 30), v6), 0)
    out["pcap-loop-be-ipv6.pcap"] = lambda p: write_pcap(p, frames(loopback("big", 24), v6), 108)

    # -- situations
    eth = frames(ethernet)
    out["start-at-synack.pcap"] = lambda p: write_pcap(p, eth[1:], 1, stamps=times(False)[1:])
    out["start-midstream.pcap"] = lambda p: write_pcap(p, eth[4:], 1, stamps=times(False)[4:])
    out["three-connections.pcap"] = write_three_connections
    out["snaplen.pcap"] = write_snaplen
    return out


def write_three_connections(path):
    """#0 the connection; #1 another 4-tuple starting during it; #2 the first 4-tuple again, after
    #0 closed, with new ISNs and its SYN sent twice; #0's last ACK comes again before #2 starts."""
    first = [ip_packet(c, tcp_segment(c, *rest)) for c, *rest in CONNECTION]
    other = [ip_packet(c, tcp_segment(c, *rest, cisn=5000, sisn=9000, cport=40001), client="192.0.2.11")
             for c, *rest in CONNECTION[:3]]
    again = [ip_packet(c, tcp_segment(c, *rest, cisn=123456, sisn=654321)) for c, *rest in CONNECTION]
    order = first[:2] + other[:1] + first[2:5] + other[1:] + first[5:] + first[-1:] \
        + again[:1] + again
    pcap_frames = [ethernet(isinstance(ip.data, dpkt.tcp.TCP) and ip.data.sport != SPORT, ip)
                   for ip in order]
    write_pcap(path, pcap_frames, 1, stamps=[START + i * STEP for i in range(len(order))])


def write_snaplen(path):
    """The connection captured with a 56-byte snaplen: only 2 bytes of each payload are kept."""
    snaplen = 56
    with open(path, "wb") as f:
        f.write(bytes(dpkt.pcap.LEFileHdr(snaplen=snaplen, linktype=1)))
        for ts, (c, ip) in zip(times(False), packets(4), strict=True):
            frame = ethernet(c, ip)
            sec, usec = int(ts), int(ts % 1 * 10**6)
            f.write(bytes(dpkt.pcap.LEPktHdr(tv_sec=sec, tv_usec=usec, caplen=min(len(frame), snaplen),
                                             len=len(frame))))
            f.write(frame[:snaplen])


def write_all(directory: str) -> list[str]:
    paths = []
    for name, write in formats().items():
        path = os.path.join(directory, name)
        write(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    written = write_all(sys.argv[1] if len(sys.argv) > 1 else here)
    print(f"wrote {len(written)} captures to {os.path.dirname(written[0])}")
