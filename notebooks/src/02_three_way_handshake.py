# ruff: noqa: E501  (markdown tables cannot be wrapped)
"""Build notebooks/02_three_way_handshake.ipynb (states and numbers, why three, lost SYN, lost SYN,ACK).

    python notebooks/src/02_three_way_handshake.py
    cd notebooks && jupyter nbconvert --to notebook --execute --inplace 02_three_way_handshake.ipynb
"""

from nbbuild import code, md, write

md("""
# 02 — The three-way handshake (三次握手)

Before any data flows, each side must tell the other its initial sequence number (ISN,
初始序列号) and be sure the other has received it. TCP does this in three segments.

## What you will learn

* the states each side passes through: the client CLOSED → SYN-SENT → ESTABLISHED, the
  server CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED — and which side gets there first;
* the numbers, in the textbook's letters: seq=x; seq=y, ack=x+1; seq=x+1, ack=y+1 — and why
  each one is what it is;
* **why three segments and not two**: an old duplicate SYN, simulated exactly as in RFC 9293
  Figure 8, and what a two-way handshake would have done with it;
* what happens when the SYN is lost — the textbook's doubling timer against the schedule a
  real Linux kernel follows — and when the SYN+ACK is lost.

The textbook profile `"rfc"` is used unless a cell says `"linux"`; where the two differ, both
are shown.
""")

md("""
## The handshake, simulated

The server calls `listen()`: a **passive open** (被动打开), which puts it in LISTEN (监听). The
client calls `connect()`: an **active open** (主动打开), which sends a SYN and puts it in
SYN-SENT. ISNs are fixed at 1000 (client) and 5000 (server) so the numbers can be checked.
The picture is a ladder diagram (时序图): time flows down, each host has a vertical line
with its states written beside it, and each segment is an arrow.
""")

code("""
import tcpedu
from tcpedu import exercises

sim = tcpedu.scenarios.handshake(profile="rfc", client_isn=1000, server_isn=5000)
sim.trace.ladder()
""")

md("""
Segment by segment:

1. **SYN** (client → server), `seq = 1000`: "my numbers start at 1000". The SYN has no ACK
   flag: there is nothing to acknowledge yet. The server, on receiving it, moves from LISTEN
   to **SYN-RECEIVED** (同步已接收).
2. **SYN,ACK** (server → client), `seq = 5000, ack = 1001`: "my numbers start at 5000; I have
   your 1000, send 1001 next". The SYN used number 1000, so the acknowledgement is 1001. The
   client, on receiving it, is **ESTABLISHED** (已建立连接).
3. **ACK** (client → server), `seq = 1001, ack = 5001`: "I have your 5000". The ACK itself
   uses no number, so the client's first data byte will also be 1001. The server, on
   receiving it, is ESTABLISHED.

Textbooks write the same with letters: x for the client's ISN, y for the server's.
`symbolic=True` draws it that way:
""")

code("""
sim.trace.ladder(symbolic=True)
""")

md("""
In the usual notation (flags in capitals, numbers in lower case):

| # | direction | flags | seq | ack | client after it | server after it |
|---|---|---|---|---|---|---|
| 1 | client → server | SYN=1 | x | — | SYN-SENT (同步已发送) | SYN-RECEIVED (同步已接收) |
| 2 | server → client | SYN=1, ACK=1 | y | x+1 | ESTABLISHED | SYN-RECEIVED |
| 3 | client → server | ACK=1 | x+1 | y+1 | ESTABLISHED | ESTABLISHED |

Three remarks on what articles write:

* "SYN=j, ACK=j+1" mixes a flag with a number; the number j+1 is the **ack number**
  (确认号), the flag ACK is just 1 (notebook 01).
* The states have several spellings. RFC 9293 says SYN-SENT and SYN-RECEIVED; `netstat`
  prints `SYN_SENT` and `SYN_RECV`, `ss` prints `SYN-SENT` and `SYN-RECV`, and some articles
  write SYN_RCVD. "SYN_SEND" is a misspelling of SYN-SENT.
* The third segment *may* carry data (RFC 9293 allows it). With the sockets API a program
  sends only after `connect()` has returned, so its data usually follow in a segment of
  their own, as in notebook 01's traces.

The handshake is one of the places where textbook and kernel agree: under `"linux"` the
same calls give the same three segments.
""")

code("""
print(tcpedu.scenarios.handshake(profile="linux", client_isn=1000, server_isn=5000).trace.compare(sim.trace))
""")

md("""
## Step by step, with the states

Play the handshake, or step through it, and watch the state graph on the right: the client
(solid blue frame) and the server (dashed orange frame) move one arrow per event.
""")

code("""
sim.trace.stepper()
""")

md("""
**Question.** Which side reaches ESTABLISHED first, and how much earlier? (The one-way
latency in this simulation is 10 ms.)

<details><summary>Reveal</summary>

The **client**, at 0.020 s, as soon as the SYN,ACK arrives: from its point of view both ISNs
are now known and acknowledged. The server gets there 10 ms later, at 0.030 s, when the third
segment arrives. For that one-way trip the two sides are in different states: the client
could already send data, while the server is still in SYN-RECEIVED. A data segment from the
client carries the ACK flag and ack = 5001 too, so it would complete the server's handshake
just as the pure ACK does.

</details>
""")

code("""
print("client:", *[f"{state} at {t:.3f} s;" for t, state in sim.trace.states("client")])
print("server:", *[f"{state} at {t:.3f} s;" for t, state in sim.trace.states("server")])
""")

md("""
## Why three segments, and not two?

This is the question everyone asks. A two-way handshake would be: the client sends SYN, the
server answers SYN,ACK and from then on considers the connection open. What goes wrong?

RFC 9293 (§3.5) gives the main reason: **old duplicate SYNs** (已失效的连接请求报文段). A SYN can wander in the
network — stuck in a router's queue, sent along a slow path, duplicated — and arrive long
after the client has given up on it or opened another connection. The server cannot tell a
stale SYN from a fresh one; only the client can. The third segment is the client's chance
to say "yes, that was me" — or, with an RST, "no, it wasn't".

The scenario `old_duplicate_syn` replays RFC 9293's Figure 8 exactly, with its numbers.
The client (ISN 100) connects; a stale SYN with seq 90 from an earlier attempt happens to
arrive first, and the client's real SYN is slowed down in the network. The server picks
ISN 300 for its answer to the stale SYN, and 400 the second time.
""")

code("""
old = tcpedu.scenarios.old_duplicate_syn(profile="rfc")
old.trace.stepper()
""")

md("""
Step through it (the stale SYN is drawn from the client's line and marked *old duplicate
SYN*):

* the server cannot know the SYN with seq 90 is stale: it answers SYN,ACK, `seq = 300,
  ack = 91`, and enters SYN-RECEIVED;
* the client is in SYN-SENT with ISN 100: it expects `ack = 101`.

**Question.** The SYN,ACK with `ack = 91` reaches the client. What does the client send, and
what does the server do with it?

<details><summary>Reveal</summary>

The client sends an **RST** (复位) with `seq = 91` — it takes its seq from the unacceptable
ack number, so that the server accepts the RST as belonging to that SYN,ACK. The server,
which had entered SYN-RECEIVED from LISTEN, goes **back to LISTEN**: no connection was ever
established. When the real SYN (seq 100) arrives, the handshake runs normally: SYN,ACK
`seq = 400, ack = 101`, then ACK `seq = 101, ack = 401`.

</details>
""")

code("""
print(old.trace.lines()[3])
""")

md("""
The state graph shows both paths. The server's detour is the arrow *rcv RST* from
SYN-RECEIVED back to LISTEN, followed by a second trip to SYN-RECEIVED; the client's RST is
the small loop at the right edge of SYN-SENT (it sends the RST and stays there, waiting for
the right SYN,ACK).
""")

code("""
tcpedu.draw_state_graph(trace=old.trace)
""")

md("""
**What would a two-way handshake have done?** The server would have counted the connection
as open the moment it sent `SYN,ACK seq=300 ack=91`. It would be "ESTABLISHED" with a peer
whose numbers start at 90 — a connection the client never asked for — holding memory for it
and perhaps sending it data. When the real SYN arrived, the server would open a second
connection beside the false one. The client, the only side that can recognise the SYN as
stale, would have no say.

With three segments, a connection is established only after **each side's ISN has been
acknowledged by the other**: the client's x by the SYN,ACK, the server's y by the third
segment. (Four messages are needed in principle — SYN, ACK, SYN, ACK — and TCP merges the
middle two into the SYN,ACK.) The same exchange, simulated under `"linux"`, is identical:
""")

code("""
print(tcpedu.scenarios.old_duplicate_syn(profile="linux").trace.compare(old.trace))
""")

md("""
A simpler case: the stale SYN arrives when the client has **no connection at all** (its
old attempt is long over). The client's TCP answers the server's SYN,ACK with an RST, as it
answers any segment for a connection it does not know, and the server is back in LISTEN
one round trip later. Under a two-way handshake, the server would now hold an open
connection to nobody.
""")

code("""
gone = tcpedu.Simulation(profile="rfc", latency=0.01, server_isn=300)
gone.server.listen()
gone.inject("client", tcpedu.Flags.SYN, 90, note="old duplicate SYN")
gone.wait(0.05)
gone.trace
""")

md("""
(tcpedu has no two-way-handshake mode, so these cells show what three segments do, and
the paragraphs above say what two would have done.)

## A lost SYN

If the client's SYN is lost, nothing comes back. The client's **retransmission timer**
(超时重传) fires and it sends the SYN again — the *same* SYN, with the same ISN. How long it
waits is where the textbook and a real kernel part ways:

* `"rfc"`: the first timeout is 1 s (RFC 6298; books written before 2011 say 3 s, the old
  value) and it **doubles** after every timeout (exponential backoff, 指数退避);
* `"linux"` (kernel 6.5 and later): the first few retransmissions stay **1 s apart**
  (`net.ipv4.tcp_syn_linear_timeouts`), and only then does the gap double.

**Question.** The first three SYNs are lost. At what times does the client send its SYNs,
under each profile? Is the fourth SYN's seq still 1000?

<details><summary>Reveal</summary>

`"rfc"`: 0, 1, 3 and 7 s (gaps of 1, 2, 4 s). `"linux"`: 0, 1, 2 and 3 s. Every
retransmission carries seq 1000: a retransmitted SYN is the same SYN.

</details>
""")

code("""
rfc3 = tcpedu.scenarios.lost_syn(profile="rfc", client_isn=1000, server_isn=5000, lost=3)
linux3 = tcpedu.scenarios.lost_syn(profile="linux", client_isn=1000, server_isn=5000, lost=3)
print("rfc:  ", [(s.time, s.seq) for s in rfc3.trace if s.flags == tcpedu.Flags.SYN])
print("linux:", [(s.time, s.seq) for s in linux3.trace if s.flags == tcpedu.Flags.SYN])
""")

md("""
The ladder of the `"rfc"` case: each lost SYN ends in a cross, retransmissions are dashed,
and the brackets on the client's line are the retransmission timeouts (1 s, 2 s, 4 s). The
zig-zags cut out the idle seconds.
""")

code("""
rfc3.trace.ladder()
""")

md("""
**If no SYN ever gets through**, the client keeps trying for a while and then `connect()`
fails with "connection timed out" (ETIMEDOUT, 连接超时). The next cell loses every SYN and prints
when each SYN left and when the client gave up (its state went back to CLOSED).
""")

code("""
rfc_all = tcpedu.scenarios.lost_syn(profile="rfc", client_isn=1000, server_isn=5000, lost=100)
linux_all = tcpedu.scenarios.lost_syn(profile="linux", client_isn=1000, server_isn=5000, lost=100)
print("rfc:   SYNs at", [s.time for s in rfc_all.trace], "| at", *rfc_all.trace.states("client")[-1])
print("linux: SYNs at", [s.time for s in linux_all.trace], "| at", *linux_all.trace.states("client")[-1])
""")

md("""
* `"rfc"`: SYNs at 0, 1, 3, 7, 15, 31, 63 and 123 s — the gap doubles up to 60 s, the
  ceiling of the timer — and the client gives up at 183 s: RFC 9293 (§3.8.3) asks that a
  SYN be retried for at least 3 minutes.
* `"linux"`: SYNs at 0, 1, 2, 3, 4, 5, then 7, 11, 19, 35 and 67 s (gaps 2, 4, 8, 16, 32 s),
  and `connect()` fails at 131 s. This is the schedule measured on a Linux 6.18 kernel:
  `tcp_syn_retries = 6` doublings, plus 4 linear retries that the kernel adds in front.

The `"linux"` ladder shows the whole schedule: the timeouts on the client's line and the
long waits cut short.
""")

code("""
linux_all.trace.ladder()
""")

md("""
Many articles and answers online say Linux gives up after **127 s**, with SYNs at 0, 1, 3, 7,
15, 31 and 63 s. That was true before kernel 6.5, which had no linear phase. The profile is
a plain dataclass, so the same model with the linear retries switched off shows that older
schedule (a what-if: the captures that check the `"linux"` profile come from a 6.18 kernel):
""")

code("""
import dataclasses

before_6_5 = dataclasses.replace(tcpedu.get_profile("linux"), name="linux<6.5", syn_linear_retries=0)
older = tcpedu.scenarios.lost_syn(profile=before_6_5, client_isn=1000, server_isn=5000, lost=100)
print("SYNs at", [s.time for s in older.trace], "| at", *older.trace.states("client")[-1])
""")

md("""
## A lost SYN+ACK

Now the client's SYN arrives but the server's SYN,ACK is lost. This time **two** timers
are running: the client's, for its SYN, and the server's, for its SYN,ACK. While it waits,
the server keeps the half-finished connection in SYN-RECEIVED — an entry in its SYN queue
(半连接队列, notebook 08).

**Question.** Which side sends something first, and when? And what does the server answer
when the client's SYN arrives a second time — under `"rfc"` and under `"linux"`?

<details><summary>Reveal</summary>

The **client** first, at 1.000 s: its timer was started 10 ms before the server's. Its
repeated SYN reaches the server at 1.010 s — the very moment the server's own timer fires.
So at 1.010 s the server sends its SYN,ACK again (its timer), and also answers the repeated
SYN:

* `"rfc"`: with a plain **ACK** (`seq = 5001, ack = 1001`). The repeated SYN's number, 1000,
  is already acknowledged, so RFC 9293 treats it as an unacceptable segment and answers
  with an ACK that says where things stand.
* `"linux"`: with the **SYN,ACK** once more, so the client receives two SYN,ACKs and
  acknowledges both.

Either way the client is ESTABLISHED at 1.020 s and the server at 1.030 s.

</details>
""")

code("""
rfc_sa = tcpedu.scenarios.lost_syn_ack(profile="rfc", client_isn=1000, server_isn=5000)
rfc_sa.trace.ladder(title='profile "rfc": the SYN,ACK is lost')
""")

code("""
linux_sa = tcpedu.scenarios.lost_syn_ack(profile="linux", client_isn=1000, server_isn=5000)
linux_sa.trace.ladder(title='profile "linux": the SYN,ACK is lost')
""")

md("""
In both cases every retransmission repeats the same numbers — the client's SYN still says
`seq = 1000`, the server's SYN,ACK still `seq = 5000, ack = 1001` — and the extra segments
are harmless: the client, already ESTABLISHED, answers a duplicate SYN,ACK with an ACK that
restates its numbers.
""")

code("""
print("client:", *[f"{state} at {t:.3f} s;" for t, state in rfc_sa.trace.states("client")])
print("server:", *[f"{state} at {t:.3f} s;" for t, state in rfc_sa.trace.states("server")])
""")

md("""
## Practice

A handshake with an ISN at the very top of the number space: the client's ISN is
4294967295 (2³² − 1), the server's 123456789 (profile `"rfc"`). Fill in the blanks, then run
the check cell. States are text in quotes, e.g. `"SYN-SENT"`.
""")

code("""
drill = tcpedu.scenarios.handshake(profile="rfc", client_isn=2**32 - 1, server_isn=123456789)
p = exercises.practice(drill, [("server_state", 1), ("ack", 2), ("client_state", 2), ("server_state", 2),
                               ("seq", 3), ("ack", 3)],
                       intro="Client ISN 4294967295, server ISN 123456789 (profile 'rfc').")
p
""")

code("""
server_state_1 = None  # your answer
ack_2 = None  # your answer
client_state_2 = None  # your answer
server_state_2 = None  # your answer
""")

code("""
seq_3 = None  # your answer
ack_3 = None  # your answer
""")

code("""
p.check(server_state_1=server_state_1, ack_2=ack_2, client_state_2=client_state_2,
        server_state_2=server_state_2, seq_3=seq_3, ack_3=ack_3)
""")

md("""
## In one paragraph

The client's SYN (seq=x) takes it to SYN-SENT and the server, out of LISTEN, to
SYN-RECEIVED; the SYN,ACK (seq=y, ack=x+1) makes the client ESTABLISHED and the ACK
(seq=x+1, ack=y+1) makes the server ESTABLISHED one trip later; three segments are needed
because only the client can tell a fresh SYN from an old duplicate, and the third segment
(or an RST instead of it) is how it says so; a lost SYN is sent again unchanged — after 1, 2,
4, … s in the textbook, after 1 s five times and then doubling on Linux — and a lost SYN,ACK
is repaired by both sides' timers at once.
""")

write("02_three_way_handshake")
