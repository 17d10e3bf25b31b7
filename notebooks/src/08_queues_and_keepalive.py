"""Build notebooks/08_queues_and_keepalive.ipynb (the prose lives here).

Run:  python notebooks/src/08_queues_and_keepalive.py
then execute the notebook in place with nbconvert (outputs are committed).
"""

from nbbuild import code, md, write

md("""
# 08 — The listen queues (半连接队列, 全连接队列) and keepalive (保活)

Two things happen on a connection while no application is looking: the kernel runs the
handshake before anyone calls `accept()`, and it can probe an idle connection to find out
whether the other end still exists. Both have limits and timers worth knowing by number.

**What you will learn**

* the two queues of a listening socket: the **SYN queue (半连接队列)** of half-open
  connections and the **accept queue (全连接队列)** of finished ones;
* that the handshake is the kernel's work: `connect()` succeeds even if the server never
  calls `accept()`;
* what `listen(backlog)` bounds on Linux — **backlog + 1** waiting connections — and what
  happens to the next SYNs: dropped, and retransmitted by the client 1, 2, 3, 4, 5 and 7 s
  after the first;
* what a SYN flood is and how SYN cookies answer it;
* **keepalive (保活)**: when it sends a probe, what the probe looks like (SEQ = SND.NXT − 1,
  no data), what it can and cannot detect;
* the real defaults: **7200 s** idle, **75 s** between probes, **9 probes** — seconds, not
  minutes.

Profile `"rfc"` is the textbook (RFC 9293, the answer an exam expects); profile `"linux"` is
what a capture of a Linux host shows.
""")

code("""
import tcpedu
from tcpedu import exercises
""")

md("""
## A listening socket has two queues

When a SYN reaches a socket in LISTEN, the kernel — not the application — runs the whole
handshake:

1. it records a **half-open** connection (半开连接) in SYN-RECEIVED and answers SYN,ACK.
   These entries wait in the **SYN queue** (半连接队列) for the client's ACK; if the ACK
   does not come, the SYN,ACK is retransmitted;
2. when the ACK arrives the connection is **ESTABLISHED** and moves to the **accept queue**
   (全连接队列);
3. it waits there until the application calls `accept()`, which takes the oldest one.

| | SYN queue (半连接队列) | accept queue (全连接队列) |
|---|---|---|
| holds | handshakes still waiting for the client's final ACK | finished connections not yet accepted |
| state of its entries | SYN-RECEIVED | ESTABLISHED |
| an entry leaves when | the final ACK arrives, or the SYN,ACK retries run out | `accept()` takes it |
| its size on Linux | limited by the backlog and `net.ipv4.tcp_max_syn_backlog` | **backlog + 1** |

The backlog is the number given to `listen()`, capped by `net.core.somaxconn`.
`accept()` takes no part in the handshake: by the time it returns a connection, the three
segments were exchanged long ago — possibly seconds earlier.
""")

md("""
## The SYN queue: a handshake waiting for its last ACK

To watch an entry sit in the SYN queue, lose the handshake's last segment, the client's ACK.
""")

code("""
sim = tcpedu.Simulation(profile="linux", latency=0.01, client_isn=1000, server_isn=5000)
sim.server.listen()
sim.drop_next("client", tcpedu.Flags.ACK)    # the handshake's final ACK will be lost
sim.client.connect()
sim.wait(0.5)
""")

code("""
print("client:", sim.client.state, "| server:", sim.server.state)
""")

md("""
Half a second later the two ends disagree. The client received the SYN,ACK and sent its ACK:
for it, the connection is open. The server never got that ACK: its connection is a
half-open entry in the SYN queue, in SYN-RECEIVED, invisible to `accept()`.

### Predict

What ends the disagreement, and when?

<details><summary>Reveal</summary>

The server's retransmission timer. The SYN,ACK was never acknowledged, so after the initial
timeout of 1 s (at 1.01 s) the server sends it again. The client answers the duplicate
SYN,ACK with its ACK once more; this time it arrives (1.03 s), and the connection leaves the
SYN queue for the accept queue.

</details>
""")

code("""
sim.wait(1.5)
sim.trace.ladder(title="the final ACK is lost: the server retransmits its SYN,ACK")
""")

md("""
## Nobody calls accept(): the accept queue fills

### Predict

A server calls `listen(1)` (backlog 1) and never calls `accept()`. Three clients connect,
10 ms apart. Under `"linux"`, how many handshakes complete, and what happens to the other
clients? Under `"rfc"`?

<details><summary>Reveal</summary>

**Linux: two** — backlog + 1. The kernel counts the queue as full only when *more* than
`backlog` connections wait in it (`sk_acceptq_is_full()`), so one more fits than the number
given to `listen()`. The third client's SYN is **dropped without an answer**: no SYN,ACK and
no RST. Its `connect()` keeps waiting and its SYN is retransmitted, 1, 2, 3, 4, 5 and 7 s
after the first, for as long as the queue stays full.

**rfc:** RFC 9293 has no accept queue, so the textbook profile completes all three
handshakes.

</details>
""")

code("""
bl = tcpedu.scenarios.backlog_overflow(profile="linux", clients=3, backlog=1)
print({name: str(bl.hosts[name].state) for name in ("client", "client2", "client3")})
bl.server.accept_queue
""")

code("""
bl.trace.ladder(numbers="relative", title="listen(1), nobody accepts: client3's SYNs are dropped")
""")

md("""
The server's column shows a half-open entry and then an established connection for
`client` and for `client2`; the arrows of `client3` reach the server and stop there, marked
"accept queue full". The brackets beside `client3` are its retransmission timer
(RTO).
The times at which `client3` sent its SYN:
""")

code("""
[round(s.time, 2) for s in bl.trace.between("client3", "server")]
""")

md("""
The first SYN left at 0.02 s; the retransmissions follow **1, 2, 3, 4, 5 and 7 s** after
it. That is not the textbook's schedule. Under `"rfc"` the timeout doubles after every try;
here are the SYNs of a client whose first three SYNs are lost (scenario `lost_syn`):
""")

code("""
rfc_syn = tcpedu.scenarios.lost_syn(profile="rfc", lost=3, client_isn=1000, server_isn=5000)
[s.time for s in rfc_syn.trace if s.sender == "client" and tcpedu.Flags.SYN in s.flags]
""")

md("""
0, 1, 3, 7 s: waits of 1, 2 and 4 s. Linux (since kernel 6.5) keeps the initial 1 s
timeout for the first few tries (`net.ipv4.tcp_syn_linear_timeouts = 4`) and only then
doubles it: waits of 1, 1, 1, 1, 1, 2 s, as `client3` shows.

A real Linux 6.18 kernel, same experiment (`data/backlog_overflow.pcap`: `listen(1)`, never
`accept()`, four clients 50 ms apart, recorded for 3.5 s). Which connections completed the
handshake, and when did the third client send its SYNs?
""")

code("""
[c.handshake_seen for c in tcpedu.list_connections("data/backlog_overflow.pcap")]
""")

code("""
tcpedu.read_pcap("data/backlog_overflow.pcap", connection=2)
""")

md("""
Two handshakes out of four, as backlog + 1 predicts. The third client's SYNs left 1.018,
2.042 and 3.066 s after its first: one second apart, plus a few milliseconds of timer
granularity. The server never answered them; the capture reader keeps it in LISTEN and its
note gives the two possible reasons — a capture alone cannot tell a dropped SYN from a lost
one. (A final ACK that arrives just when the queue has filled is dropped too: the
client then believes it is connected while the server keeps resending its SYN,ACK. With
`net.ipv4.tcp_abort_on_overflow = 1` Linux answers such clients with RST instead.)

### Predict

Same three clients, but at t = 2.53 s the application finally calls `accept()` once. When
does `client3`'s connection complete?

<details><summary>Reveal</summary>

At **3.02 s**, with its next scheduled SYN retransmission — not at 2.53 s. A dropped SYN
leaves no trace on the server, so nobody tells `client3` that there is room now; it finds
out when its own timer fires.

</details>
""")

code("""
late = tcpedu.scenarios.backlog_overflow(profile="linux", clients=3, backlog=1, duration=2.5)
late.server.accept()       # t = 2.53 s: one connection leaves the accept queue
late.wait(3)
late.trace.between("client3", "server").relative()
""")

md("""
## SYN floods and SYN cookies

Every SYN costs the server a SYN-queue entry, kept for as long as the SYN,ACK is being
retransmitted (Linux tries 5 times, `net.ipv4.tcp_synack_retries = 5`). A **SYN flood**
(SYN 洪泛攻击) exploits that: an attacker sends SYNs from forged source addresses that will
never send the final ACK, and the SYN queue fills with half-open connections, leaving no
room for real clients.

**SYN cookies** (`net.ipv4.tcp_syncookies = 1`, Linux's default) take the memory out of the
equation. When the SYN queue overflows, the server stops storing entries: it encodes what it
needs — a hash of the addresses and ports, a coarse time counter and a secret, plus an index
of the client's MSS — into the **initial sequence number of its SYN,ACK**, and forgets the
SYN. A real client's ACK carries that number back (its ack is ISN + 1), so the server can
check the cookie and rebuild the connection; a forged SYN costs it nothing. The price: TCP
options that do not fit in the cookie (window scaling, SACK) survive only if TCP timestamps
carry them.

Cookies answer an overflowing **SYN** queue. They do nothing for a full **accept** queue,
which is what we simulated above: that queue is full because the application does not call
`accept()`, and Linux drops the SYN instead. (tcpedu models the accept queue, not SYN
cookies; this section is concept only.)
""")

md("""
## Keepalive (保活)

TCP sends nothing on an idle connection. If the peer disappears without a word — power cut,
cable pulled, a crash of the whole machine — no FIN and no RST is ever sent, and the other
end may wait forever on a connection that no longer exists anywhere else: a **half-open
connection**.

**Keepalive** is the optional cure. It is off by default; an application switches it on per
socket (`SO_KEEPALIVE`). Then, once the connection has been idle — nothing received — for
`idle` seconds, TCP sends a **probe**; if no answer comes it repeats the probe every
`interval` seconds, and after `probes` unanswered probes it drops the connection and reports
`ETIMEDOUT` to the application. On a real socket:

```python
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 10)   # idle, seconds
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 2)   # interval, seconds
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)     # probes
```

| setting | socket option | Linux sysctl | default |
|---|---|---|---|
| idle time before the first probe | `TCP_KEEPIDLE` | `net.ipv4.tcp_keepalive_time` | **7200 s** (2 hours) |
| time between probes | `TCP_KEEPINTVL` | `net.ipv4.tcp_keepalive_intvl` | **75 s** |
| unanswered probes before giving up | `TCP_KEEPCNT` | `net.ipv4.tcp_keepalive_probes` | **9** |

RFC 9293 (§3.8.4) makes keepalive optional, off by default, and requires that the idle time
default to no less than two hours. tcpedu's sockets take the same calls; the scenarios below
use the short form `sim.client.keepalive(idle=10, interval=2, probes=3)`, so that the
pictures stay readable.
""")

md("""
### Predict: what does a probe look like?

Scenario `keepalive_idle`: client ISN 1000, server ISN 5000, nothing sent after the
handshake, so the client's SND.NXT is 1001 and the server's is 5001. What are the probe's
seq and length, and what does the server answer?

<details><summary>Reveal</summary>

The probe is `ACK seq=1000 ack=5001`, **length 0**: its seq is **SND.NXT − 1**, a sequence
number the server has already acknowledged. A segment that is entirely old is unacceptable,
and RFC 9293 (§3.10.7.4) says an unacceptable segment must be answered with an ACK that
carries the receiver's RCV.NXT — here `ACK seq=5001 ack=1001`. That answer is the sign of
life. The probe carries no new data, so it changes nothing in either stream.

</details>
""")

code("""
ka = tcpedu.scenarios.keepalive_idle(profile="linux", client_isn=1000, server_isn=5000)
ka.trace
""")

md("""
The first probe leaves at 10.03 s, 10 s after keepalive was switched on at 0.03 s with
nothing received in between. The server's answer arrives at 10.05 s and restarts the idle
period: the next probe leaves at 20.05 s. A connection whose peer answers is probed once per
idle period, forever, and the application never hears of it. Step through it:
""")

code("""
ka.trace.stepper()
""")

md("""
### Predict: a peer that vanished

Now the server crashes right after the handshake: it sends nothing, and answers nothing.
With idle 10 s, interval 2 s and 3 probes, when does the client give up? What does it send
then, and what does its application see? Does the profile matter?

<details><summary>Reveal</summary>

Probes at 10.03, 12.03 and 14.03 s go unanswered. At **16.03 s** — idle + probes × interval
after keepalive was switched on — the client drops the connection, and the application's
next call raises **`TimeoutError`** (ETIMEDOUT). Under `"linux"` the client also sends a
**RST,ACK** as it gives up (the kernel's keepalive timer resets the connection); the textbook
profile sends nothing more.

</details>
""")

code("""
dead = tcpedu.scenarios.keepalive_dead_peer(profile="linux", client_isn=1000, server_isn=5000)
dead.trace.ladder(title='keepalive finds a dead peer (profile "linux")')
""")

code("""
print(tcpedu.scenarios.keepalive_dead_peer(profile="rfc", client_isn=1000, server_isn=5000).trace)
""")

md("""
Every segment after the crash is marked "server is down": it was sent, and nobody received
it. (The server's state column keeps the last state the server had before it crashed; a
crashed host records nothing more.) The client's own path through the state table ends with
the timeout, from ESTABLISHED straight to CLOSED:
""")

code("""
tcpedu.draw_state_graph(trace=dead.trace, hosts=("client",))
""")

md("""
### The real defaults: seconds, not minutes

With the defaults — 7200 s, 75 s, 9 probes — how long does it take to notice the dead peer?
""")

code("""
slow = tcpedu.scenarios.keepalive_dead_peer(profile="linux", client_isn=1000, server_isn=5000,
                                            idle=7200, interval=75, probes=9)
print([round(s.time, 2) for s in slow.trace.segments[3:]])
""")

md("""
Nine probes, from 7200.03 s to 7800.03 s, 75 s apart; at 7875.03 s (2 h 11 min 15 s) the
client gives up with its RST,ACK. Two hours of silence before the first probe is why
applications that care set `TCP_KEEPIDLE` far lower, or send heartbeats of their own.

A popular article says that after two hours a probe is sent "every 75 minutes", up to 10
probes. The interval is 75 **seconds**, and Linux sends
9 probes. How much the unit matters:
""")

code("""
wrong = tcpedu.scenarios.keepalive_dead_peer(profile="linux", idle=7200, interval=75 * 60, probes=10)
wrong.trace.segments[-1].time
""")

md("""
52200 s — more than fourteen and a half hours — instead of just over two hours.

### What keepalive detects — and what it does not

| the peer ... | its answer to a probe | what the prober's application sees |
|---|---|---|
| is alive and its kernel runs | an ACK | nothing: the connection stays |
| vanished (power, cable, machine crash) | nothing | `TimeoutError` (ETIMEDOUT) after the last probe |
| rebooted (a new kernel that knows nothing of the connection) | a RST | `ConnectionResetError` (ECONNRESET) |
| runs, but its application hangs | an ACK: the kernel answers, not the application | nothing |

The rebooted peer is not simulated here (tcpedu's `crash()` models a host that stays down),
but it follows from what we saw in the previous notebook: a segment for a connection that
does not exist is answered with RST. A hung application is the case keepalive was never
meant for: only the application's own heartbeats can find it.
""")

md("""
## Practice

The table is the `keepalive_idle` run above (client ISN 1000, server ISN 5000). Fill in the
answer cell, run it, then run the check.
""")

code("""
p = exercises.practice(ka, [("seq", 4), ("len", 4), ("ack", 4), ("ack", 5)],
                       intro="A keepalive probe and its answer (profile linux).")
p
""")

code("""
seq_4 = None    # numbers
len_4 = None
ack_4 = None
ack_5 = None
""")

code("""
p.check(seq_4=seq_4, len_4=len_4, ack_4=ack_4, ack_5=ack_5)
""")

md("""
Stuck? `p.hint("seq_4")` gives a hint without giving the answer away.

## In one paragraph

A listening socket has two queues: the SYN queue (半连接队列) holds half-open handshakes in
SYN-RECEIVED until the client's final ACK arrives, and the accept queue (全连接队列) holds
finished, ESTABLISHED connections until the application calls `accept()` — the kernel runs
the handshake alone. On Linux `listen(backlog)` lets backlog + 1 connections wait; after that
new SYNs are dropped without an answer and the client retransmits them 1, 2, 3, 4, 5 and 7 s
after the first, getting in only when room has been made and its own timer fires; SYN
cookies protect the SYN queue from floods, not the accept queue from a slow application.
Keepalive (保活) finds peers that vanished without a word: after an idle period it sends
probes with SEQ = SND.NXT − 1 and no data, which a live kernel must answer with an ACK; after
the last unanswered probe the connection is dropped with ETIMEDOUT (Linux also sends a RST).
The defaults are 7200 s of idleness, then 9 probes 75 s apart — seconds, not minutes.
""")


write("08_queues_and_keepalive")
