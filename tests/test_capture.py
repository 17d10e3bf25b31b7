"""The capture reader (tcpedu.capture) and Trace.to_pcap.

Fixtures: tests/data/formats/, written by make_formats.py there: the same ten-segment
connection in every container, byte order, timestamp precision, link layer and IP version the
reader supports, plus a few situations (capture starting late, several connections, snaplen).
"""

import importlib.util
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tracemalloc

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tcpedu
from tcpedu import Flags, Segment, Trace
from tcpedu.capture import (
    CaptureError,
    ConnectionInfo,
    ConnectionKey,
    iter_segments,
    list_connections,
    read_pcap,
)

FORMATS = os.path.join(os.path.dirname(__file__), "data", "formats")
SITUATIONS = {"start-at-synack.pcap", "start-midstream.pcap", "three-connections.pcap", "snaplen.pcap"}
FORMAT_FILES = sorted(n for n in os.listdir(FORMATS) if n.endswith((".pcap", ".pcapng"))
                      and n not in SITUATIONS)
CLIENT_ISN, SERVER_ISN = 2**32 - 3, 7000
START = 1_700_000_000.0

# The connection in every fixture: sender, tcpdump flags, relative seq, relative ack, length
EXPECTED = [
    ("client", "S", 0, 0, 0),
    ("server", "S.", 0, 1, 0),
    ("client", ".", 1, 1, 0),
    ("client", "P.", 1, 1, 5),
    ("server", ".", 1, 6, 0),
    ("server", "P.", 1, 6, 7),
    ("client", ".", 6, 8, 0),
    ("client", "F.", 6, 8, 0),
    ("server", "F.", 8, 7, 0),
    ("client", ".", 7, 9, 0),
]


def fixture(name):
    return os.path.join(FORMATS, name)


def rows(trace):
    return [(s.sender, s.flags.tcpdump(), s.seq, s.ack, s.len) for s in trace]


def summary(segments):
    return [(s.sender, str(s.flags), s.seq, s.ack, s.len) for s in segments]


def write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def pcap_bytes(frames, linktype=1):
    """A little-endian microsecond pcap of ``frames`` (bytes), 1 ms apart."""
    out = bytes(dpkt.pcap.LEFileHdr(linktype=linktype, snaplen=65535))
    for i, frame in enumerate(frames):
        out += bytes(dpkt.pcap.LEPktHdr(tv_sec=1000, tv_usec=i * 1000, caplen=len(frame),
                                        len=len(frame))) + frame
    return out


# ------------------------------------------------------------------ every format
def test_the_fixtures_cover_every_format_the_issue_lists():
    links, kinds = set(), set()
    for name in FORMAT_FILES:
        with open(fixture(name), "rb") as f:
            head = f.read(24)
        if head[:4] == b"\x0a\x0d\x0d\x0a":
            kinds.add(("pcapng", "big" if head[8:12] == b"\x1a\x2b\x3c\x4d" else "little"))
            continue
        magic = head[:4].hex()
        le = magic in ("d4c3b2a1", "4d3cb2a1")
        kinds.add(("pcap", "little" if le else "big", "ns" if magic in ("a1b23c4d", "4d3cb2a1") else "us"))
        links.add(struct.unpack("<I" if le else ">I", head[20:24])[0])
    assert links == {0, 1, 12, 14, 101, 108, 113, 228, 229, 276}
    assert kinds == {("pcap", o, u) for o in ("little", "big") for u in ("us", "ns")} | {
        ("pcapng", "little"), ("pcapng", "big")}
    names = " ".join(FORMAT_FILES)
    for needed in ("vlan", "qinq", "ipv6", "two-interfaces", "null-le", "null-be", "loop-le", "loop-be"):
        assert needed in names


def test_the_committed_fixtures_are_what_make_formats_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_formats", fixture("make_formats.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_all(str(tmp_path))
    assert sorted(os.path.basename(p) for p in written) == sorted(FORMAT_FILES + list(SITUATIONS))
    for path in written:
        with open(path, "rb") as new, open(fixture(os.path.basename(path)), "rb") as old:
            assert new.read() == old.read(), f"{os.path.basename(path)}: rerun make_formats.py"


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_format_gives_the_same_segments(name):
    trace = read_pcap(fixture(name))
    assert rows(trace.relative()) == EXPECTED
    assert trace.isn == {"client": CLIENT_ISN, "server": SERVER_ISN}
    assert (trace[0].seq, trace[1].ack, trace[9].seq) == (CLIENT_ISN, 2**32 - 2, 4)   # wraps
    assert [(s.sport, s.dport) for s in trace[:2]] == [(40000, 80), (80, 40000)]
    assert trace[3].payload == b"hello" and trace[5].payload == b"goodbye"
    assert all(s.window == 64240 and not s.note for s in trace)
    nano = "-ns-" in name
    for i, s in enumerate(trace):
        assert s.time == pytest.approx(i * 0.010 + (i * 123e-9 if nano else 0), abs=1e-12)
    assert trace.source == fixture(name)


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_format_lists_one_complete_connection(name):
    client, server = ("2001:db8::10", "2001:db8::20") if "ipv6" in name else ("192.0.2.10", "192.0.2.20")
    assert list_connections(fixture(name)) == [
        ConnectionInfo(0, (client, 40000), (server, 80), 10, True, True, START)]


def test_connection_info_prints_in_one_line():
    info, = list_connections(fixture("pcap-ethernet-ipv6.pcap"))
    assert str(info) == "#0 [2001:db8::10]:40000 > [2001:db8::20]:80: 10 packets, handshake and close seen"


# ------------------------------------------------------------------ sides, numbers, connections
def test_a_capture_starting_at_the_syn_ack_names_its_sender_server_and_keeps_client_numbers():
    trace = read_pcap(fixture("start-at-synack.pcap"))
    assert [s.sender for s in trace] == [r[0] for r in EXPECTED[1:]]
    assert trace.isn == {"server": SERVER_ISN}                    # the client's SYN was not seen
    rel = trace.relative()
    # the server's numbers count from its SYN; the client's stay absolute (Trace.relative)
    assert rows(rel)[:4] == [("server", "S.", 0, CLIENT_ISN + 1, 0), ("client", ".", 2**32 - 2, 1, 0),
                             ("client", "P.", 2**32 - 2, 1, 5), ("server", ".", 1, 3, 0)]
    assert trace[0].time == 0.0 and trace[1].time == pytest.approx(0.010)


def test_a_capture_starting_mid_connection_names_the_first_sender_client_and_keeps_absolute_numbers():
    trace = read_pcap(fixture("start-midstream.pcap"))
    # the first packet captured is the server's ACK of "hello": its sender is named "client"
    assert trace[0].sender == "client" and (trace[0].sport, trace[0].dport) == (80, 40000)
    assert trace.isn == {}
    assert rows(trace.relative()) == rows(trace)
    assert rows(trace)[:2] == [("client", ".", SERVER_ISN + 1, 3, 0), ("client", "P.", SERVER_ISN + 1, 3, 7)]
    info, = list_connections(fixture("start-midstream.pcap"))
    assert info.client == ("192.0.2.20", 80) and not info.handshake_seen and info.close_seen
    assert info.start == pytest.approx(START + 0.040)


def test_connections_are_numbered_by_first_packet_and_a_reused_4_tuple_is_a_new_connection():
    path = fixture("three-connections.pcap")
    infos = list_connections(path)
    assert [(i.index, i.client, i.server, i.packets, i.handshake_seen, i.close_seen) for i in infos] == [
        (0, ("192.0.2.10", 40000), ("192.0.2.20", 80), 11, True, True),
        (1, ("192.0.2.11", 40001), ("192.0.2.20", 80), 3, True, False),
        (2, ("192.0.2.10", 40000), ("192.0.2.20", 80), 11, True, True),
    ]
    assert [i.start for i in infos] == pytest.approx([START, START + 0.02, START + 0.14])
    first, other, again = (read_pcap(path, i) for i in range(3))
    assert rows(first.relative()) == EXPECTED + [EXPECTED[-1]]         # the last ACK, sent twice
    assert rows(other.relative()) == EXPECTED[:3]
    assert rows(again.relative()) == EXPECTED[:1] + EXPECTED             # the SYN, sent twice
    assert again.isn == {"client": 123456, "server": 654321}
    assert [s.time for s in again][:3] == pytest.approx([0.0, 0.01, 0.02])


def segment(sender, flags, seq, ack=0, t=0.0, payload=b""):
    receiver = "server" if sender == "client" else "client"
    return Segment(Flags.parse(flags), seq, ack, payload, sender=sender, receiver=receiver, time=t)


@pytest.mark.parametrize("later, connections", [
    (segment("client", "S", 100, t=0.2), 1),       # the SYN again after the RST: a retransmission
    (segment("client", "S", 900, t=0.2), 2),       # a new ISN after the RST: a new connection
])
def test_a_syn_after_a_reset_is_a_new_connection_only_with_a_new_isn(tmp_path, later, connections):
    trace = Trace([segment("client", "S", 100), segment("server", "R.", 0, 101, t=0.1), later])
    path = trace.to_pcap(str(tmp_path / "refused.pcap"))
    assert len(list_connections(path)) == connections


def test_a_syn_after_packets_of_a_connection_whose_start_was_missed_is_a_new_connection(tmp_path):
    trace = Trace([segment("client", ".", 5000, 7000), segment("server", ".", 7000, 5000, t=0.1),
                   segment("client", "S", 100, t=0.2), segment("server", "S.", 300, 101, t=0.3)])
    path = trace.to_pcap(str(tmp_path / "late.pcap"))
    assert [(i.packets, i.handshake_seen) for i in list_connections(path)] == [(2, False), (2, True)]


@pytest.mark.parametrize("gap, connections", [(100.0, 1), (300.0, 2)])
def test_a_closed_connection_is_forgotten_2msl_after_its_last_packet(tmp_path, gap, connections):
    close = [segment("client", "S", 100), segment("server", "S.", 300, 101, t=0.1),
             segment("client", ".", 101, 301, t=0.2), segment("client", "F.", 101, 301, t=0.3),
             segment("server", "F.", 301, 102, t=0.4), segment("client", ".", 102, 302, t=0.5)]
    late = segment("client", ".", 102, 302, t=0.5 + gap)      # within TIME-WAIT (240 s) or after
    path = Trace(close + [late]).to_pcap(str(tmp_path / "late_ack.pcap"))
    assert len(list_connections(path)) == connections


def test_a_payload_cut_by_the_snaplen_keeps_its_length_and_says_so():
    trace = read_pcap(fixture("snaplen.pcap"))
    assert rows(trace.relative()) == EXPECTED
    assert trace[3].payload == b"he\0\0\0" and trace[5].payload == b"go\0\0\0\0\0"
    assert trace[3].note == "snaplen: 2 of 5 payload bytes captured (the rest are zeros here)"
    assert [s.note for i, s in enumerate(trace) if i not in (3, 5)] == [""] * 8


def test_frames_dpkt_cannot_decode_and_non_tcp_packets_are_skipped(tmp_path):
    good = read_pcap(fixture("pcap-raw101-ipv4.pcap"))
    udp = dpkt.ip.IP(src=b"\x0a\0\0\x01", dst=b"\x0a\0\0\x02", p=17,
                     data=dpkt.udp.UDP(sport=53, dport=53, data=b"dns"))
    frames = []
    with open(fixture("pcap-raw101-ipv4.pcap"), "rb") as f:
        reader = dpkt.pcap.Reader(f)
        for i, (_, frame) in enumerate(reader):
            frames.append(frame)
            if i == 2:
                frames += [bytes(udp), b"\x45\x00", b"", b"\x60" + b"\xff" * 50]
    trace = read_pcap(write(tmp_path / "mixed.pcap", pcap_bytes(frames, linktype=101)))
    assert rows(trace) == rows(good)


# ------------------------------------------------------------------ iter_segments
def test_iter_segments_gives_each_segment_with_its_connection_key():
    items = list(iter_segments(fixture("three-connections.pcap")))
    assert len(items) == 25
    keys = {key.index: key for key, _ in items}
    assert keys[2] == ConnectionKey(2, ("192.0.2.10", 40000), ("192.0.2.20", 80), pytest.approx(START + 0.14))
    assert all(key is keys[key.index] for key, _ in items)        # one key object per connection
    assert [key.index for key, _ in items][:4] == [0, 0, 1, 0]
    for index in range(3):
        mine = [s for key, s in items if key.index == index]
        assert rows(mine) == rows(read_pcap(fixture("three-connections.pcap"), index))


def test_iter_segments_streams_a_truncated_file_up_to_the_cut(tmp_path):
    with open(fixture("pcap-le-us-ethernet-ipv4.pcap"), "rb") as f:
        data = f.read()
    path = write(tmp_path / "cut.pcap", data[:-10])
    stream = iter_segments(path)
    got = [next(stream)[1] for _ in range(9)]
    assert rows(got) == rows(read_pcap(fixture("pcap-le-us-ethernet-ipv4.pcap")))[:9]
    with pytest.raises(CaptureError, match="record 10 .* is cut off"):
        next(stream)


def many_connections(n, gap=1.0):
    """A trace of ``n`` copies of the fixture connection, ``gap`` s apart, each on its own port."""
    template = read_pcap(fixture("pcap-le-us-ethernet-ipv4.pcap")).segments
    segments = []
    for k in range(n):
        port = 1024 + k % 60000
        for s in template:
            client = s.sender == "client"
            segments.append(s.replace(sport=port if client else 80, dport=80 if client else port,
                                      time=k * gap + s.time))
    return Trace(segments)


def test_iterating_keeps_memory_flat_however_long_the_file(tmp_path):
    peaks = {}
    for n in (300, 3000):                                       # 3,000 and 30,000 packets
        path = many_connections(n).to_pcap(str(tmp_path / f"{n}.pcap"))
        tracemalloc.start()
        count = sum(1 for _ in iter_segments(path))
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == 10 * n
    # ten times the packets and connections: if connections were kept, the peak would be ~13x
    # (measured); forgotten 2 MSL after their close, ~240 are tracked at a time in both files
    assert peaks[3000] < 2 * peaks[300], peaks


# ------------------------------------------------------------------ bad input
def check_error(path, *needles, connection=0):
    for call in (lambda: read_pcap(path, connection), lambda: list_connections(path),
                 lambda: list(iter_segments(path))):
        with pytest.raises(CaptureError) as info:
            call()
        message = str(info.value)
        assert isinstance(info.value, ValueError) and message.startswith(f"{path}: ")
        for needle in needles:
            assert needle in message, message
    return message


def valid(name="pcap-le-us-ethernet-ipv4.pcap"):
    with open(fixture(name), "rb") as f:
        return f.read()


def test_missing_file_and_directory(tmp_path):
    check_error(str(tmp_path / "nope.pcap"), "cannot open", "No such file")
    check_error(str(tmp_path), "cannot ")


def test_empty_file(tmp_path):
    check_error(write(tmp_path / "empty.pcap", b""), "empty file")


def test_garbage(tmp_path):
    message = check_error(write(tmp_path / "notes.pcap", b"these are my lab notes, not packets\n"),
                          "not a pcap or pcapng file")
    assert "74 68 65 73" in message                        # the bytes it starts with


@pytest.mark.parametrize("name", ["pcap-le-us-ethernet-ipv4.pcap", "pcap-be-ns-ethernet-ipv4.pcap",
                                  "pcapng-le-ethernet-ipv4.pcapng", "pcapng-be-ethernet-ipv4.pcapng"])
@pytest.mark.parametrize("keep", [2, 10, 23])
def test_file_header_cut(tmp_path, name, keep):
    check_error(write(tmp_path / name, valid(name)[:keep]), "truncated")


def test_record_cut_in_its_data_is_an_error_naming_the_record(tmp_path):
    data = valid()
    check_error(write(tmp_path / "cut.pcap", data[:-3]), "truncated: record 10 (byte 666) is cut off",
                "should hold 54 bytes", "ends after 51", "9 record(s) before it are intact")


def test_record_cut_in_its_header(tmp_path):
    data = valid()
    check_error(write(tmp_path / "cut.pcap", data[:666 + 8]), "record 10", "header ends after 8 bytes")


def test_pcapng_block_cut(tmp_path):
    data = valid("pcapng-le-ethernet-ipv4.pcapng")
    check_error(write(tmp_path / "cut.pcapng", data[:-5]), "truncated", "packet(s) before it are intact")
    check_error(write(tmp_path / "cut2.pcapng", data[:-len(data) // 2 + 3]), "truncated")


def test_a_record_longer_than_any_capture_tool_writes_is_corrupt(tmp_path):
    data = bytearray(valid())
    data[24 + 8:24 + 12] = struct.pack("<I", 0xFFFFFF00)       # caplen of the first record
    check_error(write(tmp_path / "huge.pcap", bytes(data)), "record 1", "claims 4294967040 bytes",
                "corrupt")


def test_a_pcapng_block_with_an_impossible_length_is_corrupt_not_a_hang(tmp_path):
    data = bytearray(valid("pcapng-le-ethernet-ipv4.pcapng"))
    shb = struct.unpack("<I", data[4:8])[0]
    data[shb + 4:shb + 8] = b"\0\0\0\0"                         # the interface block's length
    check_error(write(tmp_path / "zero.pcapng", bytes(data)), f"corrupt pcapng block at byte {shb}")


def test_unsupported_link_type_is_named(tmp_path):
    frames = [b"\x80\x00" + bytes(30)]
    check_error(write(tmp_path / "wifi.pcap", pcap_bytes(frames, linktype=105)),
                "unsupported link type 105")
    out = tmp_path / "usb.pcapng"
    with open(out, "wb") as f:
        w = dpkt.pcapng.Writer(f, linktype=189)
        w.writepkt_time(bytes(64), 1.0)
    check_error(str(out), "unsupported link type 189")


def test_a_capture_without_tcp(tmp_path):
    udp = dpkt.ip.IP(src=b"\x0a\0\0\x01", dst=b"\x0a\0\0\x02", p=17, data=dpkt.udp.UDP(data=b"x"))
    arp = bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_ARP, data=dpkt.arp.ARP()))
    udp_frame = bytes(dpkt.ethernet.Ethernet(data=udp))
    check_error(write(tmp_path / "udp.pcap", pcap_bytes([udp_frame, arp])), "no TCP packets",
                "2 packets")
    check_error(write(tmp_path / "none.pcap", pcap_bytes([])), "holds no packets")


@pytest.mark.parametrize("connection", [1, 7, -1])
def test_connection_out_of_range_says_how_many_there_are(connection):
    path = fixture("pcap-le-us-ethernet-ipv4.pcap")
    with pytest.raises(CaptureError, match=rf"connection {connection} out of range: the capture "
                                           r"holds 1 TCP connection\(s\), numbered 0 to 0"):
        read_pcap(path, connection)
    with pytest.raises(CaptureError, match="holds 3 TCP connection"):
        read_pcap(fixture("three-connections.pcap"), 3)


@pytest.mark.parametrize("connection", ["0", 1.0, None, True])
def test_connection_must_be_an_int(connection):
    path = fixture("pcap-le-us-ethernet-ipv4.pcap")
    with pytest.raises(CaptureError, match=re.escape(path) + ": connection must be an int.*got "
                                           + re.escape(repr(connection))):
        read_pcap(path, connection)


# ------------------------------------------------------------------ fuzz
FUZZ = settings(deadline=None, max_examples=300, derandomize=True, database=None)
MAGICS = [b"", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a",
          b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a"]
SAMPLES = [valid(n) for n in ("pcap-le-us-ethernet-ipv4.pcap", "pcap-be-ns-ethernet-ipv4.pcap",
                              "pcapng-le-ethernet-ipv4.pcapng", "pcapng-be-ethernet-ipv4.pcapng",
                              "pcapng-two-interfaces-ipv4.pcapng", "pcap-ethernet-qinq-ipv6.pcap",
                              "pcap-sll2-ipv6.pcap", "pcap-null-be-ipv4.pcap", "three-connections.pcap")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz") / "case.pcap")


def reads_or_raises_capture_error(path, data):
    write(path, data)
    try:
        infos = list_connections(path)
        trace = read_pcap(path, len(infos) - 1)
    except CaptureError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert infos and all(isinstance(s.flags, Flags) for s in trace)


@FUZZ
@given(prefix=st.sampled_from(MAGICS), tail=st.binary(max_size=600))
def test_fuzz_random_bytes(scratch, prefix, tail):
    reads_or_raises_capture_error(scratch, prefix + tail)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_fuzz_truncations(scratch, sample, data):
    cut = data.draw(st.integers(0, len(sample) - 1))
    reads_or_raises_capture_error(scratch, sample[:cut])


@FUZZ
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_fuzz_byte_flips(scratch, sample, data):
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(sample) - 1), st.integers(1, 255)),
                               min_size=1, max_size=8))
    mutated = bytearray(sample)
    for at, xor in flips:
        mutated[at] ^= xor
    reads_or_raises_capture_error(scratch, bytes(mutated))


# ------------------------------------------------------------------ Trace.to_pcap
ROUND_TRIP = ["handshake", "data_transfer", "four_way_close", "three_way_close", "half_close",
              "rst_unread_data", "abortive_close", "connection_refused", "simultaneous_open",
              "simultaneous_close", "lost_syn", "lost_final_ack", "old_duplicate_syn"]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_to_pcap_round_trip(tmp_path, name):
    trace = tcpedu.scenarios.run(name).trace
    delivered = [s for s in trace if not s.lost]
    path = trace.to_pcap(str(tmp_path / f"{name}.pcap"))
    assert path == str(tmp_path / f"{name}.pcap")
    back = read_pcap(path)
    assert summary(back) == summary(delivered)
    assert len(list_connections(path)) == 1
    assert [(s.sport, s.dport, s.payload, s.window) for s in back] == \
        [(s.sport, s.dport, s.payload, s.window) for s in delivered]
    t0 = delivered[0].time
    assert [s.time for s in back] == pytest.approx([s.time - t0 for s in delivered], abs=1e-6)


def test_to_pcap_leaves_lost_segments_out(tmp_path):
    trace = tcpedu.scenarios.lost_final_ack().trace
    assert any(s.lost for s in trace)
    back = read_pcap(trace.to_pcap(str(tmp_path / "lost.pcap")))
    assert len(back) == len(trace) - sum(s.lost for s in trace)


def test_to_pcap_backlog_overflow_gives_one_connection_per_client(tmp_path):
    trace = tcpedu.scenarios.backlog_overflow().trace
    path = trace.to_pcap(str(tmp_path / "backlog.pcap"))
    infos = list_connections(path)
    hosts = ["client", "client2", "client3", "client4"]
    assert [(i.client, i.server) for i in infos] == [
        ((f"192.0.2.{n}", 49152), ("192.0.2.2", 80)) for n in (1, 3, 4, 5)]
    assert [(i.handshake_seen, i.packets) for i in infos] == [(True, 3), (True, 3), (False, 7), (False, 7)]
    for info, host in zip(infos, hosts, strict=True):
        back = read_pcap(path, info.index)
        named = [(host if s[0] == "client" else s[0], *s[1:]) for s in summary(back)]
        assert named == summary(s for s in trace.between(host, "server") if not s.lost)


def test_to_pcap_addresses_ports_checksums_and_microsecond_times(tmp_path):
    segments = [Segment(Flags.SYN, 1, sender="alice", receiver="server", time=0.5),
                Segment(Flags.SYN | Flags.ACK, 9, 2, sender="server", receiver="alice", time=1.25),
                Segment(Flags.ACK, 2, 10, b"hi", window=70000, sender="client", receiver="server",
                        sport=5555, dport=8080, time=2.0000004),
                Segment(Flags.ACK, 2, 10, sender="bob", receiver="server", time=3.0, lost=True),
                Segment(Flags.RST, 2, sender="carol", receiver="server", time=4.0)]
    path = Trace(segments).to_pcap(str(tmp_path / "hand.pcap"))
    with open(path, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        packets = list(reader)
    assert [ts for ts, _ in packets] == pytest.approx([0.5, 1.25, 2.0, 4.0], abs=1e-9)
    seen = []
    for _, frame in packets:
        eth = dpkt.ethernet.Ethernet(frame)
        ip, tcp = eth.data, eth.data.data
        header = bytes(frame[14:34])
        assert dpkt.in_cksum(header) == 0                          # IPv4 header checksum
        pseudo = struct.pack(">4s4sxBH", ip.src, ip.dst, 6, len(ip.data))
        assert dpkt.in_cksum(pseudo + bytes(frame[34:])) == 0       # TCP checksum
        seen.append((socket.inet_ntoa(ip.src), tcp.sport, socket.inet_ntoa(ip.dst), tcp.dport,
                     tcp.win))
    # alice first appears before client: alice .3; "client" is always .1, "server" .2; bob (whose
    # only segment was lost) still takes .4, so carol is .5
    assert seen == [("192.0.2.3", 49152, "192.0.2.2", 80, 65535),
                    ("192.0.2.2", 80, "192.0.2.3", 49152, 65535),
                    ("192.0.2.1", 5555, "192.0.2.2", 8080, 65535),
                    ("192.0.2.5", 49152, "192.0.2.2", 80, 65535)]


def test_dpkt_is_imported_only_when_a_file_is_read_or_written():
    code = ("import sys, tcpedu, tcpedu.capture; a = 'dpkt' in sys.modules; "
            "tcpedu.scenarios.handshake().trace; b = 'dpkt' in sys.modules; print(a, b)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(shutil.which("tcpdump") is None,
                    reason="tcpdump is not installed (apt-get install -y tcpdump)")
@pytest.mark.parametrize("name", ["four_way_close", "half_close", "backlog_overflow"])
def test_tcpdump_reads_to_pcap_output_one_line_per_segment(tmp_path, name):
    trace = tcpedu.scenarios.run(name).trace
    path = trace.to_pcap(str(tmp_path / f"{name}.pcap"))
    delivered = [s for s in trace if not s.lost]
    out = subprocess.run(["tcpdump", "-r", path, "-nn"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(delivered)
    assert [line.split("Flags [")[1].split("]")[0] for line in lines] == \
        [s.flags.tcpdump() for s in delivered]
    assert all(" IP 192.0.2." in line for line in lines)
    verbose = subprocess.run(["tcpdump", "-r", path, "-nn", "-vv"], capture_output=True, text=True,
                             timeout=30).stdout
    assert verbose.count("cksum") == verbose.count("(correct)") == len(delivered)
