"""Build notebooks/06_delayed_ack_three_way_close.ipynb (the prose lives here).

Run:  python notebooks/src/06_delayed_ack_three_way_close.py
then execute the notebook in place with nbconvert (outputs are committed).
"""

from nbbuild import code, md, write

md("""
# 06 — Delayed ACK (延迟确认) and the "three-way close"

The textbook closes a connection in four segments; open a capture of a real close and you will
very often count three. The difference is one acknowledgement that waited a few milliseconds.
This notebook shows which one, why, and for how long.

**What you will learn**

* what a *delayed ACK* is, and why the textbook close has four segments while a capture
  of a real close very often shows three;
* why Linux holds back the ACK of a FIN, and for how long: about **40 ms** once the
  connection has received data, **one clock tick** on a connection that never did;
* why a Linux close still takes four segments when the application is slow;
* which state the closing side skips when the close takes three segments;
* *quick ACKs* at the start of a connection, and ACKs that *ride on replies* in
  request/response traffic;
* how to read a real capture of a three-way close, with the states tcpedu infers for it.

As everywhere in this course, profile `"rfc"` is the textbook (the answer an exam expects)
and profile `"linux"` is what a capture of a Linux host shows.
""")

code("""
import tcpedu
from tcpedu import exercises
""")

md("""
## Why hold an ACK back?

A segment that carries nothing but an acknowledgement still costs a whole set of headers:
at least 20 bytes of IPv4 header and 20 of TCP header, for no data at all. If the receiver
waits a little before acknowledging, the acknowledgement can *ride* on a segment it sends
anyway: data, a window update, or a FIN. Holding the ACK back for that chance is called
**delayed ACK (延迟确认)**.

RFC 9293 (§3.8.6.3) allows it within limits: an ACK must not wait 0.5 s or more, and at
least every second full-sized segment should be acknowledged. The textbook figures — and
tcpedu's `"rfc"` profile — never delay: every ACK leaves the moment it is due. Linux does
delay, but by rules of its own, and those rules decide how many segments a close takes.
""")

md("""
## Predict: how many segments does this close take?

A connection has just been opened; no data was sent. The client calls `close()`. The
server's application is blocked in `recv()`: it gets `b""` (the end of the stream) as soon
as the FIN arrives, and calls `close()` at once.

How many segments does the close take under `"rfc"`? And under `"linux"`?

<details><summary>Reveal</summary>

**rfc: four** — FIN, ACK, FIN, ACK, the close of every textbook (四次挥手).
**linux: three** — FIN; FIN+ACK; ACK. The server's acknowledgement of the client's FIN was
still waiting when the server's application called `close()`, so it left *inside* the
server's own FIN: one segment with both the FIN flag and the ACK of the client's FIN.

</details>

The scenario `three_way_close` makes exactly these calls. `until_closed=False` stops right
after the last ACK, so the picture need not show the client's whole TIME-WAIT.
""")

code("""
rfc = tcpedu.scenarios.three_way_close(profile="rfc", client_isn=1000, server_isn=5000,
                                       until_closed=False)
rfc.trace.ladder(numbers="relative", title='profile "rfc": the textbook close, four segments')
""")

code("""
linux = tcpedu.scenarios.three_way_close(profile="linux", client_isn=1000, server_isn=5000,
                                         until_closed=False)
linux.trace.ladder(numbers="relative", title='profile "linux": the same calls, three segments')
""")

md("""
Compare the server's timeline in the two pictures. The client's FIN arrives at 0.040 s in
both.

* Under `"rfc"` the server acknowledges it at once (`ACK seq=1 ack=2`), the client moves to
  FIN-WAIT-2, and the server's FIN follows as a segment of its own.
* Under `"linux"` a bracket opens instead: **delayed ACK 2 ms**. Before it runs out, the
  application reads `b""` and calls `close()`; the FIN that `close()` sends is
  `FIN,ACK seq=1 ack=2` — it acknowledges the client's FIN (ack=2) and closes the server's
  direction (FIN) in one segment. The timer is *cancelled*: nothing is left to acknowledge.

The second and third segments of the textbook close have merged. A Wireshark capture of
this close shows three lines: `[FIN, ACK]`, `[FIN, ACK]`, `[ACK]`. (Every segment after the
handshake carries the ACK *flag*; what matters is that the server's FIN carries the
acknowledgement *number* 2, which the textbook gives to a separate segment.)
""")

md("""
## Why Linux waits: "pingpong" mode and the delayed-ACK timer

Linux decides for every segment it receives whether to acknowledge now or later. Two of
its modes matter here:

* **quick-ACK mode (快速确认)** — at the start of a connection Linux acknowledges data at
  once (up to 16 segments, `TCP_MAX_QUICKACKS`), so that a sender that is just starting
  out is not held back by waiting ACKs;
* **pingpong mode (交互模式)** — when traffic looks like request and reply, Linux delays
  ACKs, expecting them to ride on the reply.

When a **FIN** arrives, the kernel's `tcp_fin()` switches the connection to pingpong mode,
whatever it was in before: the peer has finished, and the local application is likely to
answer soon — with its last data or its own FIN. So the ACK of a FIN goes to the
*delayed-ACK timer*. How long that timer runs (the ATO, acknowledgement timeout) depends
on the connection's past:

| the connection has ... | ATO on Linux | in tcpedu's `"linux"` profile |
|---|---|---|
| received data | `TCP_ATO_MIN` = HZ/25 = **40 ms** (measured 40–47 ms) | 40 ms |
| never received data | **one clock tick** (0.1–4 ms measured on a HZ=250 kernel) | 2 ms |

Then it is a race between the application and the timer. If the application sends data or
calls `close()` before the timer fires, that segment carries the ACK and the close takes
**three** segments. If the timer fires first, the ACK leaves alone and the close takes
**four**. Delayed ACK being switched on is not enough for a three-way close: the
application must also be quick.
""")

md("""
## Predict: a slow application on Linux

Same connection, same profile `"linux"`, but now the server's application is busy for
0.2 s before it reads the end of the stream and closes (scenario `four_way_close`,
`pause=0.2`). How many segments does the close take, and when does the server's ACK of the
FIN leave?

<details><summary>Reveal</summary>

**Four.** The FIN arrives at 0.040 s; this connection never received data, so the
delayed-ACK timer runs for one tick and the ACK leaves alone at 0.042 s. The server's FIN
follows at 0.240 s, when its application finally closes.

</details>
""")

code("""
slow = tcpedu.scenarios.four_way_close(profile="linux", client_isn=1000, server_isn=5000,
                                       pause=0.2, until_closed=False)
slow.trace
""")

md("""
## After data: the 40 ms wait

Now let the connection carry data first — a 5-byte request and a 7-byte reply, as in most
real protocols — and again let the server's application take 0.3 s before it closes.
""")

code("""
sim = tcpedu.scenarios.data_transfer(profile="linux", client_isn=1000, server_isn=5000,
                                     request=5, response=7)
sim.client.close()
sim.wait(0.3)         # the server's application is busy for 0.3 s ...
sim.server.recv()     # ... then reads the end of the stream: b''
""")

code("""
sim.server.close()
sim.wait(0.05)
sim.trace.ladder(numbers="relative", title="after data, the ACK of a FIN waits 40 ms")
""")

md("""
The bracket at the server now reads **delayed ACK 40 ms**: the FIN arrived at 0.332 s and
its ACK left at 0.372 s. The application closed at 0.622 s, far too late to take the ACK
along, so this close has four segments. Had the server's application closed within those
40 ms, its FIN would have carried the ACK — the real capture further down does exactly
that.

Look also at the data exchange above it: the 5-byte request was acknowledged at once
(`ACK seq=1 ack=6` leaves the moment the request arrives). That is quick-ACK mode: the
first data of a connection is acknowledged without delay. Only the FIN's ACK waited.
""")

md("""
## Predict: which state does the client skip?

In the three-way close the client never receives a separate ACK of its FIN: the server's
FIN+ACK acknowledges the client's FIN and closes the server's direction in one segment.
Which state of the textbook close does the client never enter?

<details><summary>Reveal</summary>

**FIN-WAIT-2.** The client goes straight from FIN-WAIT-1 to TIME-WAIT, on the arrow
"rcv FIN + ACK of FIN / snd ACK". RFC 9293's Figure 5 does not draw that arrow (its text,
§3.10.7.4, describes it). In the state graph below it is the diagonal from FIN-WAIT-1 to
TIME-WAIT — thin and grey as one of the arrows Figure 5 leaves out, drawn over in blue
because the client's path takes it.

</details>

Step through the whole linux close, TIME-WAIT included. Press **Play**, or move the slider;
the state graph on the right follows each segment.
""")

code("""
full = tcpedu.scenarios.three_way_close(profile="linux", client_isn=1000, server_isn=5000)
full.trace.stepper(numbers="relative")
""")

code("""
tcpedu.draw_state_graph(trace=full.trace)
""")

md("""
The client (solid blue) goes CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → TIME-WAIT →
CLOSED; the server (dashed orange) LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT →
LAST-ACK → CLOSED. Nothing else changes: the passive closer still passes through
CLOSE-WAIT and LAST-ACK, and the active closer still waits in TIME-WAIT (60 s on Linux).
A three-way close is a four-way close with two segments merged, not a different protocol.
""")

md("""
## Quick ACKs, and ACKs that ride on replies

The same two modes shape data traffic. Here a client sends three small requests (5 bytes),
and each time the server reads the request and answers with 7 bytes 30 ms after it
arrived. The steps are written as a *socket-call script* (one tuple per call, `"sleep"`
lets time pass) and played on the simulator by `tcpedu.script.run_simulated`.
""")

code("""
from tcpedu.script import run_simulated

opening = [("server", "listen"), ("client", "connect"), ("sleep", 0.05)]
one_round = [("client", "send", 5), ("sleep", 0.02), ("server", "recv"), ("sleep", 0.02),
             ("server", "send", 7), ("sleep", 0.02), ("client", "recv"), ("sleep", 0.04)]
""")

md("""
### Predict

In the first round Linux is in quick-ACK mode. In the second and third rounds, does the
server still send a separate ACK for each request?

<details><summary>Reveal</summary>

**No.** In round 1 the request is acknowledged at once (quick-ACK mode). But the server
then *replied within 40 ms of receiving data*, and Linux takes that as a sign of
request/response traffic: it enters pingpong mode (in the kernel, `tcp_event_data_sent()`
does this). From round 2 on, the ACK of each request waits on the delayed-ACK timer and
rides on the reply: `PSH,ACK seq=8:15 ack=11` both carries the reply and acknowledges the
request. Under `"rfc"` every request gets its own ACK: 15 segments instead of 13.

</details>
""")

code("""
rr, _ = run_simulated(opening + 3 * one_round, profile="linux", latency=0.01,
                      client_isn=1000, server_isn=5000)
rr.trace.ladder(numbers="relative", title="three requests and replies (linux)")
""")

code("""
rr_rfc, _ = run_simulated(opening + 3 * one_round, profile="rfc", latency=0.01,
                          client_isn=1000, server_isn=5000)
len(rr_rfc.trace), len(rr.trace)
""")

md("""
In the linux ladder, rounds 2 and 3 each show a bracket **delayed ACK 40 ms (cancelled)**:
the timer started when the request arrived and was cancelled 30 ms later by the reply,
which took the acknowledgement along. The client's ACKs of the replies still leave at once.

A real Linux kernel did the same. `data/request_response.pcap` is a capture of three
rounds like these on a Linux 6.18 machine (loopback): the requests of rounds 2 and 3
(`seq 6:11` and `seq 11:16`) get no ACK of their own; the replies acknowledge them.
""")

code("""
tcpedu.read_pcap("data/request_response.pcap").relative()
""")

md("""
## A real three-way close

`data/three_way_close.pcap` was recorded on the same machine: the client sends 5 bytes,
the server answers with 7, the client closes, and the server's application closes as soon
as it has read the end of the stream. `list_connections` shows what the file holds.
""")

code("""
tcpedu.list_connections("data/three_way_close.pcap")
""")

code("""
real = tcpedu.read_pcap("data/three_way_close.pcap")
real.ladder(numbers="relative", title="a real three-way close (Linux 6.18, loopback)")
""")

md("""
A capture holds segments, not states. The states on this ladder are **inferred**:
`read_pcap` replays every captured segment through tcpedu's `"linux"` engine and writes
down where each side must have been. Wherever a capture does something the profile would
not, the segment gets a note; this one has none — the kernel did what the `"linux"`
profile predicts.

Read the close from the capture's own times:

* 0.159989 s — the client's FIN (`FIN,ACK seq=6 ack=8`); the server enters CLOSE-WAIT;
* 0.179984 s — 20 ms later, the server's FIN, carrying `ack=7`: the acknowledgement of the
  client's FIN. The connection had carried data, so the delayed-ACK timer was set to 40 ms;
  the application closed after 20 ms and its FIN took the ACK along;
* 0.180019 s — the client's last ACK; the client is in TIME-WAIT, skipping FIN-WAIT-2.

Earlier in the capture, the client's 5 bytes were acknowledged 14 µs after they were sent:
a quick ACK. (The window reads `64` after the handshake because the two SYNs negotiated
window scaling, a TCP option tcpedu does not model: the real window is 64 times a scale
factor.)

Read the same file with the textbook's eyes and the engine says where the kernel departed
from it:
""")

code("""
[s.note for s in tcpedu.read_pcap("data/three_way_close.pcap", profile="rfc") if s.note]
""")

md("""
## What a popular article says about it

A popular Chinese article on `close()`, `shutdown()` and the "three-way close" explains
the three-segment close with delayed ACK: when the
passive closer has no data left to send and delayed ACK is on, the second and third
segments of the close merge, and since delayed ACK is on by default, captures often show
three. Measured against what we have just simulated and captured:

* **Right:** the merge is the passive closer's delayed ACK riding on its own FIN; the
  passive closer still goes through CLOSE-WAIT and LAST-ACK.
* **Missing — timing.** Having delayed ACK switched on is not enough: the application must
  call `close()` before the delayed-ACK timer fires — within about 40 ms if the connection
  has received data, within one clock tick if it never did. A slower application gives
  four segments on the same kernel, as the `four_way_close` run above shows.
* **Missing — why a FIN's ACK is delayed at all.** Linux acknowledges the first data of a
  connection at once (quick-ACK mode). The ACK of a FIN is delayed because `tcp_fin()`
  switches the connection to pingpong mode, not merely because delayed ACK exists.
* **Contradiction.** Earlier in the same article, the kernel is said to answer a FIN with
  an ACK *immediately*. On Linux it does not; that is precisely what makes the merge
  possible.
* Its rule that the ACK leaves at once when a second segment arrives during the delay is,
  on Linux, "more than one full-sized segment not yet acknowledged" — the RFC's "at least
  every second full-sized segment".
""")

md("""
## Practice

The table is the linux three-way close from the top of this notebook (absolute numbers,
ISNs 1000 and 5000) with some fields blank. Fill in the answer cell, run it, then run the
check cell: each answer is marked right or wrong, and a wrong number is diagnosed.
""")

code("""
p = exercises.practice(linux, [("flags", 5), ("ack", 5), ("client_state", 5), ("seq", 6), ("ack", 6)],
                       intro="A three-way close under the linux profile.")
p
""")

code("""
flags_5 = None         # the flags, as text: e.g. "ACK" or "SYN,ACK"
ack_5 = None           # a number
client_state_5 = None  # a state name, e.g. "FIN-WAIT-1"
seq_6 = None
ack_6 = None
""")

code("""
p.check(flags_5=flags_5, ack_5=ack_5, client_state_5=client_state_5, seq_6=seq_6, ack_6=ack_6)
""")

md("""
Stuck? `p.hint("ack_5")` gives a hint for one blank without giving the answer away.

## In one paragraph

A pure ACK costs a segment for nothing, so receivers may hold it back hoping it can ride on
something else; the textbook (`"rfc"`) never does, Linux does. When a FIN arrives, Linux's
`tcp_fin()` puts the connection in pingpong mode, so the ACK of the FIN waits on the
delayed-ACK timer — about 40 ms once the connection has received data, one clock tick if
it never did. If the passive closer's application calls `close()` within that time, its FIN
carries the ACK and the close takes **three** segments (FIN; FIN+ACK; ACK), the active
closer skipping FIN-WAIT-2; if the application is slower, the ACK leaves alone and the close
takes the textbook's **four**. The same machinery acknowledges the first data of a
connection at once (quick ACKs) and, once traffic looks like request and reply, lets ACKs
ride on the replies.
""")


write("06_delayed_ack_three_way_close")
