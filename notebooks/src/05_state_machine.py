"""Build notebooks/05_state_machine.ipynb (run from anywhere; then execute it in place with nbconvert)."""

from nbbuild import code, md, write

md("""
# 05 — The state machine (状态机)

The notebooks so far followed one connection at a time. This one puts every path on one map: the
TCP **state diagram** (状态图) of RFC 9293, Figure 5, and the arrows that figure leaves out.

**What you will learn**

* the eleven states and the arrows between them, each labelled *event / what is sent*;
* the four everyday paths: the active opener's, the passive opener's, the active closer's and the
  passive closer's — and that "client" and "server" are not the same thing as "opener" and
  "closer";
* the two rare paths: simultaneous open (同时打开), where Linux sends six segments to the RFC's
  four, and simultaneous close (同时关闭), the only way into CLOSING;
* the arrows Figure 5 does not draw: resets (RST), aborts and timeouts;
* the table behind the drawing — `tcpedu.TRANSITIONS`, one row per arrow, each citing the RFC —
  and how to light up any trace's path on the diagram.
""")

code("""
import tcpedu
""")

md("""
## The figure

Each box is a **state** of one end of a connection; each arrow is a **transition**, labelled the
way RFC 9293 labels them: the event that causes it, a slash, and the segment sent (`-` for none).
`rcv SYN / snd SYN,ACK` means "a SYN arrives; answer with SYN,ACK". `CLOSE` and `active OPEN`
are the application's calls — `close()` and `connect()` in the socket API — and `passive OPEN` is
`listen()`. One arrow has no socket call behind it: LISTEN → SYN-SENT on `SEND`. RFC 9293 lets a
listening connection be turned into an active one by sending on it; the socket API offers no
way to do that.
""")

code("""
tcpedu.draw_state_graph(paths="normal", profile="rfc")
""")

md("""
Eleven states, twenty arrows. Each end of a connection is in exactly one state at a time; the two
ends of one connection are usually in *different* states, as the traces of notebooks 03 and 04
showed (FIN-WAIT-2 on one side while the other is in CLOSE-WAIT).

## The table behind the drawing

That picture is not drawn by hand. The engine runs on a table, `tcpedu.TRANSITIONS`: one row per
arrow, saying in which state, on which event, what is sent and which state comes next, with the
section of RFC 9293 that says so. The diagram is drawn from the same rows, so the picture and
the behaviour cannot disagree.
""")

code("""
print(len(tcpedu.TRANSITIONS), "rows;", sum(row.figure5 for row in tcpedu.TRANSITIONS), "drawn in Figure 5")
""")

md("""
One row is a small record. Here is the arrow from FIN-WAIT-2 to TIME-WAIT:
""")

code("""
row = tcpedu.TRANSITIONS[15]
row
""")

code("""
row.label, row.section
""")

md("""
A few rows in a row: the closing part of Figure 5 (rows 10 to 18), each with its section of
RFC 9293.
""")

code("""
for row in tcpedu.TRANSITIONS[10:19]:
    print(f"{row.state!s:13} {row.label:22} -> {row.next!s:12} RFC 9293 §{row.section}")
""")

md("""
The diagram above is a `networkx` graph built from these rows — one node per state, one edge per
row — and then drawn. With `paths="normal"` it keeps the rows Figure 5 draws:
""")

code("""
graph = tcpedu.state_graph(profile="rfc", paths="normal")
graph.number_of_nodes(), graph.number_of_edges()
""")

md("""
## The four everyday paths

Every ordinary connection uses four paths through the diagram, one per role:

| role | path |
|---|---|
| active opener (主动打开方): calls `connect()` | CLOSED → SYN-SENT → ESTABLISHED |
| passive opener (被动打开方): calls `listen()` | CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED |
| active closer (主动关闭方): first FIN | ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED |
| passive closer (被动关闭方): answers it | ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED |

A four-way close after a handshake walks all four: here the client opens actively and closes
first.
""")

code("""
sim = tcpedu.scenarios.four_way_close(profile="rfc", client_isn=1000, server_isn=5000)
sim.trace.stepper()
""")

md("""
Every state change in a simulation is recorded with the table row that caused it.
`trace.states(host)` lists them in order:
""")

code("""
for host in ("client", "server"):
    print(f"{host}: CLOSED → " + " → ".join(str(state) for _, state in sim.trace.states(host)))
""")

md("""
`draw_state_graph(trace=...)` lights both paths on the diagram, the client solid and the server
dashed; a tag marks where each one ended.
""")

code("""
tcpedu.draw_state_graph(trace=sim.trace)
""")

md("""
### Predict, then reveal

The roles are not tied to "client" and "server". Suppose the client opens, but the *server*
closes first (as an HTTP server does when it closes after its response). Which path does each
side take?
""")

md("""
<details><summary>Reveal</summary>

The client is still the active opener but becomes the passive closer: CLOSED → SYN-SENT →
ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED. The server is the passive opener and the active
closer: CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT →
CLOSED. Who opened says nothing about who waits in TIME-WAIT.
</details>
""")

code("""
flipped = tcpedu.scenarios.four_way_close(profile="rfc", closer="server", client_isn=1000, server_isn=5000)
for host in ("client", "server"):
    print(f"{host}: CLOSED → " + " → ".join(str(state) for _, state in flipped.trace.states(host)))
""")

md("""
## Simultaneous open (同时打开)

An arrow in the middle of the figure is rarely used: **SYN-SENT → SYN-RECEIVED** on
*rcv SYN / snd SYN,ACK*. It fires when both ends call `connect()` towards each other at the same
moment, so that each one's SYN arrives while it is itself in SYN-SENT. Nobody listens. It happens
in peer-to-peer programs that "punch holes" through NATs, and when a socket connects to its own
port.

Each end answers the other's SYN with a SYN,ACK and enters SYN-RECEIVED; each SYN,ACK then
acknowledges a SYN, and both reach ESTABLISHED. That is RFC 9293's Figure 7, four segments in all.

### Predict, then reveal

How many segments does a simultaneous open take under the textbook profile, and how many under
Linux?
""")

md("""
<details><summary>Reveal</summary>

`"rfc"`: **4** — two SYNs, then two SYN,ACKs, as in Figure 7. `"linux"`: **6** — Linux also
acknowledges the peer's SYN,ACK (its SYN is a duplicate by then, and Linux answers a duplicate
SYN with an ACK), so two plain ACKs follow. A capture of a simultaneous open on Linux therefore
does not look like the textbook figure.
</details>
""")

code("""
for profile in ("rfc", "linux"):
    both = tcpedu.scenarios.simultaneous_open(profile=profile, client_isn=1000, server_isn=5000)
    print(f"{profile:5} {len(both.trace)} segments:", ", ".join(str(s.flags) for s in both.trace))
""")

code("""
both.trace.ladder(title="Simultaneous open under Linux: six segments")
""")

md("""
Both ends take the same path, CLOSED → SYN-SENT → SYN-RECEIVED → ESTABLISHED, along the
horizontal arrow in the middle of the diagram:
""")

code("""
tcpedu.draw_state_graph(trace=both.trace)
""")

md("""
## Simultaneous close (同时关闭) and CLOSING

The state **CLOSING** has one way in: a FIN arrives while the end is in FIN-WAIT-1 — it has sent
its own FIN, and the peer's FIN arrives before the ACK of it. That happens when both
applications call `close()` at the same moment, so that the two FINs cross on the wire (RFC 9293
Figure 13).

### Predict, then reveal

Both sides close at the same moment. Which side ends in TIME-WAIT?
""")

md("""
<details><summary>Reveal</summary>

**Both.** Each one sent a FIN before receiving the other's, so each is an active closer. Each
goes ESTABLISHED → FIN-WAIT-1 → CLOSING (the peer's FIN arrives, and is acknowledged) →
TIME-WAIT (the ACK of its own FIN arrives). Still four segments — two FINs, two ACKs — but
nobody goes through CLOSE-WAIT or LAST-ACK, and both wait 2MSL.
</details>
""")

code("""
crossed = tcpedu.scenarios.simultaneous_close(profile="rfc", client_isn=1000, server_isn=5000)
crossed.trace.ladder(title="Simultaneous close: the FINs cross, both sides pass through CLOSING")
""")

md("""
The ladder stretches time where several things happen at once, so the server's `close()` is
drawn a little lower than the client's. In the trace, both FINs (segments 4 and 5) left at the
same instant:
""")

code("""
[(seg.sender, str(seg.flags), seg.time) for seg in crossed.trace[3:5]]
""")

md("""
Each side's path through the diagram:
""")

code("""
tcpedu.draw_state_graph(trace=crossed.trace)
""")

md("""
Next to CLOSING the table holds an arrow Figure 5 does not draw: **FIN-WAIT-1 → TIME-WAIT** on
*rcv FIN + ACK of FIN*, when the peer's FIN arrives in the same segment as the ACK of our own.
That is the closer's path in the Linux "three-way close" (notebook 06), where the ACK rides on
the peer's FIN:
""")

code("""
merged = tcpedu.scenarios.three_way_close(profile="linux", client_isn=1000, server_isn=5000)
print("client: CLOSED → " + " → ".join(str(state) for _, state in merged.trace.states("client")))
tcpedu.TRANSITIONS[19].label, tcpedu.TRANSITIONS[19].figure5
""")

md("""
## Resets, aborts and timeouts: the arrows Figure 5 leaves out

Figure 5 draws only the orderly paths. A connection can also end abruptly, from almost any
state: a **reset** (RST, 复位) arrives, the application **aborts** (`close()` with SO_LINGER set
to zero, or `close()` with unread data), or a timer gives up (retransmissions or keepalive probes
unanswered). The table has a row for each, and `paths="all"` draws them all (below).

### Predict, then reveal

Three scenarios end with a reset somewhere: a `connect()` to a port where nothing listens
(`connection_refused`), an abortive close (`abortive_close`), and an old duplicate SYN that
reaches a listening server (`old_duplicate_syn`, RFC 9293 Figure 8). For each: which state does
the reset hit, and where does it lead?
""")

md("""
<details><summary>Reveal</summary>

* **connection refused**: the client is in SYN-SENT; the RST,ACK from the closed port takes it
  to CLOSED, and `connect()` fails with ConnectionRefusedError.
* **abortive close**: the client aborts from ESTABLISHED (*ABORT / snd RST*) and is CLOSED at
  once — no FIN, no TIME-WAIT; the server receives the RST in ESTABLISHED and goes to CLOSED
  too; its next `recv()` fails with "connection reset".
* **old duplicate SYN**: the server answered the stale SYN and is in SYN-RECEIVED; the client,
  which never sent that SYN, answers the SYN,ACK with RST, and the server goes **back to
  LISTEN** — the one reset arrow Figure 5 does draw (*rcv RST / -*). The real SYN then opens
  the connection normally.
</details>
""")

code("""
for name in ("connection_refused", "abortive_close", "old_duplicate_syn"):
    events = tcpedu.scenarios.run(name, profile="rfc").trace.events
    print(f"{name}:", *(f"{e.host} {e.old} → {e.new} ({e.detail})" for e in events if "RST" in e.detail))
""")

md("""
The old-duplicate scenario also shows the client's own small arrow: in SYN-SENT, an ACK for
something it never sent is answered with a reset and changes nothing (*rcv unacceptable ACK /
snd RST*).

Here is the whole table drawn, every row of the `"rfc"` profile. The arrows Figure 5 leaves out
are grey; each state's abrupt endings (reset, abort, timeout) are grouped into one light dashed
arrow to a small CLOSED box beside it. Lit on it: the abortive close, where both sides leave
ESTABLISHED straight for CLOSED.
""")

code("""
tcpedu.draw_state_graph(paths="all", trace=tcpedu.scenarios.abortive_close(profile="rfc"))
""")

md("""
Where the profiles differ on these paths, it is in what the reset looks like, not where it
leads: for an abort the textbook sends a bare RST (`<SEQ=SND.NXT><CTL=RST>`), Linux an RST,ACK
that also acknowledges what it received (`tcpedu.get_profile("linux").abort_flags`).

## Practice

Both sides close at once, with new numbers. Fill in the states (and one number) and run the
check. Remember how the table reads: the sender's state after sending, the receiver's after
receiving.
""")

code("""
drill = tcpedu.scenarios.simultaneous_close(profile="rfc", client_isn=2500, server_isn=8800)
blanks = [("client_state", 4), ("server_state", 4), ("seq", 6), ("client_state", 6), ("server_state", 7)]
p = tcpedu.exercises.practice(drill, blanks, intro="Client ISN 2500, server ISN 8800; both close at 0.030 s.")
p
""")

code("""
client_state_4 = None   # your answer: a state in quotes, like "LISTEN"
server_state_4 = None   # your answer: a state in quotes
seq_6 = None            # your answer: a number
client_state_6 = None   # your answer: a state in quotes
server_state_7 = None   # your answer: a state in quotes
""")

code("""
p.check(client_state_4=client_state_4, server_state_4=server_state_4, seq_6=seq_6,
        client_state_6=client_state_6, server_state_7=server_state_7)
""")

md("""
## In one paragraph

One end of a TCP connection is always in one of eleven states, and every move between them is a
row of one table — state, event, segment sent, next state, RFC section — from which the diagram
is drawn. Ordinary connections use four paths (active and passive opener, active and passive
closer), and the roles depend on who calls `connect()` and who sends the first FIN, not on which
side is the client; simultaneous open (four segments in the RFC, six on Linux) and simultaneous
close (both sides through CLOSING to TIME-WAIT) use the rarer arrows, and resets, aborts and
timeouts add the arrows Figure 5 leaves out, most of them leading straight to CLOSED.
""")

write("05_state_machine")
