# ruff: noqa: E501  (markdown tables cannot be wrapped)
"""Build notebooks/01_segments_and_numbers.ipynb (header fields, seq/ack, SEG.LEN, relative numbers, wrap).

    python notebooks/src/01_segments_and_numbers.py
    cd notebooks && jupyter nbconvert --to notebook --execute --inplace 01_segments_and_numbers.ipynb
"""

from nbbuild import code, md, write

md("""
# 01 — Segments and numbers (报文段与序号)

Every question about the handshake and the close comes down to a few fields of the TCP
header and two numbers, **seq** and **ack**. This notebook makes them exact.

## What you will learn

* the header fields that matter for opening and closing: ports, seq, ack, flags, window,
  and the data length (which, surprisingly, is not a header field);
* what a sequence number counts, and what an acknowledgement number says: **"the next number
  I expect from you"**;
* why a SYN and a FIN each use up one sequence number, while an ACK or an RST uses none;
* that the numbers count **bytes**, not segments;
* relative numbers (what Wireshark shows) against absolute ones, with a real capture;
* the wrap-around after 4294967295 (an ISN just below 2³²);
* the difference between the **ACK flag** and the **ack number**, which many articles mix up.

All simulations here use the `"rfc"` profile (the textbook) unless they say `"linux"`.
""")

md("""
## A connection with a little data

The client connects, sends a request of 300 bytes, and the server answers with 1000 bytes.
The initial sequence numbers (ISN, 初始序列号) are fixed — 1000 for the client, 5000 for the
server — so that every number can be checked by hand.
""")

code("""
import tcpedu
from tcpedu import exercises
""")

code("""
sim = tcpedu.scenarios.data_transfer(profile="rfc", client_isn=1000, server_isn=5000,
                                     request=300, response=1000)
sim.trace
""")

md("""
## The header fields that matter here

A TCP header (首部) has more fields than these, but connection management needs only six
things:

| field | 中文 | what it holds | in the table above |
|---|---|---|---|
| source and destination **port** | 源端口 / 目的端口 | which application on each host; with the two IP addresses they name the connection (the 4-tuple, 四元组) | not shown: every segment here belongs to the same connection |
| **sequence number** (seq) | 序号 | the number of the first byte this segment carries (or of its SYN or FIN) | `seq` |
| **acknowledgement number** (ack) | 确认号 | the next number the sender expects from the other side; valid only when the ACK flag is set | `ack` (blank when the flag is not set) |
| **flags** (control bits) | 标志位 (控制位) | SYN, ACK, FIN, RST, PSH (and URG, ECE, CWR, which this course does not need) | `flags` |
| **window** (win) | 窗口 | how many more bytes the *sender of this segment* is ready to receive | printed by `print(sim.trace)` |
| data **length** | 数据长度 | how many data bytes follow the header | `len` |

The data length is not in the TCP header: the receiver works it out from the IP packet's
length minus the two headers. tcpdump prints it as `length`, Wireshark as `Len`.

The other fields (header length, checksum, urgent pointer, options such as MSS or window
scale) are real but play no part in the questions of this course; the model carries no
options.

One segment, field by field — its ports, then the header in RFC 9293's own notation
`<SEQ=...><ACK=...><CTL=...>`, then the window. (`sim.trace[3]` is Python's indexing, which
counts from 0, so it is segment 4; the tables, titles, questions and `highlight=` count
segments from 1.)
""")

code("""
seg = sim.trace[3]          # Python counts from 0: segment 4 of the tables, the client's 300 bytes
print(seg.sport, "->", seg.dport, seg.header(), "window", seg.window)
print(sim.trace.lines()[3])  # the same segment as tcpdump prints it
""")

md("""
The client uses port 49152 and the server port 80. tcpdump's `Flags [.]` means "ACK only";
`seq 1001:1301` means "bytes 1001 up to, not including, 1301".

**Question.** Segment 5 is the server's acknowledgement of those 300 bytes. Which window
does it advertise, and why?

<details><summary>Reveal</summary>

65235 = 65535 − 300. The window is the free space in the receiver's buffer: the 300 bytes
sit there until the server's application calls `recv()`. Once it has read them, the server
advertises 65535 again (segments 6 and 7). The client's window shrinks the same way while
the 1000 bytes of the answer wait to be read.

</details>
""")

code("""
print("server's windows:", [s.window for s in sim.trace if s.sender == "server"])
print("client's windows:", [s.window for s in sim.trace if s.sender == "client"])
""")

md("""
## Watch the numbers move

Step through the same connection in a ladder diagram (时序图: time flows down, one arrow per
segment). For each segment, read its `ack` as a sentence: "I have everything *before* this
number; send me this one next". The state graph (状态图) on the right shows that all of it
happens in ESTABLISHED (已建立连接), once the handshake is over (notebook 02 is about the
handshake itself).
""")

code("""
sim.trace.stepper()
""")

md("""
## What seq and ack count

Each side numbers **its own** bytes, starting from its own ISN: the client's numbers run
1000, 1001, …; the server's 5000, 5001, …; the two lines never mix. A segment's `seq` is the
number of the first thing it carries; its `ack` is about the *other* side's numbers.

What moves the numbers on is what RFC 9293 calls SEG.LEN (报文段占用的序号数): the data
bytes, **plus one for a SYN, plus one for a FIN**. ACK and RST use no number at all. The
next cell prints, for each segment, its seq, its data length, how many numbers it uses, and
the number that comes next (its seq + SEG.LEN).
""")

code("""
for s in sim.trace:
    print(f"{s.sender:6} {str(s.flags):8} seq {s.seq:5} data {s.len:4} uses {s.seg_len:3} next {s.end_seq}")
""")

md("""
Read it line by line:

* the SYN carries no data but uses one number (1000): the first data byte is therefore 1001,
  and the server's ACK of the SYN says `ack = 1001`;
* the third segment is a **pure ACK** (纯确认报文段): it uses nothing, so the client's data
  segment that follows starts at the same seq, 1001;
* 300 bytes of data use 300 numbers, 1001 to 1300: the next is 1301;
* an acknowledgement is **cumulative** (累积确认): `ack = 6001` says every server byte
  before 6001 has arrived.

**Question.** The client's 300 bytes start at seq 1001. What ack number does the server
send back?

<details><summary>Reveal</summary>

1301 = 1001 + 300: the number of the next byte it expects. Not 1302 (data gets no extra +1),
and not 1001 + 1 (the ack counts bytes, not segments).

</details>
""")

code("""
sim.trace[4].ack
""")

md("""
## A FIN uses one number too; an RST uses none

Let the client close the connection, and the server close in turn (notebook 03 is about
the close; here only the numbers matter).

**Question.** The client's FIN has seq 1301. What ack does the server send for it? And
what seq does the client's very last segment carry?

<details><summary>Reveal</summary>

`ack = 1302`, and the client's last segment has `seq = 1302`: the FIN used number 1301, so
the next one is 1302. Symmetrically the server's FIN has seq 6001 and is acknowledged with
6002. This is the "+1" of every close diagram: it comes from the FIN, exactly as in the
handshake it comes from the SYN.

</details>
""")

code("""
sim.client.close()
sim.wait(0.05)
sim.server.recv()       # b"": the FIN is the end of the client's stream
sim.server.close()
sim.wait(0.05)
""")

code("""
sim.trace.ladder(highlight=[10, 11, 12, 13], title="the same connection, closed (segments 10-13 in bold)")
""")

md("""
An RST (复位) is different: it uses no number, nobody acknowledges it, and it is never sent
again. A SYN to a port where nothing listens gets one back:
""")

code("""
refused = tcpedu.scenarios.connection_refused(profile="rfc", client_isn=1000)
refused.trace
""")

md("""
The RST,ACK has `ack = 1001`: it acknowledges the SYN, which used number 1000. Its own
`seq` is 0 because the refusing side has no connection and so no numbers of its own;
RFC 9293 (§3.10.7.1) gives exactly this reply, `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
Notebook 07 is about RST.
""")

md("""
## Bytes, not segments

Under `"rfc"` the server's 1000 bytes left in **two** segments (536 + 464 bytes): the
textbook's default maximum segment size (MSS, 最大报文段长度) is 536 bytes. A Linux host on
Ethernet uses 1460 (the profile table in notebook 00 lists both).

**Question.** Run the same exchange under `"linux"`. How many segments carry the server's
1000 bytes, and which ack number does the client send once it has them all? (The cell prints
the lengths of the server's data segments and the client's ACK of the last byte, for each profile.)

<details><summary>Reveal</summary>

One segment, and the client acknowledges **6001** under both profiles. The number of
segments changes; the numbers do not, because they count bytes. Adding 1 per segment is a
common mistake.

</details>
""")

code("""
linux = tcpedu.scenarios.data_transfer(profile="linux", client_isn=1000, server_isn=5000,
                                       request=300, response=1000)
print("rfc:  ", [s.len for s in sim.trace if s.sender == "server" and s.len],
      "ack", sim.trace[8].ack)        # sim.trace[8]: segment 9
print("linux:", [s.len for s in linux.trace if s.sender == "server" and s.len], "ack", linux.trace[-1].ack)
""")

md("""
The linux trace has one more difference: its data segments carry **PSH** (推送), which
tcpdump prints as `[P.]`. Linux sets it on the last segment of each `send()`; it asks the
receiver to hand the data to the application without waiting, and it changes no number.
""")

code("""
print(*linux.trace.lines()[3:], sep="\\n")
""")

md("""
## Relative numbers: what Wireshark shows

Real ISNs are random 32-bit numbers, so real traces are full of ten-digit numbers.
Wireshark therefore shows **relative sequence numbers** (相对序号) by default: it subtracts
each side's ISN, so each side's SYN is 0 and its first data byte is 1 (tcpdump does the
same after the first segments, unless given `-S`). `print(sim.trace)` and the tables here
show absolute numbers, like `tcpdump -S`; `trace.relative()` gives Wireshark's view:
""")

code("""
sim.trace.relative()
""")

md("""
Now a **real** capture: two sockets on a Linux 6.18 kernel, talking over the loopback
interface. The client sends 5 bytes, the server reads them and answers with 7. First the
absolute numbers, as they were on the wire:
""")

code("""
real = tcpedu.read_pcap("data/data_both_ways.pcap")
real
""")

md("""
The ISNs were 1545131822 and 2078224478. In relative numbers the same capture reads like
a textbook:
""")

code("""
real.relative()
""")

md("""
And the engine, given the same calls under the `"linux"` profile, sends the same segments:
`compare` puts both traces in relative numbers and compares sender, flags, seq, ack and
length of each segment.
""")

code("""
same_calls = tcpedu.scenarios.data_transfer(profile="linux", client_isn=1000, server_isn=5000,
                                            request=5, response=7)
print(real.compare(same_calls.trace))
""")

md("""
Two things to keep in mind when you read a real capture:

* **an exam question that gives ISNs wants absolute numbers**; relative numbers are only a
  way of displaying them. The practice checker tells you when you mixed the two.
* the windows in a real capture (`win 64` in the lines below) are **scaled**: the two sides
  agree in their SYNs on a factor (the window scale option, RFC 7323) and the field holds the
  window divided by it. Wireshark shows the product as "calculated window size". The model
  has no options, so its windows are plain bytes.
""")

code("""
print(*real.lines(states=False)[2:5], sep="\\n")
""")

md("""
## Wrap-around: after 4294967295 comes 0

A sequence number has 32 bits, so it runs from 0 to 2³² − 1 = 4294967295, and all
arithmetic on it is modulo 2³² (RFC 9293 §3.4). Since ISNs are random, a connection can
start just below 2³² and wrap in the middle of its data (序号回绕).

**Question.** The client's ISN is 4294967196 (2³² − 100) and it sends 300 bytes. What ack
number does the server send for them?

<details><summary>Reveal</summary>

(4294967196 + 1 + 300) mod 2³² = **201**. The SYN uses 4294967196, the data use
4294967197 … 4294967295 (99 bytes) and then 0 … 200 (201 bytes); the next byte expected
is 201. Answering 4294967497 forgets the wrap: that number does not fit in 32 bits.

</details>
""")

code("""
wrap = tcpedu.scenarios.data_transfer(profile="rfc", client_isn=2**32 - 100, server_isn=5000,
                                      request=300, response=200)
wrap.trace
""")

md("""
"Later" is modular too: TCP compares sequence numbers on the circle, so 201 comes *after*
4294967196 (it is 301 steps ahead, and anything less than 2³¹ ahead counts as later).
`tcpedu.seq_lt(a, b)` is that comparison:
""")

code("""
print(tcpedu.seq_lt(2**32 - 100, 201), tcpedu.seq_lt(201, 2**32 - 100))
""")

md("""
## The ACK flag and the ack number

These are two different things that share a name:

* the **ACK flag** (确认标志位 ACK) is one bit: "the ack field of this segment is valid";
* the **ack number** (确认号 ack) is a 32-bit number: the next number expected.

Textbooks write the flag in capitals with a value of 1 (`ACK=1`) and the number in
lower case (`ack=u+1`). Some articles write the handshake as "SYN=j, then ACK=j+1", which
mixes them up: a flag has no value j. Written carefully, the handshake is: SYN with
seq=x; SYN+ACK (SYN=1, ACK=1) with seq=y, ack=x+1; ACK (ACK=1) with seq=x+1, ack=y+1.

**Question.** Which segments of our connection carry the ACK flag?

<details><summary>Reveal</summary>

All of them except the very first SYN: before the server's SYN arrives the client has
nothing to acknowledge. From then on every segment carries the flag and a valid ack number,
data segments and FINs included. The first SYN's ack field is still there in the header,
just meaningless: Linux sends 0 there, and so does the model.

</details>
""")

code("""
print(*[s.flags for s in sim.trace], sep=" | ")
print("ack field of the first SYN: simulated", sim.trace[0].ack, "- captured on Linux", real[0].ack)
""")

md("""
## The path through the states

For the record, the path each side took through the state graph during this connection:
the handshake (notebook 02) into ESTABLISHED, where all the data flowed, and the close
(notebook 03) out of it. The client, which closed first, ends in
TIME-WAIT (时间等待, notebook 04).
""")

code("""
tcpedu.draw_state_graph(trace=sim.trace)
""")

md("""
## Practice

A new connection, with other ISNs: the client's ISN is 4294966696 (2³² − 600), the server's
70000, and the client sends 1000 bytes under `"rfc"` (so in segments of at most 536 bytes).
Fill in the blanks below, then run the check cell. Every number is **absolute**.
""")

code("""
drill = tcpedu.scenarios.data_transfer(profile="rfc", client_isn=2**32 - 600, server_isn=70000,
                                       request=1000, response=0)
p = exercises.practice(drill, [("ack", 2), ("seq", 3), ("seq", 4), ("seq", 5), ("ack", 6), ("ack", 7)],
                       intro="Client ISN 4294966696, server ISN 70000; the client sends 1000 bytes.")
p
""")

code("""
ack_2 = None  # your answer
seq_3 = None  # your answer
seq_4 = None  # your answer
seq_5 = None  # your answer
ack_6 = None  # your answer
""")

code("""
ack_7 = None  # your answer
""")

code("""
p.check(ack_2=ack_2, seq_3=seq_3, seq_4=seq_4, seq_5=seq_5, ack_6=ack_6, ack_7=ack_7)
""")

md("""
Stuck? `p.hint("ack_7")`, or look again at the wrap-around section. A wrong number gets the
name of its likely mistake: try `ack_7 = 4294967697` to see one.

## In one paragraph

A segment's seq is the number of the first thing it carries and its ack is the next number
its sender expects from the other side; each side counts its own bytes from its own ISN,
a SYN and a FIN each use one number and an ACK or RST none, so every "+1" in a diagram comes
from a SYN or a FIN and never from a segment; the arithmetic is modulo 2³², Wireshark's
relative numbers are the same numbers minus the ISN, and the ACK flag only says that the
ack number is valid.
""")

write("01_segments_and_numbers")
