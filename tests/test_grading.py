"""Homework: roster → assign → answers → grade, with every answer read and none run.

The expected scores are worked out here from the answer key of each student
(``exercises.for_student`` with the test secret); the notebooks are answered by
editing their JSON, the way a student's saved notebook arrives.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tcpedu import exercises
from tcpedu.answers import NotALiteral, answer_value
from tcpedu.assign import STUB, HomeworkError, read_roster
from tcpedu.cli import main
from tcpedu.grading import grade_notebook

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "exercises"
SECRET = "test-course-secret"
HANDSHAKE, CLOSE = "handshake_numbers", "close_numbers"


def key(student: str, kind: str = HANDSHAKE) -> dict:
    return exercises.for_student(kind, SECRET, student).answers()


def lit(value) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A roster of four (other columns and a blank id too) and the secret in the environment."""
    monkeypatch.setenv("TCPEDU_SECRET", SECRET)
    (tmp_path / "roster.csv").write_text("name,student_id,email\nAlice,alice,a@x\nBob,bob,b@x\n"
                                         "Nobody,,n@x\nCarol,carol,c@x\nDave,dave,d@x\n")
    return tmp_path


def assign(course, kind=HANDSHAKE, *extra, out="submitted") -> int:
    return main(["assign", str(SOURCES / f"{kind}.ipynb"), "--roster", str(course / "roster.csv"),
                 "--out", str(course / out), *extra])


def grade(course, *extra, out="grades.csv", folder="submitted") -> int:
    return main(["grade", str(course / folder), "--out", str(course / out),
                 "--roster", str(course / "roster.csv"), *extra])


def notebook(course, student, kind=HANDSHAKE) -> Path:
    return course / "submitted" / student / f"{kind}.ipynb"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def save(path: Path, cell_list: list[dict]) -> None:
    nb = json.loads(path.read_text())
    nb["cells"] = cell_list
    path.write_text(json.dumps(nb, indent=1))


def gid(cell: dict) -> str:
    return cell["metadata"].get("nbgrader", {}).get("grade_id", "")


def answer(path: Path, **answers: str) -> None:
    """Write ``qid = <text>`` into each named question's answer cell, as a student would."""
    cs = cells(path)
    for cell in cs:
        qid = gid(cell).removeprefix("answer_")
        if gid(cell).startswith("answer_") and qid in answers:
            cell["source"] = ["# my answer\n", f"{qid} = {answers[qid]}\n"]
    save(path, cs)


def answer_all(path: Path, student: str, kind: str = HANDSHAKE, **overrides: str) -> None:
    answer(path, **{q: lit(v) for q, v in key(student, kind).items()} | overrides)


def gradebook(course, out="grades.csv") -> dict[tuple[str, str], dict]:
    with open(course / out, newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def row(course, student, kind=HANDSHAKE) -> dict:
    return gradebook(course)[student, kind]


def points(r: dict) -> list[str]:
    return [v for k, v in r.items() if k.startswith("q") and v != ""]


# ----------------------------------------------------------------------------- the whole path

def test_roster_assign_answer_grade_gives_the_exact_gradebook(course, capsys):
    assert assign(course, HANDSHAKE) == 0 and assign(course, CLOSE) == 0
    assert "wrote 4 notebooks" in capsys.readouterr().out
    alice_close = key("alice", CLOSE)
    answer_all(notebook(course, "alice"), "alice")
    answer(notebook(course, "alice", CLOSE),                  # right, written as arithmetic
           **{q: (f"{v - 1} + 1" if isinstance(v, int) else lit(v)) for q, v in alice_close.items()})
    bob = exercises.for_student(HANDSHAKE, SECRET, "bob")
    answer_all(notebook(course, "bob"), "bob", ack_2=str(bob.params["client_isn"]), ack_5="1")
    answer_all(notebook(course, "carol", CLOSE), "carol", CLOSE, time_wait_host='"server"')
    notebook(course, "dave").unlink()

    assert grade(course) == 0
    out = capsys.readouterr().out
    assert "graded 8/8" in out and "\r" not in out                  # not a tty: plain lines
    assert (course / "grades.csv").read_text() == (
        "student_id,assignment,score,max_score,status,q1,q2,q3,q4,q5,q6,q7\n"
        "alice,close_numbers,5,5,ok,1,1,1,1,1,,\n"
        "alice,handshake_numbers,7,7,ok,1,1,1,1,1,1,1\n"
        "bob,close_numbers,0,5,unanswered,0,0,0,0,0,,\n"
        "bob,handshake_numbers,5,7,ok,0,1,1,1,0,1,1\n"
        "carol,close_numbers,4,5,ok,1,1,1,1,0,,\n"
        "carol,handshake_numbers,0,7,unanswered,0,0,0,0,0,0,0\n"
        "dave,close_numbers,0,5,unanswered,0,0,0,0,0,,\n"
        "dave,handshake_numbers,0,7,missing,0,0,0,0,0,0,0\n")

    # the same grading from a fresh interpreter: python -m tcpedu
    env = dict(os.environ, TCPEDU_SECRET=SECRET)
    proc = subprocess.run([sys.executable, "-m", "tcpedu", "grade", str(course / "submitted"),
                           "--out", str(course / "again.csv"), "--roster", str(course / "roster.csv")],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines()[0] == "graded 8/8"
    assert (course / "again.csv").read_bytes() == (course / "grades.csv").read_bytes()


def test_feedback_files_name_each_misconception(course):
    assign(course)
    bob = exercises.for_student(HANDSHAKE, SECRET, "bob")
    answer_all(notebook(course, "bob"), "bob", ack_2=str(bob.params["client_isn"]), ack_5="1",
               seq_3="...")
    grade(course)
    text = (course / "submitted" / "bob" / "handshake_numbers.feedback.txt").read_text()
    lines = text.splitlines()
    assert lines[:2] == ["handshake_numbers — feedback for bob", "score: 4 of 7"]
    assert lines[3] == (f"ack_2: wrong (you wrote {bob.params['client_isn']}), 0/1: "
                        + exercises.MISCONCEPTIONS["syn-fin-one-number"]
                        + " [misconception: syn-fin-one-number]")
    assert lines[4] == "seq_3: not answered, 0/1"
    assert lines[5] == f"ack_3: right (you wrote {bob.answers()['ack_3']}), 1/1"
    assert lines[7].startswith("ack_5: wrong (you wrote 1), 0/1: ACK=1 is the flag")
    assert lines[7].endswith("[misconception: ack-flag-vs-number]")
    assert not (course / "submitted" / "dave" / "missing.feedback.txt").exists()


def test_gradescope_results_json_has_gradescopes_shape(course):
    assign(course)
    answer_all(notebook(course, "alice"), "alice", seq_6="0")
    assert grade(course, "--format", "gradescope") == 0
    results = json.loads((course / "gradescope" / "alice" / "results.json").read_text())
    assert set(results) == {"score", "max_score", "tests"}
    assert (results["score"], results["max_score"]) == (6, 7)
    assert [t["name"] for t in results["tests"]] == [f"handshake_numbers: {q}" for q in key("alice")]
    assert all(set(t) == {"name", "score", "max_score", "output"} for t in results["tests"])
    assert [t["score"] for t in results["tests"]] == [1, 1, 1, 1, 1, 0, 1]
    assert results["tests"][0]["output"] == "right"
    assert results["tests"][5]["output"].startswith("wrong: ")
    assert sorted(p.name for p in (course / "gradescope").iterdir()) == ["alice", "bob", "carol", "dave"]


def test_progress_rewrites_one_line_on_a_terminal(course, monkeypatch):
    assign(course)
    tty = io.StringIO()
    tty.isatty = lambda: True
    monkeypatch.setattr(sys, "stdout", tty)
    grade(course)
    assert tty.getvalue().startswith("\rgraded 1/4\rgraded 2/4\rgraded 3/4\rgraded 4/4\n")


# ----------------------------------------------------------------------------- assign

def test_assign_writes_each_students_numbers_byte_identically(course):
    assert assign(course, CLOSE) == 0 and assign(course, CLOSE, out="again") == 0
    for student in ("alice", "bob", "carol", "dave"):
        first = notebook(course, student, CLOSE).read_bytes()
        assert first == (course / "again" / student / f"{CLOSE}.ipynb").read_bytes()
    nb = json.loads(notebook(course, "bob", CLOSE).read_text())
    ex = exercises.for_student(CLOSE, SECRET, "bob")
    assert [c["id"] for c in nb["cells"]] == (
        ["intro", "numbers", "setup"]
        + [f"{p}_{q.qid}" for q in ex.questions for p in ("answer", "check")] + ["summary"])
    assert all(c["outputs"] == [] and c["execution_count"] is None
               for c in nb["cells"] if c["cell_type"] == "code")
    setup = "".join(nb["cells"][2]["source"])
    assert f'"server_isn": {ex.params["server_isn"]},' in setup and '"lose_first_fin": True,' in setup
    assert f"student `bob`): {ex.intro}" in "".join(nb["cells"][1]["source"])
    # bob lost his first FIN: his close has more segments than the demo's source
    assert [q.qid for q in ex.questions] == ["seq_4", "seq_9", "ack_9", "ack_10", "time_wait_host"]
    assert "".join(nb["cells"][5]["source"]).endswith(f"seq_9 = {STUB}")
    assert "BEGIN SOLUTION" not in notebook(course, "bob", CLOSE).read_text()


def test_assign_with_solutions_fills_in_the_key_and_it_grades_full_marks(course):
    assert assign(course, HANDSHAKE, "--solutions") == 0
    text = "".join(cells(notebook(course, "carol"))[3]["source"])
    assert text.endswith(f"### BEGIN SOLUTION\nack_2 = {key('carol')['ack_2']}\n### END SOLUTION")
    grade(course)
    assert [(r["score"], r["status"]) for r in gradebook(course).values()] == [("7", "ok")] * 4


def test_roster_with_duplicates_or_without_student_id_is_an_error(course, capsys):
    (course / "roster.csv").write_text("student_id\nann\nbo\nann\nbo\ncy\n")
    assert assign(course) == 2
    assert "more than once: ann, bo" in capsys.readouterr().err
    (course / "roster.csv").write_text("name,id\nAnn,ann\n")
    assert assign(course) == 2
    assert "has no student_id column (its columns: name, id)" in capsys.readouterr().err
    (course / "roster.csv").write_text("student_id\n../../etc\n")
    assert assign(course) == 2
    assert "cannot be folder names: '../../etc'" in capsys.readouterr().err
    (course / "r.csv").write_text("student_id\n ann \n\nbo\n")
    assert read_roster(course / "r.csv") == ["ann", "bo"]


@pytest.mark.parametrize("command", ["assign", "grade"])
def test_without_a_secret_assign_and_grade_stop_with_status_2(course, monkeypatch, capsys, command):
    monkeypatch.delenv("TCPEDU_SECRET")
    assert (assign(course) if command == "assign" else grade(course)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tcpedu {command}: no course secret")
    assert "TCPEDU_SECRET" in err and "--secret-file" in err
    assert not (course / "submitted").exists() and not (course / "grades.csv").exists()


def test_the_secret_file_gives_the_same_numbers_as_the_environment(course, monkeypatch):
    assign(course)
    monkeypatch.delenv("TCPEDU_SECRET")
    (course / "secret.txt").write_text(SECRET + "\n")
    assert assign(course, HANDSHAKE, "--secret-file", str(course / "secret.txt"), out="viafile") == 0
    via_file = course / "viafile/bob/handshake_numbers.ipynb"
    assert via_file.read_bytes() == notebook(course, "bob").read_bytes()
    (course / "empty.txt").write_text("\n")
    assert grade(course, "--secret-file", str(course / "empty.txt")) == 2


def test_grading_with_another_secret_flags_every_notebook_and_says_why(course, monkeypatch, capsys):
    assign(course)
    monkeypatch.setenv("TCPEDU_SECRET", "not-the-course-secret")
    grade(course)
    statuses = {r["status"] for r in gradebook(course).values()}
    assert statuses == {"numbers do not match this student; unanswered"}
    assert "is this the secret the notebooks were assigned with?" in capsys.readouterr().err


# ----------------------------------------------------------------------------- grading is deterministic

def test_grading_twice_gives_byte_identical_files(course):
    assign(course)
    answer_all(notebook(course, "alice"), "alice", ack_7="12")
    outputs = ["grades.csv", "gradescope/alice/results.json",
               "submitted/alice/handshake_numbers.feedback.txt",
               "submitted/bob/handshake_numbers.feedback.txt"]
    grade(course, "--format", "gradescope")
    first = {p: (course / p).read_bytes() for p in outputs}
    grade(course, "--format", "gradescope")
    assert {p: (course / p).read_bytes() for p in outputs} == first


def test_the_gradebook_is_replaced_atomically(course, monkeypatch):
    assign(course)
    (course / "grades.csv").write_text("old gradebook\n")
    replaced = []
    real = os.replace
    monkeypatch.setattr(os, "replace",
                        lambda src, dst: (replaced.append((Path(src), Path(dst))), real(src, dst)))
    grade(course)
    src, dst = next((s, d) for s, d in replaced if d.name == "grades.csv")
    assert src.parent == dst.parent == course and src.name.startswith(".grades.csv.")
    assert (course / "grades.csv").read_text().startswith("student_id,")
    assert not [p for p in course.iterdir() if p.name.endswith(".tmp")]


def test_feedback_can_go_to_its_own_folder(course):
    assign(course)
    grade(course, "--feedback-dir", str(course / "feedback"))
    feedback = (course / "feedback/carol/handshake_numbers.feedback.txt").read_text()
    assert feedback.splitlines()[1] == "score: 0 of 7"
    assert not (course / "submitted/carol/handshake_numbers.feedback.txt").exists()


# ----------------------------------------------------------------------------- bad and hostile input

def test_an_unanswered_notebook_scores_0_and_is_not_an_error(course):
    assign(course)
    grade(course)
    r = row(course, "alice")
    assert (r["score"], r["max_score"], r["status"]) == ("0", "7", "unanswered")


def test_a_file_that_is_not_json_says_where_the_json_breaks(course):
    assign(course)
    notebook(course, "bob").write_text('{\n "cells": [\n   oops\n')
    grade(course)
    r = row(course, "bob")
    assert (r["score"], r["status"]) == ("0", "not a notebook: invalid JSON at line 3")
    assert points(r) == ["0"] * 7
    assert row(course, "alice")["status"] == "unanswered"            # the batch went on
    feedback = (course / "submitted/bob/handshake_numbers.feedback.txt").read_text()
    assert "Your file could not be read (invalid JSON at line 3)" in feedback


@pytest.mark.parametrize("content, why", [
    ('{"hello": "world"}', "JSON without a list of cells"),
    ("[1, 2, 3]", "JSON without a list of cells"),
    ('{"cells": "none"}', "JSON without a list of cells"),
    ('{"worksheets": [], "nbformat": 3}', "an old nbformat 3 notebook: open and save it in JupyterLab"),
    ("", "invalid JSON at line 1"),
    ("[" * 100_000, "JSON nested too deeply"),
])
def test_json_that_is_not_a_notebook(course, content, why):
    assign(course)
    notebook(course, "carol").write_text(content)
    grade(course)
    assert (row(course, "carol")["score"], row(course, "carol")["status"]) == ("0", f"not a notebook: {why}")


def test_a_notebook_that_is_not_utf8_or_not_a_file(course):
    assign(course)
    notebook(course, "bob").write_bytes(b"\xff\xfe{}")
    notebook(course, "carol").unlink()
    notebook(course, "carol").mkdir()
    grade(course)
    assert row(course, "bob")["status"] == "not a notebook: not UTF-8 text"
    assert row(course, "carol")["status"] == "not a notebook: not a regular file"


def test_deleted_answer_cells_score_0_and_are_listed(course):
    assign(course)
    answer_all(notebook(course, "alice"), "alice")
    save(notebook(course, "alice"), [c for c in cells(notebook(course, "alice"))
                                     if gid(c) not in ("answer_ack_3", "answer_seq_4", "check_seq_4")])
    grade(course)
    r = row(course, "alice")
    assert (r["score"], r["status"]) == ("5", "answer cells deleted: ack_3, seq_4")
    assert points(r) == ["1", "1", "0", "0", "1", "1", "1"]
    feedback = (course / "submitted/alice/handshake_numbers.feedback.txt").read_text()
    assert "ack_3: 0/1: no answer cell for ack_3: it was deleted" in feedback


@pytest.mark.parametrize("last_is_right", [True, False])
def test_a_duplicated_answer_cell_is_graded_by_its_last_copy(course, last_is_right):
    assign(course)
    path = notebook(course, "bob")
    answer_all(path, "bob")
    cs = cells(path)
    i = next(n for n, c in enumerate(cs) if gid(c) == "answer_ack_2")
    wrong = json.loads(json.dumps(cs[i]))
    wrong["source"] = ["ack_2 = 7\n"]
    cs[i:i + 1] = [cs[i], wrong] if not last_is_right else [wrong, cs[i]]
    save(path, cs)
    grade(course)
    r = row(course, "bob")
    assert r["status"] == "answer cells duplicated: ack_2 (the last one graded)"
    assert (r["score"], r["q1"]) == (("7", "1") if last_is_right else ("6", "0"))


def test_reordered_cells_are_graded_by_their_ids(course):
    assign(course)
    path = notebook(course, "carol")
    answer_all(path, "carol", seq_3="0")
    save(path, cells(path)[::-1])
    grade(course)
    r = row(course, "carol")
    assert (r["score"], r["status"], points(r)) == ("6", "ok", ["1", "0", "1", "1", "1", "1", "1"])


@pytest.mark.parametrize("text, message", [
    ('"one thousand"', "not an answer: expected a whole number, got 'one thousand'"),
    ("client_isn + 1", "not a number or literal the grader can read: it contains the name 'client_isn' "
                       "(answers are read, not run)"),
    ("ex.answers()['ack_2']", "not a number or literal the grader can read: it contains an index [...] "
                              "(answers are read, not run)"),
    ("1001,", "not a number or literal the grader can read: it contains a tuple (answers are read, not run)"),
    ("True", "not an answer: expected a whole number, got True"),
])
def test_an_answer_that_is_not_a_number_scores_0_and_feedback_says_so(course, text, message):
    assign(course)
    answer_all(notebook(course, "bob"), "bob", ack_2=text)
    grade(course)
    r = row(course, "bob")
    assert (r["score"], r["status"], r["q1"]) == ("6", "ok", "0")
    feedback = (course / "submitted/bob/handshake_numbers.feedback.txt").read_text().splitlines()
    assert feedback[3] == f"ack_2: wrong (you wrote {text}), 0/1: {message}"


def test_code_that_patches_tcpedu_or_prints_100_percent_is_never_run(course):
    assign(course)
    path = notebook(course, "alice")
    answer(path, ack_2=lit(key("alice")["ack_2"]), seq_3=lit(key("alice")["seq_3"]),
           ack_3=f"__import__('pathlib').Path({str(course / 'pwned')!r}).write_text('x')")
    cs = cells(path)
    cs.insert(3, {"cell_type": "code", "execution_count": 1, "id": "hack", "metadata": {},
                  "source": ["import tcpedu.exercises as E\n",
                             "E.Exercise.check = lambda self, **kw: E.Report([])\n",
                             "E.diagnose = lambda *a: None\n",
                             f"open({str(course / 'pwned2')!r}, 'w').write('x')\n",
                             'print("100%")\n'],
               "outputs": [{"name": "stdout", "output_type": "stream", "text": ["100%\n"]}]})
    save(path, cs)
    grade(course)
    r = row(course, "alice")
    assert (r["score"], r["status"], points(r)) == ("2", "ok", ["1", "1", "0", "0", "0", "0", "0"])
    assert not (course / "pwned").exists() and not (course / "pwned2").exists()
    assert exercises.Exercise.check.__name__ == "check"


def test_a_notebook_copied_from_a_classmate_is_flagged_with_the_owner(course):
    assign(course)
    answer_all(notebook(course, "alice"), "alice")
    notebook(course, "bob").write_bytes(notebook(course, "alice").read_bytes())
    grade(course)
    r = row(course, "bob")
    assert (r["score"], r["status"]) == ("0", "copied? numbers belong to student alice")
    assert row(course, "alice")["status"] == "ok"
    feedback = (course / "submitted/bob/handshake_numbers.feedback.txt").read_text()
    assert "not the ones assigned to you" in feedback and "alice" not in feedback


def test_numbers_from_outside_the_class_or_edited_do_not_match_the_student(course):
    assign(course)
    (course / "outsider.csv").write_text("student_id\nzed\n")
    main(["assign", str(SOURCES / "handshake_numbers.ipynb"), "--roster", str(course / "outsider.csv"),
          "--out", str(course / "elsewhere")])
    notebook(course, "bob").write_bytes((course / "elsewhere/zed/handshake_numbers.ipynb").read_bytes())
    path = notebook(course, "carol")
    answer_all(path, "carol")
    cs = cells(path)
    setup = next(c for c in cs if gid(c) == "setup")
    setup["source"] = "".join(setup["source"]).replace('"profile": "linux"', '"profile": "rfc"')
    save(path, cs)
    grade(course)
    assert row(course, "bob")["status"] == "numbers do not match this student; unanswered"
    carol = row(course, "carol")
    assert (carol["score"], carol["status"]) == ("7", "numbers do not match this student")


def test_a_roster_student_without_a_notebook_is_missing(course):
    assign(course)
    notebook(course, "dave").unlink()
    grade(course)
    r = row(course, "dave")
    assert (r["score"], r["max_score"], r["status"], points(r)) == ("0", "7", "missing", ["0"] * 7)


def test_a_folder_not_in_the_roster_is_graded_and_noted(course):
    assign(course)
    (course / "submitted" / "eve").mkdir()
    notebook(course, "eve").write_bytes(notebook(course, "bob").read_bytes())
    (course / "submitted" / "zara").mkdir()                                      # no notebook: ignored
    (course / "submitted" / ".ipynb_checkpoints").mkdir()
    grade(course)
    book = gradebook(course)
    assert book["eve", HANDSHAKE]["status"] == ("copied? numbers belong to student bob; unanswered; "
                                                "not in roster")
    assert sorted(s for s, _ in book) == ["alice", "bob", "carol", "dave", "eve"]


def test_metadata_stripped_answers_are_found_by_name(course):
    assign(course)
    path = notebook(course, "alice")
    answer_all(path, "alice")
    cs = cells(path)
    for c in cs:
        c["metadata"] = {}
    save(path, cs)
    grade(course)
    assert (row(course, "alice")["score"], row(course, "alice")["status"]) == ("7", "ok")
    feedback = (course / "submitted/alice/handshake_numbers.feedback.txt").read_text()
    assert "note: found outside their answer cells, by name: ack_2, seq_3, ack_3" in feedback


def test_an_answer_moved_to_another_cell_or_with_magics_still_counts(course):
    assign(course)
    path = notebook(course, "bob")
    k = key("bob")
    answer(path, ack_2="...", seq_3=f"{k['seq_3']}\n%time x = 1\n!ls")
    cs = cells(path)
    cs.append({"cell_type": "code", "execution_count": None, "id": "later", "metadata": {}, "outputs": [],
               "source": f"ack_2 = {k['ack_2']}"})
    save(path, cs)
    grade(course)
    assert (row(course, "bob")["score"], row(course, "bob")["status"]) == ("1", "ok")      # ack_2 is "..."


def test_nbgraders_stub_and_a_syntax_error_are_unanswered_or_unreadable(course):
    assign(course)
    path = notebook(course, "bob")
    answer(path, ack_2="1001 this is not python")
    cs = cells(path)
    stub = "# YOUR CODE HERE\nraise NotImplementedError()"          # what nbgrader releases
    next(c for c in cs if gid(c) == "answer_seq_3")["source"] = stub
    save(path, cs)
    grade(course)
    assert (row(course, "bob")["score"], row(course, "bob")["status"]) == ("0", "ok")     # ack_2 was tried
    feedback = (course / "submitted/bob/handshake_numbers.feedback.txt").read_text().splitlines()
    assert feedback[3].startswith("ack_2: wrong, 0/1: not a number or literal the grader can read: "
                                  "the answer cell cannot be read: it is not valid Python (line 2)")
    assert feedback[4] == "seq_3: not answered, 0/1"


def test_malformed_cells_and_metadata_do_not_stop_the_grader(course, capsys):
    assign(course)
    path = notebook(course, "alice")
    answer_all(path, "alice")
    cs = cells(path)
    next(c for c in cs if gid(c) == "setup")["source"] = [3]
    cs += [42, "text", {"cell_type": "code", "source": [1, 2], "metadata": []},
           {"cell_type": "code", "metadata": {"nbgrader": "x"}, "source": 'x = "\\d" is 1\n'},
           {"cell_type": "code", "metadata": {}, "source": "%%bash\nack_2=5\n"}]
    save(path, cs)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        grade(course)
    r = row(course, "alice")
    assert (r["score"], r["status"]) == ("7", "setup cell changed: its numbers cannot be read")
    assert seen == [] and capsys.readouterr().err == ""        # no Syntax/DeprecationWarning either


# ----------------------------------------------------------------------------- the safe evaluator

@pytest.mark.parametrize("text, value", [
    ("1001", 1001), ("1000 + 1", 1001), ("2**32 - 5", 4294967291), ("(1000 + 24) * 2", 2048),
    ("-(5)", -5), ("+7", 7), ("4294967300 % 2**32", 4), ("7 // 2", 3), ("120 * 2", 240),
    ("60.25", 60.25), ("240 / 4", 60.0), ("60 + 0.25", 60.25), ("2**64", 2**64),
    ('"SYN,ACK"', "SYN,ACK"), ("'TIME-WAIT'", "TIME-WAIT"), ('"client"', "client"), ("...", ...),
])
def test_literals_and_arithmetic_are_accepted(text, value):
    assert answer_value(text) == value and type(answer_value(text)) is type(value)


@pytest.mark.parametrize("text, why", [
    ("__import__('os')", "a call to __import__()"),
    ("__import__('os').system('touch {pwned}')", "a call to system()"),
    ("open('{pwned}', 'w')", "a call to open()"),
    ("2**10**10", "a number over 2**64"),
    ("10**400.0", "a number over 2**64"),
    ("2**64 + 1", "a number over 2**64"),
    ("9" * 30, "a number over 2**64"),
    ("1e999", "a number that is not finite or not real"),
    ("(-8) ** 0.5", "a number that is not finite or not real"),
    ("1 // 0", "a division by zero"),
    ("'x' * 10**9", "arithmetic on 'x'"),
    ("ack_1 + 1", "the name 'ack_1'"),
    ("ex.trace", "an attribute (.trace)"),
    ("(lambda: 1)()", "a function call"),
    ("1 << 40", "the operator LShift"),
    ("[1001][0]", "an index [...]"),
    ("f'{1}'", "an f-string"),
    ("b'1'", "a bytes literal"),
    ("(1 if True else 2)", "if/else"),
    ("-" * 100_000 + "1", "nested too deeply"),
    ("+".join(["1"] * 100_000), "nested too deeply"),
    ("(" * 300 + "1" + ")" * 300, "too many nested parentheses"),
])
def test_anything_else_is_rejected_without_being_run(tmp_path, text, why):
    with pytest.raises(NotALiteral) as info:
        answer_value(text.replace("{pwned}", str(tmp_path / "pwned")))
    assert why in str(info.value)
    assert not (tmp_path / "pwned").exists()


def test_the_check_cell_shows_feedback_and_fails_only_when_wrong(capsys):
    """What nbgrader needs: a display (not an execute_result, which it would read as partial
    credit), an AssertionError only for a wrong answer, and nothing on stderr."""
    source = json.loads((SOURCES / "handshake_numbers.ipynb").read_text())
    check = next(c for c in source["cells"] if gid(c) == "check_ack_2")
    code = "".join(check["source"])
    assert code.splitlines()[-1].startswith("assert ")
    assert check["metadata"]["nbgrader"] == {
        "grade": True, "grade_id": "check_ack_2", "locked": True, "points": 1, "schema_version": 3,
        "solution": False}
    ex = exercises.for_student(HANDSHAKE, "tcpedu-demo-secret", "demo")
    shown = []
    exec(code, {"ex": ex, "ack_2": ex.answers()["ack_2"], "display": shown.append})
    with pytest.raises(AssertionError, match="not right yet"):
        exec(code, {"ex": ex, "ack_2": ex.params["client_isn"], "display": shown.append})
    assert [r.items[0].correct for r in shown] == [True, False]
    assert shown[1].items[0].misconception == "syn-fin-one-number"
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- the sources

def _make_sources():
    spec = importlib.util.spec_from_file_location("make_sources", SOURCES / "make_sources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", list(exercises.KINDS))
def test_each_source_is_what_make_sources_writes_for_the_demo_student(kind):
    committed = json.loads((SOURCES / f"{kind}.ipynb").read_text())
    for cell in committed["cells"]:
        if cell["cell_type"] == "code":
            assert cell["execution_count"], f"{kind}: run it (python exercises/make_sources.py)"
            if gid(cell) == "setup" or gid(cell).startswith("check_"):
                assert [o["output_type"] for o in cell["outputs"]] == (
                    ["execute_result"] if gid(cell) == "setup" else ["display_data"])
            assert all(o.get("name") != "stderr" and o["output_type"] != "error" for o in cell["outputs"])
            cell.update(outputs=[], execution_count=None)
    assert committed["cells"] == _make_sources().source_notebook(kind)["cells"]
    ex = exercises.for_student(kind, "tcpedu-demo-secret", "demo")
    nb = json.loads((SOURCES / f"{kind}.ipynb").read_text())
    assert all("nbgrader" in c["metadata"] and c["id"] == gid(c) for c in nb["cells"])
    answers = [c for c in nb["cells"] if gid(c).startswith("answer_")]
    assert [gid(c) for c in answers] == [f"answer_{q.qid}" for q in ex.questions]
    assert all(c["metadata"]["nbgrader"]["solution"] for c in answers)
    for c, q in zip(answers, ex.questions, strict=True):
        assert f"### BEGIN SOLUTION\n{q.qid} = {lit(q.expected)}\n### END SOLUTION" in "".join(c["source"])


def test_a_source_named_after_no_exercise_is_refused(course, capsys):
    (course / "homework1.ipynb").write_text((SOURCES / "handshake_numbers.ipynb").read_text())
    assert main(["assign", str(course / "homework1.ipynb"), "--roster", str(course / "roster.csv"),
                 "--out", str(course / "out")]) == 2
    assert "a source is named after its exercise" in capsys.readouterr().err


def test_grade_notebook_recomputes_the_key_from_the_folder_student(course):
    """The notebook's own numbers never set the key: alice's notebook graded as bob's."""
    assign(course, HANDSHAKE, "--solutions")
    graded = grade_notebook(notebook(course, "alice"), HANDSHAKE, "bob", SECRET)
    assert graded.score == sum(key("alice")[q] == key("bob")[q] for q in key("bob")) == 0
    assert graded.status == "numbers do not match this student"


def test_grading_a_folder_that_is_not_there_is_an_error(course, capsys):
    assert grade(course, folder="nowhere") == 2
    assert "nowhere is not a folder of student folders" in capsys.readouterr().err
    (course / "empty").mkdir()
    assert main(["grade", str(course / "empty"), "--out", str(course / "g.csv")]) == 2
    assert "no notebooks named after an exercise" in capsys.readouterr().err
    with pytest.raises(HomeworkError, match="unknown assignment 'nope'"):
        from tcpedu.grading import grade_folder
        grade_folder(course / "empty", SECRET, assignments=["nope"])
