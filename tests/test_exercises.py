"""Exercises: per-student numbers, the engine's answer key, and a diagnosis per misconception."""

import pytest

from tcpedu import exercises as E
from tcpedu.segment import SEQ_SPACE

HANDSHAKE = {"profile": "rfc", "client_isn": 1000, "server_isn": 5000, "request": 100,
             "response": 200, "numbers": "absolute"}
WRAPPING = dict(HANDSHAKE, client_isn=SEQ_SPACE - 50, server_isn=SEQ_SPACE - 3)


def verdict(ex, **answer):
    (fb,) = ex.check(**answer).items
    return fb


def test_seed_is_an_hmac_of_secret_student_and_exercise():
    a = E.student_params("handshake_numbers", "s3cret", "alice")
    assert a == E.student_params("handshake_numbers", "s3cret", "alice")
    assert a != E.student_params("handshake_numbers", "s3cret", "bob")
    assert a != E.student_params("handshake_numbers", "other", "alice")
    assert E.student_seed("k", "alice", "x") != E.student_seed("k", "alic", "ex")   # no run-on
    with pytest.raises(ValueError, match="TCPEDU_SECRET"):
        E.student_seed("", "alice", "handshake_numbers")


def test_some_students_get_isns_just_below_the_wrap():
    isns = [E.student_params("handshake_numbers", "k", f"s{i}")["client_isn"] for i in range(200)]
    assert any(i > SEQ_SPACE - 500 for i in isns) and any(i < 2**31 for i in isns)


def test_the_answer_key_is_what_the_engine_computes():
    ex = E.load("handshake_numbers", HANDSHAKE)
    key = ex.answers()
    assert key["ack_2"] == 1001 and key["seq_3"] == 1001 and key["ack_3"] == 5001
    assert key["seq_4"] == 1001 and key["ack_5"] == 1101 and key["seq_6"] == 5001
    assert key[f"ack_{len(ex.trace)}"] == 5201
    wrap = E.load("handshake_numbers", WRAPPING).answers()
    assert wrap["ack_5"] == (SEQ_SPACE - 50 + 1 + 100) % SEQ_SPACE == 51
    for kind in E.KINDS:
        for student in ("a", "b", "c", "d"):
            ex = E.for_student(kind, "k", student)
            assert ex.check(**ex.answers()).score == len(ex.questions)


@pytest.mark.parametrize("qid, wrong, misconception", [
    ("ack_2", 1000, "syn-fin-one-number"),          # the SYN's seq, without its +1
    ("ack_3", 5000, "syn-fin-one-number"),
    ("ack_5", 1002, "counted-segments"),            # one segment of 100 bytes counted as 1
    ("ack_3", 1001, "seq-for-ack"),                 # its own seq where the ack was asked
    ("ack_5", 101, "relative-absolute"),            # the relative number in an absolute exercise
    ("ack_5", 1, "ack-flag-vs-number"),             # "ACK = 1"
    ("ack_5", 1102, "plus-one-for-ack"),            # data + 1
    ("seq_4", 1002, "plus-one-for-ack"),            # the pure ACK took a number?
    ("seq_6", 1101, "peer-numbers"),                # the client's numbers for the server's seq
])
def test_each_wrong_number_names_its_misconception(qid, wrong, misconception):
    fb = verdict(E.load("handshake_numbers", HANDSHAKE), **{qid: wrong})
    assert not fb.correct and fb.misconception == misconception
    assert fb.message.startswith(E.MISCONCEPTIONS[misconception].format(mode="absolute"))


def test_forgetting_the_wrap_is_diagnosed():
    ex = E.load("handshake_numbers", WRAPPING)
    fb = verdict(ex, ack_5=SEQ_SPACE - 50 + 1 + 100)                 # 4294967347, not 51
    assert fb.misconception == "wrap" and "2**32" in fb.message
    assert verdict(ex, ack_5=51).correct and verdict(ex, ack_5=(2**32 - 49) + 100 - 2**32).correct


def test_answers_that_are_not_numbers_are_reported_not_raised():
    ex = E.load("handshake_numbers", HANDSHAKE)
    for bad in ("1001", None, ..., True, [1001]):
        fb = verdict(ex, ack_2=bad)
        assert not fb.correct and fb.misconception == "not-an-answer"
    assert verdict(ex, ack_2=1001.0).correct
    with pytest.raises(ValueError, match="no question 'ack_99'"):
        ex.check(ack_99=1)


def test_states_flags_hosts_and_seconds():
    base = {"client_isn": 7, "server_isn": 9, "closer": "client", "lose_final_ack": False,
            "numbers": "absolute"}
    ex = E.load("states_and_timers", dict(base, profile="linux", pause=0.0))
    key = ex.answers()
    assert key["close_segments"] == 3                       # Linux: FIN, FIN+ACK, ACK
    assert key["time_wait_ends"] == pytest.approx(60.07)    # FIN+ACK reached it at 0.07 s
    state_q = next(q for q in ex.questions if q.kind == "state")
    assert verdict(ex, **{state_q.qid: state_q.expected.lower().replace("-", "_")}).correct
    assert not verdict(ex, **{state_q.qid: "TIME-WAIT"}).correct
    assert verdict(ex, **{state_q.qid: "waiting"}).misconception == "not-an-answer"
    rfc = E.load("states_and_timers", dict(base, profile="rfc", pause=0.0))
    assert rfc.answers()["close_segments"] == 4 and rfc.answers()["time_wait_ends"] > 240
    lost = E.load("states_and_timers", dict(base, profile="rfc", pause=0.0, closer="server",
                                            lose_final_ack=True)).answers()
    assert lost["close_segments"] == 6 and lost["time_wait_host"] == "server"
    assert lost["time_wait_ends"] > rfc.answers()["time_wait_ends"] + 0.9   # restarted by the FIN
    close = E.load("close_numbers", {"profile": "rfc", "client_isn": 10, "server_isn": 20,
                                     "closer": "server", "data": 300, "lose_first_fin": False,
                                     "numbers": "absolute"})
    assert close.answers()["time_wait_host"] == "server"
    assert not verdict(close, time_wait_host="client").correct


def test_close_numbers_second_fin_is_not_v_plus_one():
    ex = E.load("close_numbers", {"profile": "linux", "client_isn": 10, "server_isn": 20,
                                  "closer": "client", "data": 300, "lose_first_fin": True,
                                  "numbers": "absolute"})
    key = ex.answers()
    second_fin = [k for k in key if k.startswith("seq_")][1]
    assert key[second_fin] == 21 + 300                      # w = v + 1 + the data sent after
    assert any(s.lost for s in ex.trace)                    # the first FIN was lost once
    assert ex.trace[int(second_fin[4:]) - 1].flags.tcpdump().startswith("F")


def test_students_get_varied_state_exercises_and_no_key_in_reprs():
    keys = {tuple(sorted(E.for_student("states_and_timers", "k", f"s{i}").answers().items()))
            for i in range(40)}
    assert len(keys) >= 12
    ex = E.load("handshake_numbers", HANDSHAKE)
    texts = repr(ex) + repr(ex.questions) + repr(ex.check(ack_2=1))
    assert "1001" not in texts and "expected" not in texts


def test_feedback_never_writes_to_stderr(capsys):
    ex = E.for_student("close_numbers", "k", "alice")
    report = ex.check(**{q.qid: 0 for q in ex.questions})
    str(report), report._repr_html_(), ex._repr_html_(), [ex.hint(q.qid) for q in ex.questions]
    assert capsys.readouterr().err == ""


def test_homework_tables_leave_no_answer_to_read_off_a_neighbour():
    ex = E.load("handshake_numbers", HANDSHAKE)
    table = ex.table()
    assert table.count("<b>?</b>") == 2 * len(ex.trace)     # every seq and ack is blank
    assert not any(f">{v}<" in table for v in ex.answers().values())
    assert all(ex.hint(q.qid) for q in ex.questions)
    states = E.for_student("states_and_timers", "k", "alice")
    assert "<table" not in states._repr_html_()             # reasoned from the description
    practice = E.practice(ex.sim, [("ack", 3)], hide=("seq",))
    assert practice.table().count("<b>?</b>") == len(ex.trace) + 1
    assert "other side's last seq" in practice.hint("ack_3")
    with pytest.raises(ValueError, match="hide takes"):
        E.practice(ex.sim, [("ack", 3)], hide=("window",))


def test_the_form_checks_typed_answers_in_place():
    from tcpedu.answers import read_answer

    ex = E.load("handshake_numbers", HANDSHAKE)
    ui = ex.form()
    boxes, button, verdicts = ui._tcpedu
    assert list(boxes) == [q.qid for q in ex.questions]
    boxes["ack_2"].value = "1000 + 1"
    boxes["ack_3"].value = "5000"
    button.click()
    assert verdicts.value.count("✅") == 1 and verdicts.value.count("❌") == 1
    assert "one sequence number" in verdicts.value
    assert read_answer("2**32 - 5") == 2**32 - 5 and read_answer("SYN,ACK") == "SYN,ACK"
    assert read_answer("__import__('os')") == "__import__('os')"      # text, never run
    assert read_answer("9**9**9") == "9**9**9"


def test_practice_on_any_scenario_uses_the_trace_as_key():
    from tcpedu import scenarios

    sim = scenarios.half_close(profile="rfc", client_isn=100, server_isn=300, data=50)
    ex = E.practice(sim, [("ack", 2), ("flags", 4), ("server_state", 4), ("seq", 8)])
    assert ex.answers() == {"ack_2": 101, "flags_4": "FIN,ACK", "server_state_4": "CLOSE-WAIT",
                            "seq_8": 351}
    assert verdict(ex, ack_2=100).misconception == "syn-fin-one-number"
    assert verdict(ex, flags_4="FIN").misconception == "ack-flag-vs-number"
    rel = E.practice(sim, [("ack", 2)], numbers="relative")
    assert rel.answers() == {"ack_2": 1}
    with pytest.raises(ValueError, match="segment 99"):
        E.practice(sim, [("ack", 99)])


def test_practice_tables_show_the_numbers_asked_for_and_work_on_captures():
    import os

    import tcpedu

    sim = tcpedu.scenarios.handshake(profile="rfc", client_isn=4000, server_isn=9000)
    rel = E.practice(sim, [("ack", 3)], numbers="relative")
    assert ">4000<" not in rel.table() and ">0<" in rel.table()      # relative numbers shown
    cap = tcpedu.read_pcap(os.path.join(os.path.dirname(__file__), "data", "handshake.pcap"))
    ex = E.practice(cap, [("ack", 2), ("flags", 2)], numbers="relative")
    assert ex.answers() == {"ack_2": 1, "flags_2": "SYN,ACK"}
    assert "SYN,ACK" not in ex.question("flags_2").prompt              # the prompt gives nothing away


@pytest.mark.parametrize("answer, expected, name", [
    ("CLOSED", "TIME-WAIT", "skipped-time-wait"), ("TIME-WAIT", "CLOSED", "time-wait-wrong-side"),
    ("FIN-WAIT-1", "CLOSE-WAIT", "fin-wait-vs-close-wait"),
    ("ESTABLISHED", "SYN-RECEIVED", "handshake-not-done"),
])
def test_state_mix_ups_are_named(answer, expected, name):
    import tcpedu

    sim = tcpedu.scenarios.four_way_close(profile="rfc", client_isn=1, server_isn=2, pause=0.1)
    col = {"TIME-WAIT": ("client_state", 7), "CLOSED": ("server_state", 7),
           "CLOSE-WAIT": ("server_state", 4), "SYN-RECEIVED": ("server_state", 1)}[expected]
    ex = E.practice(sim, [col])
    assert ex.answers()[f"{col[0]}_{col[1]}"] == expected
    assert verdict(ex, **{f"{col[0]}_{col[1]}": answer}).misconception == name


@pytest.mark.parametrize("blank, answer, name", [
    (("seq", 8), 9001, "forgot-data"), (("seq", 8), 9002, "forgot-data"),   # w = v, w = v + 1
    (("ack", 7), 9250, "last-byte"),
])
def test_half_close_mistakes_are_named(blank, answer, name):
    from tcpedu import scenarios

    sim = scenarios.half_close(profile="rfc", client_isn=3000, server_isn=9000, data=250)
    ex = E.practice(sim, [blank])
    qid = f"{blank[0]}_{blank[1]}"
    assert ex.answers()[qid] == 9251
    assert verdict(ex, **{qid: answer}).misconception == name
