"""Build notebooks/03_four_way_close.ipynb (run from anywhere; then execute it in place with nbconvert)."""

from nbbuild import code, md, write

md("""
# 03 — The four-way close (四次挥手)

Opening a connection takes three segments. Closing it usually takes four, and a connection can
stay half open for as long as one side likes. This notebook takes a close apart, one socket call
at a time.

**What you will learn**

* what each of the four segments carries — FIN, ACK, seq and ack — in the letters textbooks use
  (u, v, w);
* the states each side passes through: FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT on the side that
  closes first; CLOSE-WAIT, LAST-ACK and CLOSED on the other;
* half-close (半关闭): `shutdown(SHUT_WR)`, after which the other side can keep sending — and why
  the second FIN's seq is then w = v + (bytes sent), not v + 1;
* why a close takes four segments when a handshake takes three;
* what a real Linux kernel puts on the wire for the same calls.
""")

md("""
## Two directions, closed one at a time

A TCP connection is **full duplex** (全双工): two byte streams, one in each direction, each with
its own sequence numbers. Each stream is ended by its *sender* with a **FIN** (结束) segment,
which means "I will send nothing more". Like a SYN, a FIN takes up one sequence number, so it is
acknowledged with its seq + 1.

Two streams, each ended by a FIN that must be acknowledged: four segments. The side that sends
the first FIN is the **active closer** (主动关闭方); the other is the **passive closer**
(被动关闭方). In the textbook figures the client closes first, and so does ours below — but
either side may; nothing in TCP ties closing to the client.
""")

md("""
## A close, one call at a time

We open a connection with the textbook profile (`"rfc"`), with the initial sequence numbers
fixed at 1000 (client) and 5000 (server) and 10 ms between the hosts.
""")

code("""
import tcpedu

sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=1000, server_isn=5000)
sim.server.listen()
sim.client.connect()
""")

code("""
sim.wait(0.05)
print(sim.client.state, "|", sim.server.state)
""")

md("""
The handshake used sequence number 1000 for the client's SYN, so the client's next byte would be
1001; the server's next is 5001. Now the client's application has nothing more to send and calls
`close()`:
""")

code("""
sim.client.close()
print(sim.client.state, "|", sim.server.state)
""")

md("""
The client has sent its FIN and is in **FIN-WAIT-1** (终止等待1): waiting for that FIN to be
acknowledged. The server is still ESTABLISHED — the FIN is on the wire, 10 ms away.

### Predict, then reveal

The FIN carries seq = 1001 (textbooks call it **u**). When it arrives, what does the server send
back — which flags, which seq, which ack — and which state does each side reach?
""")

md("""
<details><summary>Reveal</summary>

The server's TCP answers at once with a plain **ACK**: seq = 5001 (its own next number, which
textbooks call **v**) and ack = 1002 = u + 1, because the FIN used up number 1001. The server
enters **CLOSE-WAIT** (关闭等待); when the ACK reaches the client, the client enters
**FIN-WAIT-2** (终止等待2). Run the next cell to see it.
</details>
""")

code("""
sim.wait(0.02)
print(sim.client.state, "|", sim.server.state)
sim.trace
""")

md("""
Each row is a segment; the state columns give the sender's state after sending and the
receiver's after receiving, as in the RFC's figures. Two things the textbook drawings leave out:

* The client's FIN (row 4) is a **FIN,ACK**. After the handshake every segment carries the ACK
  flag (RFC 9293 §3.1: once a connection is established the acknowledgement number is always
  sent), so a capture shows `[F.]`, never a bare FIN. A textbook's "FIN = 1" describes one flag,
  not the whole segment.
* Nothing has told the server's *application* yet. Its TCP acknowledged the FIN on its own. The
  application finds out the next time it reads: `recv()` returns `b""`, the end of the stream.
""")

code("""
sim.server.recv()
""")

md("""
**CLOSE-WAIT** means: the peer has closed its direction, and we are waiting for *our
application* to close ours. TCP cannot guess when that will be: the application may still have
data to send. Here it takes its time — 200 ms — and then calls `close()`:
""")

code("""
sim.wait(0.2)
sim.server.close()
print(sim.client.state, "|", sim.server.state)
""")

md("""
The server has sent its own FIN and is in **LAST-ACK** (最后确认): waiting for the acknowledgement
of that FIN. After its FIN, the server sends no more data — a FIN is the end of its stream — so
LAST-ACK only waits for one ACK.

### Predict, then reveal

The server's FIN leaves now. Its seq is called **w** in the textbooks. The server sent no data
since its ACK with seq v = 5001. What is w? What ack does the FIN carry? What does the client
answer, and when does the server reach CLOSED?
""")

md("""
<details><summary>Reveal</summary>

* **w = 5001 = v.** The ACK with seq v carried no data and no SYN or FIN, so it used up no
  sequence number: the server's next number is still 5001. (Some articles write that without
  data the FIN's seq would be v + 1. It would not: a pure ACK takes no number.)
* The FIN's ack is again **1002 = u + 1**: nothing new has come from the client.
* The client enters **TIME-WAIT** (时间等待) and answers with an ACK: seq = 1002 = u + 1,
  ack = 5002 = w + 1.
* The server enters **CLOSED** only when that ACK *arrives*, 10 ms after the client sent it —
  not when it is sent, and not when the server sent its FIN.
</details>
""")

code("""
sim.wait(0.02)
print(sim.client.state, "|", sim.server.state)
sim.trace
""")

md("""
Four segments: rows 4 to 7. The client stays in TIME-WAIT — under this profile for 240 seconds —
before it forgets the connection; notebook 04 is about why.

## The picture: a ladder (时序图)

Here is the same run as a ladder, with the numbers written in the textbook's letters: x and y
for the two ISNs, u for the closer's FIN, v for the other side's next number at that moment, w
for its FIN.
""")

code("""
sim.trace.ladder(symbolic=True, title="The four-way close, in the textbook's letters")
""")

md("""
| segment | from | flags | seq | ack | here |
|---|---|---|---|---|---|
| 1st of the close | active closer | FIN,ACK | u | v | seq 1001, ack 5001 |
| 2nd | passive closer | ACK | v | u + 1 | seq 5001, ack 1002 |
| 3rd | passive closer | FIN,ACK | w | u + 1 | seq 5001, ack 1002 |
| 4th | active closer | ACK | u + 1 | w + 1 | seq 1002, ack 5002 |

(The ladder writes `v` where the table says w, because here the two are the same number.)

Step through it below: **Play** runs the segments one by one, the slider and the step box move
back and forth, and the state diagram beside the ladder lights up where each side is at that
moment.
""")

code("""
sim.trace.stepper()
""")

md("""
The same path through the RFC 9293 state diagram: the client (solid) goes down the left side,
the server (dashed) down the right.
""")

code("""
tcpedu.draw_state_graph(trace=sim.trace)
""")

md("""
| state | 中文 | who | waiting for |
|---|---|---|---|
| FIN-WAIT-1 | 终止等待1 | active closer | the ACK of its FIN |
| FIN-WAIT-2 | 终止等待2 | active closer | the peer's FIN (as long as the peer's application likes) |
| CLOSE-WAIT | 关闭等待 | passive closer | its own application to close |
| LAST-ACK | 最后确认 | passive closer | the ACK of its FIN |
| TIME-WAIT | 时间等待 | active closer | 2 × MSL to pass (notebook 04) |
| CLOSED | 关闭 | both, in the end | nothing: the connection is gone |

## Why four segments, and not three?

In the handshake, the server's SYN and its acknowledgement of the client's SYN travel together in
one SYN,ACK: the application already said yes, by calling `listen()`, so the server's TCP can
decide both at once.

In the close, two different parties decide:

* the **ACK** of the client's FIN is the server's *kernel*'s business. It must go out promptly,
  or the client would think its FIN was lost and send it again;
* the server's **FIN** is its *application*'s business. It goes out when the application calls
  `close()` (or `shutdown()`), which can be much later — after it has sent whatever it still
  has to say.

In the trace above the ACK left at 0.060 s and the FIN at 0.270 s: the gap is the server
application's time. Two decisions made at different times need two segments.

The textbook profile sends every ACK at once. Linux, like most real systems, *delays* ACKs a
little, hoping to send them along with something else. Here is the same close under the
`"linux"` profile (this scenario builds the same calls):
""")

code("""
linux = tcpedu.scenarios.four_way_close(profile="linux", client_isn=1000, server_isn=5000)
print(linux.trace)
""")

md("""
The same four segments, with one difference: the server's ACK (the fifth line) leaves at
0.042 s, 12 ms after the client's FIN left at 0.030 s — 10 ms on the wire, and 2 ms held back by
Linux. Had the server's application closed within that delay, its FIN would have carried the
acknowledgement, and the close would have taken **three** segments. How long Linux waits, and
when a real capture shows three segments instead of four, is the subject of notebook 06 (delayed
ACK and the "three-way close").

## Half-close (半关闭): shutdown(SHUT_WR)

`close()` ends both directions *for the application*: it will neither send nor read any more.
`shutdown(socket.SHUT_WR)` ends only the sending direction. TCP sends the same FIN, but the
application keeps its socket and goes on reading. Meanwhile the peer, in CLOSE-WAIT, may send as
much as it likes before it closes too. Think of a client that uploads a file, says "that is all"
with `shutdown(SHUT_WR)`, and then waits for the server's answer on the same connection.

The `half_close` scenario does exactly that: the client calls `shutdown(SHUT_WR)`; the server
reads the end of the stream, sends 100 bytes, then closes; the client reads them and closes.

### Predict, then reveal

As before, the server's ACK of the client's FIN has seq v = 5001. Then the server sends 100 bytes
of data, then its FIN. What is the FIN's seq w? What ack does the client's last segment carry?
""")

md("""
<details><summary>Reveal</summary>

Data bytes use sequence numbers: the 100 bytes are numbers 5001 to 5100, so the FIN has
**w = v + 100 = 5101**, and the client's last ACK has **ack = w + 1 = 5102**. In general
w = v + (bytes sent during CLOSE-WAIT); it equals v when nothing was sent — never v + 1.
While the data arrives, the client is in FIN-WAIT-2 and acknowledges it as usual
(ack = v + 100 = 5101).
</details>
""")

code("""
half = tcpedu.scenarios.half_close(profile="rfc", client_isn=1000, server_isn=5000, data=100)
half.trace
""")

code("""
half.trace.ladder(symbolic=True, title="Half-close: data in CLOSE-WAIT moves w on")
""")

md("""
Segment 6 carries the 100 bytes (seq v to v + 100); segment 7 acknowledges them; segment 8 is
the FIN with seq w = v + 100. Note that the client, half-closed, still *receives and
acknowledges* data: FIN-WAIT-2 is not "closed", only "done sending".

Had the client called `close()` instead of `shutdown()`, those 100 bytes would have arrived at a
socket nobody reads any more, and its TCP would have answered them with a reset (RST) instead —
notebook 07 (`close()`, `shutdown()` and RST) shows that.

## The same close on a real kernel

`data/half_close_server_data.pcap` is a capture of these calls on a real Linux 6.18 kernel
(loopback), after a short exchange of data (5 bytes, then 7 back). `read_pcap` reads it and infers
both sides' states by replaying it through the engine; `relative()` shows Wireshark's relative
numbers, counting from each side's ISN.
""")

code("""
real = tcpedu.read_pcap("data/half_close_server_data.pcap")
real.relative()
""")

md("""
The shape is the same: FIN,ACK (row 8, seq 6 = u), an ACK (row 9, ack 7 = u + 1), 100 bytes
from the server (row 10, seq 8 to 108), their ACK, the server's FIN with seq 108 = w = v + 100
(row 12) and the last ACK with ack 109 = w + 1. Two details are Linux's: the data segments carry
PSH (`PSH,ACK`), and the ACK of the FIN left about 42 ms after the FIN (rows 8 and 9: 0.160 s
and 0.202 s), because this connection had carried data and Linux then delays an ACK by about 40 ms
(notebook 06).

## Practice

New numbers, so you cannot copy them from above. The client half-closes, the server sends 250
bytes and closes. Fill in the blanks (the `?` in the table), run the check cell, and read the
feedback: a wrong number gets a diagnosis of the likely mistake. `p.hint("seq_8")` gives a hint.
""")

code("""
drill = tcpedu.scenarios.half_close(profile="rfc", client_isn=3000, server_isn=9000, data=250)
blanks = [("ack", 7), ("seq", 8), ("flags", 8), ("ack", 9), ("server_state", 9)]
p = tcpedu.exercises.practice(drill, blanks, intro="ISNs 3000 and 9000; 250 bytes in CLOSE-WAIT.")
p
""")

code("""
ack_7 = None            # your answer: a number
seq_8 = None            # your answer: a number
flags_8 = None          # your answer: flags in quotes, like "SYN,ACK"
ack_9 = None            # your answer: a number
server_state_9 = None   # your answer: a state in quotes, like "LISTEN"
""")

code("""
p.check(ack_7=ack_7, seq_8=seq_8, flags_8=flags_8, ack_9=ack_9, server_state_9=server_state_9)
""")

md("""
## In one paragraph

Each direction of a TCP connection is ended by its own FIN, which takes one sequence number and
is acknowledged with seq + 1; the active closer goes FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, the
passive closer CLOSE-WAIT → LAST-ACK → CLOSED, entering CLOSED only when the last ACK arrives.
The close takes four segments because the passive side's kernel acknowledges the FIN at once but
its application decides when to send its own FIN — and in between, after a half-close
(`shutdown(SHUT_WR)`), it may keep sending, which moves its FIN's seq to w = v + (bytes sent).
""")

write("03_four_way_close")
