# ruff: noqa: E501  (markdown tables cannot be wrapped)
"""Build notebooks/00_start_here.ipynb (the course map, the tools, the two profiles, the glossary).

    python notebooks/src/00_start_here.py
    cd notebooks && jupyter nbconvert --to notebook --execute --inplace 00_start_here.ipynb
"""

from nbbuild import code, md, write

md("""
# Start here — TCP connection management, exact and alive

This course is about one small, famous part of TCP: how a connection is **opened**
(the three-way handshake, 三次握手), how it is **closed** (the four-way close, 四次挥手),
and everything around them — sequence numbers, TIME-WAIT and 2MSL, half-close,
RST, delayed ACKs, keepalive and the queues of a listening socket.

Everything you see is computed, not drawn by hand. The library `tcpedu` simulates
two hosts, a client and a server, talking TCP. It knows two behaviours:

* **`"rfc"`** — the textbook, RFC 9293, the numbers exams ask about;
* **`"linux"`** — what a real Linux kernel puts on the wire, checked against
  captures of a real kernel.

Where the two differ, there is something to learn.

## What you will learn here

* what the eleven notebooks of the course cover, and in which order to read them;
* how to run a simulation and read its table;
* how to use the course's three interactive tools: the **stepper** (a ladder diagram that
  plays one segment at a time, with the state graph beside it), the **practice cells** that
  check your answers at once, and the **answer form** of the homework;
* what the two profiles are, and which one answers which question;
* the words of the course in English and Chinese (the glossary at the end).
""")

md("""
## The course

| notebook | what it answers |
|---|---|
| [00 Start here](00_start_here.ipynb) | this page: the tools, the two profiles, the glossary |
| [01 Segments and numbers](01_segments_and_numbers.ipynb) | the header fields that matter; what seq and ack count; why SYN and FIN use a number; relative numbers; the wrap at 2³² |
| [02 The three-way handshake](02_three_way_handshake.ipynb) | SYN, SYN+ACK, ACK with their states and numbers; why three segments and not two; a lost SYN, a lost SYN+ACK |
| [03 The four-way close](03_four_way_close.ipynb) | FIN, ACK, FIN, ACK; which side waits in which state; half-close and data after the first FIN |
| [04 TIME-WAIT and 2MSL](04_time_wait_and_2msl.ipynb) | why the side that closes first waits, how long (textbook and Linux), what a lost last ACK does |
| [05 The whole state machine](05_state_machine.ipynb) | all eleven states and every arrow of RFC 9293's diagram, simultaneous open and close |
| [06 Delayed ACK and the three-way close](06_delayed_ack_three_way_close.ipynb) | why a real close often takes three segments, not four |
| [07 close(), shutdown() and RST](07_close_shutdown_rst.ipynb) | what each call puts on the wire; RST on unread data; abortive close; a refused connection |
| [08 Queues and keepalive](08_queues_and_keepalive.ipynb) | the SYN queue and the accept queue of a listening socket; keepalive probes on an idle connection |
| [09 Real traces](09_real_traces.ipynb) | reading captures (pcap) and running the same calls on this machine's real kernel |
| [10 Misconceptions](10_misconceptions.ipynb) | the mistakes popular articles make, each one checked by simulation |

Read 01 to 04 in order: each builds on the one before. 05 puts them together; 06, 07 and 08
each stand on their own; 09 and 10 are best at the end.

**How to use a notebook:** click a grey code cell and press **Shift+Enter** to run it.
Change a number and run it again: the simulation is yours. Run the cells from the top
(or use *Run → Run All Cells*); nothing in the course needs the network.
""")

md("""
## A first connection

The next cell opens a connection. `client_isn` and `server_isn` are the *initial sequence
numbers* (ISN, 初始序列号) each side picks; real systems pick them at random, here we
fix them so the numbers are easy to follow.
""")

code("""
import tcpedu
from tcpedu import exercises
""")

code("""
sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=1000, server_isn=5000)
sim.server.listen()     # the server waits in LISTEN
sim.client.connect()    # the client sends SYN
sim.wait(0.05)          # 50 simulated milliseconds pass
sim.trace
""")

md("""
Read the table row by row. Each row is one **segment** (报文段):

1. the client's **SYN** carries `seq = 1000`, its ISN;
2. the server answers **SYN,ACK** with its own ISN, `seq = 5000`, and `ack = 1001`:
   "I have everything up to 1000, send 1001 next" — the SYN used up one sequence number;
3. the client's **ACK** has `seq = 1001` and `ack = 5001`.

The state columns show each side's state as the RFC's own figures do: the sender's
state after sending, the receiver's after receiving. Both end in ESTABLISHED.
""")

code("""
print(sim.client.state, sim.server.state)
""")

md("""
## Tool 1: the stepper — the ladder, one segment at a time

A **ladder diagram** (时序图) draws time flowing down, one vertical line per host, one arrow
per segment. `sim.trace.stepper()` shows it one segment at a time:

* **▶ (play)** plays the segments one after another, a little over a second each;
* the **segments** slider jumps to any point: 0 is "before the first segment";
* the **step** box's small arrows go one segment back or forward (or type a number);
* the line above the pictures names the segment on show;
* on the right, the **state graph** (状态图) marks where each side is after that segment:
  the client in a solid blue frame, the server in a dashed orange one.

The frames are drawn in advance, so stepping works even when the kernel is busy or gone.
Where widgets cannot be shown (some viewers, a notebook exported to HTML), the stepper
appears as one still picture of the whole ladder; run the cell to get the widget back.
""")

code("""
sim.trace.stepper()
""")

md("""
Step to 1: the client is in SYN-SENT and the server, which has just received the SYN, in
SYN-RECEIVED. Step to 2: the SYN,ACK has reached the client, which is ESTABLISHED, while the
server still waits in SYN-RECEIVED. Step to 3: both are ESTABLISHED.

A still picture of the same ladder is `sim.trace.ladder()`; `print(sim.trace.ladder_text())`
gives it as plain text, for terminals and screen readers.
""")

md("""
## The state graph

The state graph is RFC 9293's Figure 5, drawn from the library's own table of transitions.
Given a trace it draws the path each side took: here the client went CLOSED → SYN-SENT →
ESTABLISHED, and the server CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED. Each arrow is
labelled *event / what is sent*: `rcv SYN / snd SYN,ACK` means "on receiving a SYN, send a
SYN,ACK". Notebook 05 walks through the whole diagram.
""")

code("""
tcpedu.draw_state_graph(trace=sim.trace)
""")

md("""
## Predict, then reveal

Every notebook asks questions *before* it shows the answer. Decide on your answer first
(write it down, or say it aloud), then open **Reveal**, then run the cell under it: the
answer is always shown by a simulation, never just asserted.

**Question.** The textbook says a close takes four segments: FIN, ACK, FIN, ACK. The client
closes; the server's application closes as soon as it reads the end of the stream. How many
segments does the close take under `"rfc"`, and how many on a real Linux kernel?

<details><summary>Reveal</summary>

Four under `"rfc"`: FIN,ACK; ACK; FIN,ACK; ACK. **Three** under `"linux"`: FIN,ACK; FIN,ACK;
ACK. (The first FIN carries the ACK flag too: after the handshake every segment does.)

</details>
""")

code("""
rfc = tcpedu.scenarios.three_way_close(profile="rfc", client_isn=1000, server_isn=5000)
linux = tcpedu.scenarios.three_way_close(profile="linux", client_isn=1000, server_isn=5000)
print("rfc:", *rfc.trace.lines()[3:], sep="\\n  ")
print("linux:", *linux.trace.lines()[3:], sep="\\n  ")
""")

md("""
On Linux the ACK of a FIN is *delayed*; the server's own FIN leaves before the delay
is over and carries the acknowledgement with it, so the close takes **three** segments.
A capture of a real close very often shows exactly this. The notebook on delayed ACKs
(06) explains why.
""")

md("""
## The two profiles

Every simulation runs under one of two **profiles**, and every notebook says which one a
result comes from:

* **`"rfc"` — the exam answer.** RFC 9293 as textbooks draw it: every ACK is sent at once,
  TIME-WAIT lasts 2 × MSL, the retransmission timer starts at 1 s and doubles. Use it when a
  question says "according to the protocol".
* **`"linux"` — what a capture shows.** A Linux 6.x kernel with its default settings, checked
  segment by segment against captures of a real kernel: delayed ACKs, a shorter TIME-WAIT, a
  different SYN retry schedule, PSH on data. Use it to explain what Wireshark shows you.

When the two agree, the notebooks say so (and show it). The table below is generated from
the library: each setting, its value in each profile, and where the value comes from (an
RFC section or a kernel constant). Times are in seconds.
""")

code("""
from IPython.display import Markdown

Markdown(tcpedu.profiles.profile_table_markdown())
""")

md("""
## Tool 2: practice cells with instant feedback

Each notebook ends with a short practice. It shows a trace with some fields blanked out
(**?**) and a numbered list of questions. Answer in the cell below it, replacing each `None`
(numbers as numbers, `ack_5 = 1301`; arithmetic is fine, `1001 + 300`; states and flags as text
in quotes, `"FIN-WAIT-1"`, `"FIN,ACK"`), then run the check cell: each blank gets ✅ or ❌,
and a wrong number gets the name of the mistake that probably produced it (a SYN's number
forgotten, segments counted instead of bytes, a seq given where the ack was asked, relative
and absolute numbers mixed, the wrap at 2³² forgotten, the ACK flag taken for the ack
number, a +1 added for a pure ACK). `p.hint("ack_2")` gives a hint. Nothing is recorded:
try as often as you like.

Here is a practice on a new handshake, with other ISNs.
""")

code("""
sim2 = tcpedu.scenarios.handshake(profile="rfc", client_isn=4000, server_isn=9000)
p = exercises.practice(sim2, [("server_state", 1), ("ack", 2), ("server_state", 2), ("seq", 3), ("ack", 3)],
                       intro="A handshake: client ISN 4000, server ISN 9000 (profile 'rfc').")
p
""")

code("""
server_state_1 = None  # your answer, a state name in quotes
ack_2 = None  # your answer
server_state_2 = None  # your answer
seq_3 = None  # your answer
ack_3 = None  # your answer
""")

code("""
p.check(server_state_1=server_state_1, ack_2=ack_2, server_state_2=server_state_2, seq_3=seq_3, ack_3=ack_3)
""")

md("""
To see what a wrong answer looks like, here are two typical ones: the SYN's own seq given as
the ack (forgetting that the SYN takes a number), and the server's number given as the
client's seq.
""")

code("""
p.check(ack_2=4000, seq_3=9001)
""")

md("""
## Tool 3: the answer form

The homework (the `exercises/` folder; your instructor gives each student their own
numbers) uses the same checker. In a notebook with a running kernel, an exercise can also
show a **form**: one box per question and a **Check** button. Type a number, simple
arithmetic (`1095514148 + 1`, `2**32 - 5`) or text (`SYN,ACK`, `TIME-WAIT`), press Check, and
the verdicts appear under the button. The form checks only when the kernel runs; in a saved
copy its boxes are there but the button does nothing.

The exercise below is a homework exercise with one sample student's numbers: the table with
its blanks and the questions first, then the form.
""")

code("""
ex = exercises.load("handshake_numbers", exercises.draw("handshake_numbers", 1))
ex
""")

code("""
ex.form()
""")

md("""
## Glossary — 术语表

Each notebook gives the Chinese term beside the English one at first use; here they all are.

**Segments and numbers**

| English | 中文 | in one line |
|---|---|---|
| segment | 报文段 | one TCP packet: a header and, maybe, data |
| header | 首部 | the fields in front of the data: ports, seq, ack, flags, window, ... |
| source / destination port | 源端口 / 目的端口 | which application on each host; two addresses and two ports name a connection |
| connection 4-tuple | 四元组 | (client address, client port, server address, server port) |
| byte stream | 字节流 | TCP carries bytes, not messages: the numbers count bytes |
| full-duplex | 全双工 | both directions carry data independently, so each direction is closed on its own |
| sequence number (seq) | 序号 / 序列号 | the number of the first byte (or SYN/FIN) a segment carries |
| acknowledgement number (ack) | 确认号 | the next number the sender expects to receive: everything before it has arrived |
| initial sequence number (ISN) | 初始序列号 | the seq of a side's SYN; real systems pick it at random |
| relative sequence number | 相对序号 | seq − ISN, as Wireshark shows it by default: each side's SYN is 0 |
| absolute sequence number | 绝对序号 | the number actually in the header |
| wrap-around (mod 2³²) | 序号回绕 | numbers are 32 bits: after 4294967295 comes 0 |
| SEG.LEN | 报文段占用的序号数 | data bytes + 1 for a SYN + 1 for a FIN: how far a segment moves the numbers |
| payload, length | 数据 (载荷), 长度 | the data bytes a segment carries; tcpdump's `length` |
| maximum segment size (MSS) | 最大报文段长度 | the most data bytes one segment may carry |
| window (win) | 窗口 (接收窗口) | how many more bytes the sender of the segment can receive now |
| SYN / ACK / FIN / RST / PSH flags | 同步 / 确认 / 终止 (结束) / 复位 / 推送 标志位 | control bits; SYN and FIN each use one sequence number, ACK and RST none |
| ACK flag vs ack number | ACK 标志位 与 确认号 | the flag says the ack field is valid; the number is what is acknowledged |
| pure ACK | 纯确认报文段 | an ACK with no data, SYN or FIN: it uses no sequence number |
| cumulative acknowledgement | 累积确认 | one ack number acknowledges every byte before it |
| piggybacking | 捎带确认 | an ACK riding on a segment sent anyway (data or a FIN) |

**Opening and closing**

| English | 中文 | in one line |
|---|---|---|
| three-way handshake | 三次握手 | SYN, SYN+ACK, ACK |
| passive / active open (opener) | 被动打开 (方) / 主动打开 (方) | `listen()` on the server / `connect()` on the client |
| old duplicate SYN | 已失效的连接请求报文段 (历史重复 SYN) | a SYN from an earlier attempt, delayed in the network, arriving late |
| connection refused | 连接被拒绝 | a SYN to a port where nothing listens is answered with RST |
| four-way close | 四次挥手 | FIN, ACK, FIN, ACK |
| graceful close | 优雅关闭 | the end by FIN: every byte sent is delivered, then the connection closes |
| end of stream (EOF) | 流结束 | what a FIN means to the receiving application: `recv()` returns `b""` |
| three-way close | 三次挥手 | FIN; FIN+ACK; ACK: the ACK of the first FIN rides on the second FIN |
| half-close | 半关闭 | one direction closed (`shutdown(SHUT_WR)` sends FIN), the other still carrying data |
| active / passive closer | 主动关闭方 / 被动关闭方 | who sends the first FIN / who answers it |
| simultaneous open / close | 同时打开 / 同时关闭 | both sides send SYN (or FIN) before receiving the other's |
| RST | 复位 | "this connection does not exist (any more)": an abrupt end, acknowledged by nobody |
| connection reset by peer (ECONNRESET) | 连接被对端重置 | what `recv()` reports after an RST arrived |
| broken pipe (EPIPE, SIGPIPE) | 管道破裂 | what `send()` reports on a connection that can no longer send |
| abortive close | 异常关闭 (强制关闭) | `close()` with SO_LINGER {1, 0}: RST at once, no FIN, no TIME-WAIT |
| `SO_REUSEADDR`, `tcp_tw_reuse` | 地址重用 | options that let a new connection reuse a port whose old connection is still in TIME-WAIT |
| socket | 套接字 | what a program holds for one endpoint: `listen()`, `connect()`, `send()`, `recv()`, `close()` |
| `close()` / `shutdown()` | 关闭 / 半关闭 调用 | close() gives the socket up; shutdown(SHUT_WR) sends FIN and keeps receiving |
| half-open connection | 半开连接 | two uses: a handshake not finished yet (SYN-RECEIVED, in the SYN queue); or a connection one side still has after the other crashed and forgot it (RFC 9293 §3.5.1). Not the same as half-close |
| orphan connection | 孤儿连接 | a connection whose application has called close() while TCP finishes the close alone |

**States** (RFC 9293 spelling; `netstat` writes `SYN_RECV`, `TIME_WAIT`, `ss` writes `SYN-RECV`, `ESTAB`)

| English | 中文 | in one line |
|---|---|---|
| state machine | 状态机 | the eleven states and the events that move a connection between them (RFC 9293 Figure 5) |
| CLOSED | 关闭 | no connection |
| LISTEN | 监听 (收听) | a server socket waiting for SYNs |
| SYN-SENT | 同步已发送 | the client has sent its SYN and waits for SYN+ACK |
| SYN-RECEIVED | 同步已接收 (同步收到) | a SYN arrived and SYN+ACK was sent; waiting for the final ACK |
| ESTABLISHED | 已建立连接 | the handshake is over: data flows both ways |
| FIN-WAIT-1 | 终止等待 1 | our FIN is sent, not yet acknowledged |
| FIN-WAIT-2 | 终止等待 2 | our FIN is acknowledged; waiting for the peer's FIN |
| CLOSE-WAIT | 关闭等待 | the peer has closed; our application has not yet |
| CLOSING | 同时关闭中 | both FINs crossed; waiting for the ACK of ours |
| LAST-ACK | 最后确认 | our FIN, sent after the peer's, waits for its ACK |
| TIME-WAIT | 时间等待 | the active closer waits 2MSL before forgetting the connection |
| transmission control block (TCB) | 传输控制块 | what a host remembers about one connection: its state and numbers |

**Timers and queues**

| English | 中文 | in one line |
|---|---|---|
| MSL, 2MSL | 最长 (最大) 报文段寿命, 2 倍 MSL | how long a segment may live in the network; RFC 9293: MSL = 2 minutes |
| retransmission timeout (RTO) | 超时重传 (重传超时时间) | how long to wait for an ACK before sending again |
| exponential backoff | 指数退避 | each timeout doubles the wait before the next retransmission |
| delayed ACK | 延迟确认 | holding an ACK back a little, hoping to send it with data or a FIN |
| pingpong mode | 交互模式 | Linux's request/response mode, in which ACKs wait to ride on the reply |
| quick ACK (quick-ACK mode) | 快速确认 | Linux acknowledges the first data segments of a connection at once |
| keepalive, keepalive probe | 保活机制, 保活探测报文 | probing an idle connection to see whether the peer is still there (times in seconds) |
| dead peer | 对端失效 (宕机) | a peer that vanished without a FIN or RST (a crash, a pulled cable) |
| SYN queue / accept queue | 半连接队列 / 全连接队列 | half-open connections (SYN-RECEIVED) / finished ones not yet `accept()`ed |
| backlog | 积压队列长度 (listen 的 backlog 参数) | the `listen()` argument that sizes the accept queue |
| SYN flood, SYN cookies | SYN 洪泛攻击, SYN cookie | SYNs sent to fill the SYN queue / the server's answer: state encoded in its ISN instead of stored |
| FIN-WAIT-2 timeout (`tcp_fin_timeout`) | FIN-WAIT-2 超时 | Linux drops an orphan connection that has waited this long in FIN-WAIT-2 (RFC 9293 has no such timer) |
| ETIMEDOUT | 连接超时 | what a call reports when TCP gave up retransmitting |

**Tools**

| English | 中文 | in one line |
|---|---|---|
| ladder diagram | 时序图 | time flows down, one line per host, one arrow per segment |
| state graph | 状态图 | RFC 9293 Figure 5: the states as boxes, the transitions as arrows |
| packet capture, pcap | 抓包, pcap 文件 | the segments a machine really sent, recorded by tcpdump or Wireshark |
| loopback interface | 回环接口 | 127.0.0.1: two programs on one machine, talking through its own kernel (内核) |
| state inference | 状态推断 | a capture holds only segments; the states are worked out by replaying them through the engine |
| misconception | 误区 | a wrong idea that articles spread; notebook 10 collects them |
| profile | 行为配置 | `"rfc"` (the textbook) or `"linux"` (the real kernel) |
""")

md("""
## In one paragraph

The course simulates a client and a server exactly, under two profiles — `"rfc"` for the
textbook answer and `"linux"` for what a capture shows — and shows every result as a table,
a ladder you can step through, and a path through the state graph; each notebook asks you
to predict before it reveals, ends with a practice that checks your numbers at once, and
uses the words of the glossary above, in English and in Chinese.
""")

write("00_start_here")
