"""Grading homework notebooks by reading them: no student code is ever run.

A submission is ``DIR/<student_id>/<kind>.ipynb``.  :func:`grade_notebook`
reads its JSON, finds each answer cell by its nbgrader grade_id
``answer_<qid>`` (or, when that cell is gone or does not assign the answer,
the last top-level assignment ``<qid> = ...`` in any other code cell), parses
the answer with :mod:`ast` and evaluates only literals and arithmetic
(:func:`evaluate`).  The expected answers are recomputed from the course
secret and the student id of the folder — never from numbers stored in the
notebook — and each answer gets :meth:`Exercise.check`'s diagnosis.

Bad and hostile input becomes a status in the gradebook, never a crash:
"missing", "not a notebook: invalid JSON at line N", "answer cells deleted:
...", "answer cells duplicated: ... (the last one graded)", "unanswered",
"copied? numbers belong to student X", "numbers do not match this student",
"not in roster".  Code that patches tcpedu or prints "100%" is never run, so
it changes nothing: the literal answers are all that count.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import exercises
from .answers import NotALiteral, evaluate, parse
from .assign import ANSWER, HomeworkError, grade_id, write_atomic

__all__ = [
    "MAX_NOTEBOOK_BYTES", "MAX_CELL_CHARS", "Answer", "find_answers", "setup_params",
    "NotANotebook", "read_notebook", "Graded", "grade_notebook", "missing", "find_submissions",
    "grade_folder", "gradebook_csv", "feedback_text", "gradescope_json", "write_results",
]

MAX_NOTEBOOK_BYTES = 20_000_000
MAX_CELL_CHARS = 100_000          # longer code cells are not parsed


def _text(source) -> str | None:
    """A cell's source as one string (nbformat allows a list of lines), or None if it is not text."""
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else None


@dataclass
class Answer:
    """One question's answer as found in a notebook."""

    qid: str
    value: object = Ellipsis        # the evaluated value; Ellipsis: not answered yet
    text: str = ""                  # the expression as the student wrote it
    error: str = ""                 # why it cannot be read (not a literal, a syntax error)
    in_answer_cell: bool = True     # False: found by scanning the other code cells
    copies: int = 1                 # how many cells carry the grade_id answer_<qid>

    @property
    def answered(self) -> bool:
        return bool(self.error) or self.value not in (Ellipsis, None)


class _Cell:
    """A code cell, parsed once: its top-level assignments ``name -> (expression, source)``."""

    def __init__(self, cell: dict):
        self.grade_id, self.error, self.assigned = grade_id(cell), "", {}
        source = _text(cell.get("source", ""))
        if source is None:
            self.error = "its source is not text"
            return
        if len(source) > MAX_CELL_CHARS:
            self.error = f"it is longer than {MAX_CELL_CHARS} characters"
            return
        if source.lstrip().startswith("%%"):
            return                                  # a cell magic: not Python
        # IPython line magics and shell escapes are not Python; they define no answer
        self.source = re.sub(r"(?m)^([ \t]*)[%!].*$", r"\1pass", source)
        try:
            tree = parse(self.source)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            self.error = f"it is not valid Python{f' (line {line})' if line else ''}: {exc.args[0]}"
            return
        except (RecursionError, MemoryError):
            self.error = "it is nested too deeply to read"
            return
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self._assign(target, stmt.value)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self._assign(stmt.target, stmt.value)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                self.assigned[stmt.target.id] = (stmt, "")

    def _assign(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.assigned[target.id] = (value, ast.get_source_segment(self.source, value) or "")
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts, strict=True):
                    self._assign(t, v)
            else:
                for t in target.elts:
                    self._assign(t, target)       # unpacking something unreadable

    def answer(self, qid: str, copies: int = 1, in_answer_cell: bool = True) -> Answer:
        node, text = self.assigned[qid]
        found = Answer(qid, text=text[:80], copies=copies, in_answer_cell=in_answer_cell)
        if isinstance(node, ast.AugAssign):
            found.error = f"an augmented assignment ({qid} op= ...): write the value itself"
            return found
        try:
            found.value = evaluate(node)
        except NotALiteral as exc:
            found.error = f"it contains {exc}"
        except RecursionError:
            found.error = "it is nested too deeply to read"
        return found


def find_answers(nb: dict, qids: Iterable[str]) -> dict[str, Answer | None]:
    """Each question's answer: the last assignment to ``qid`` in the (last) cell whose grade_id
    is ``answer_<qid>``; failing that, the last in any other code cell; None when there is
    none anywhere (the answer cell was deleted).  Nothing is executed."""
    cells = [_Cell(c) for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    found: dict[str, Answer | None] = {}
    for qid in qids:
        own = [c for c in cells if c.grade_id == ANSWER + qid]
        cell = own[-1] if own else None
        if cell is not None and qid in cell.assigned:
            found[qid] = cell.answer(qid, len(own))
            continue
        others = [c for c in cells if c is not cell and qid in c.assigned]
        if others:
            found[qid] = others[-1].answer(qid, len(own), in_answer_cell=False)
        elif cell is not None:
            found[qid] = Answer(qid, copies=len(own),
                                error=f"the answer cell cannot be read: {cell.error}" if cell.error else "")
        else:
            found[qid] = None
    return found


def setup_params(nb: dict, kind: str) -> dict | None:
    """The parameters written into the setup cell (``exercises.load(kind, {...})``), or None."""
    cells = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    cells.sort(key=lambda c: grade_id(c) != "setup")              # the setup cell first
    for cell in cells:
        source = _text(cell.get("source", ""))
        if source is None or f'"{kind}"' not in source and f"'{kind}'" not in source:
            continue
        try:
            tree = parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and len(node.args) == 2
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) == "load"
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == kind):
                try:
                    params = ast.literal_eval(node.args[1])
                except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                    return None
                return params if isinstance(params, dict) else None
    return None


# ----------------------------------------------------------------------------- notebooks

class NotANotebook(ValueError):
    """A submission that cannot be read as a notebook; the message says why."""


def read_notebook(path: str | os.PathLike) -> dict:
    """A notebook's JSON as a dict, or :class:`NotANotebook` saying what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise NotANotebook("not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        raise NotANotebook(f"cannot be read ({exc.strerror})") from None
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotANotebook(f"larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotANotebook("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise NotANotebook(f"invalid JSON at line {exc.lineno}") from None
    except RecursionError:
        raise NotANotebook("JSON nested too deeply") from None
    if isinstance(nb, dict) and "worksheets" in nb:
        raise NotANotebook("an old nbformat 3 notebook: open and save it in JupyterLab")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotANotebook("JSON without a list of cells")
    return nb


@dataclass
class Graded:
    """One row of the gradebook: a student's notebook for one assignment, graded."""

    student_id: str
    assignment: str
    status: str
    questions: list[exercises.Question]
    feedback: list[exercises.Feedback]
    answers: dict[str, Answer | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)     # shown to the student in the feedback

    @property
    def points(self) -> list[int]:
        return [q.points if f.correct else 0 for q, f in zip(self.questions, self.feedback, strict=True)]

    @property
    def score(self) -> int:
        return sum(self.points)

    @property
    def max_score(self) -> int:
        return sum(q.points for q in self.questions)


def _unanswered(ex: exercises.Exercise, why: str) -> list[exercises.Feedback]:
    return [exercises.Feedback(q.qid, False, None, q.expected, "no-answer", why) for q in ex.questions]


def _check(ex: exercises.Exercise, q: exercises.Question, answer: Answer | None) -> exercises.Feedback:
    if answer is None:
        return exercises.Feedback(q.qid, False, None, q.expected, "no-answer-cell",
                                  f"no answer cell for {q.qid}: it was deleted")
    if answer.error:
        return exercises.Feedback(q.qid, False, answer.text, q.expected, "not-a-literal",
                                  f"not a number or literal the grader can read: {answer.error} "
                                  f"(answers are read, not run)")
    try:
        return ex.check(**{q.qid: answer.value}).items[0]
    except Exception as exc:            # the checker must not stop a class's grading
        return exercises.Feedback(q.qid, False, answer.value, q.expected, "not-an-answer",
                                  f"could not be checked: {exc}")


def grade_notebook(path: str | os.PathLike, kind: str, student_id: str, secret: str,
                   owner_of: Callable[[dict], str | None] | None = None) -> Graded:
    """Grade ``path`` as ``student_id``'s notebook for exercise ``kind``, without running it.
    ``owner_of(params)`` names the student whose numbers ``params`` are (copy detection)."""
    ex = exercises.for_student(kind, secret, student_id)
    try:
        nb = read_notebook(path)
    except NotANotebook as exc:
        why = f"not a notebook: {exc}"
        return Graded(student_id, kind, why, ex.questions, _unanswered(ex, why),
                      notes=[f"Your file could not be read ({exc}): every question scores 0."])
    answers = find_answers(nb, [q.qid for q in ex.questions])
    feedback = [_check(ex, q, answers[q.qid]) for q in ex.questions]
    status, notes = [], []
    params = setup_params(nb, kind)
    if params is None:
        status.append("setup cell changed: its numbers cannot be read")
    elif params != ex.params:
        owner = owner_of(params) if owner_of else None
        status.append(f"copied? numbers belong to student {owner}" if owner and owner != student_id
                      else "numbers do not match this student")
        notes.append("The numbers in your setup cell are not the ones assigned to you; "
                     "your answers were checked against your own numbers.")
    deleted = [q for q, a in answers.items() if a is None]
    twice = [q for q, a in answers.items() if a is not None and a.copies > 1]
    if deleted:
        status.append(f"answer cells deleted: {', '.join(deleted)}")
    if twice:
        status.append(f"answer cells duplicated: {', '.join(twice)} (the last one graded)")
        notes += [f"{q}: there are {answers[q].copies} answer cells; the last one was graded."
                  for q in twice]
    outside = [q for q, a in answers.items() if a is not None and not a.in_answer_cell]
    if outside:
        notes.append(f"found outside their answer cells, by name: {', '.join(outside)}")
    if not any(a is not None and a.answered for a in answers.values()):
        status.append("unanswered")
    return Graded(student_id, kind, "; ".join(status) or "ok", ex.questions, feedback, answers, notes)


def missing(kind: str, student_id: str, secret: str) -> Graded:
    """The row of a roster student who handed in no notebook for ``kind``."""
    ex = exercises.for_student(kind, secret, student_id)
    return Graded(student_id, kind, "missing", ex.questions, _unanswered(ex, "not handed in"))


# ----------------------------------------------------------------------------- a class

def find_submissions(folder: str | os.PathLike) -> dict[tuple[str, str], Path]:
    """``(student_id, kind) -> path`` for every ``folder/<student_id>/<kind>.ipynb``
    (hidden folders such as .ipynb_checkpoints are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HomeworkError(f"{folder} is not a folder of student folders")
    found = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for kind in exercises.KINDS:
            path = sub / f"{kind}.ipynb"
            if os.path.lexists(path):
                found[sub.name, kind] = path
    return found


def grade_folder(folder: str | os.PathLike, secret: str, roster: list[str] | None = None,
                 assignments: Iterable[str] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list[Graded]:
    """Grade every ``folder/<student_id>/<kind>.ipynb``; with a roster, its students with no
    notebook get a "missing" row and folders of other students are noted "not in roster".
    Rows are sorted by student id, then assignment."""
    submissions = find_submissions(folder)
    kinds = sorted(set(assignments) if assignments else {k for _, k in submissions})
    for kind in kinds:
        if kind not in exercises.KINDS:
            raise HomeworkError(f"unknown assignment {kind!r}; known: {', '.join(exercises.KINDS)}")
    if not kinds:
        raise HomeworkError(f"no notebooks named after an exercise "
                            f"({', '.join(k + '.ipynb' for k in exercises.KINDS)}) in {folder}/*/")
    enrolled = set(roster) if roster is not None else None
    students = sorted(set(roster or ()) | {s for s, k in submissions if k in kinds})
    owners: dict[str, dict[str, str]] = {}

    def owner_of(kind: str, params: dict) -> str | None:
        if kind not in owners:
            owners[kind] = {json.dumps(exercises.student_params(kind, secret, s), sort_keys=True): s
                            for s in reversed(students)}
        try:
            return owners[kind].get(json.dumps(params, sort_keys=True))
        except (TypeError, ValueError):
            return None

    jobs = [(s, k) for s in students for k in kinds]
    rows = []
    for n, (student, kind) in enumerate(jobs, 1):
        path = submissions.get((student, kind))
        if path is None:
            row = missing(kind, student, secret)
        else:
            row = grade_notebook(path, kind, student, secret, lambda p, k=kind: owner_of(k, p))
            if enrolled is not None and student not in enrolled:
                row.status = "not in roster" if row.status == "ok" else row.status + "; not in roster"
        rows.append(row)
        if progress:
            progress(n, len(jobs))
    return rows


# ----------------------------------------------------------------------------- outputs

def gradebook_csv(rows: list[Graded]) -> str:
    """The gradebook: student_id, assignment, score, max_score, status, then q1, q2, ...
    (points earned on each question, in the notebook's order)."""
    width = max((len(r.questions) for r in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "assignment", "score", "max_score", "status"]
                    + [f"q{i}" for i in range(1, width + 1)])
    for r in sorted(rows, key=lambda r: (r.student_id, r.assignment)):
        writer.writerow([r.student_id, r.assignment, r.score, r.max_score, r.status] + r.points
                        + [""] * (width - len(r.points)))
    return out.getvalue()


def feedback_text(row: Graded) -> str:
    """The student's feedback: each answer right or wrong, with the diagnosis (and the
    misconception's name when one is recognised)."""
    lines = [f"{row.assignment} — feedback for {row.student_id}",
             f"score: {row.score} of {row.max_score}", ""]
    lines += [f"note: {n}" for n in row.notes] + ([""] if row.notes else [])
    for q, fb, pts in zip(row.questions, row.feedback, row.points, strict=True):
        answer = row.answers.get(q.qid)
        head = f"{q.qid}: "
        if fb.correct:
            lines.append(f"{head}right (you wrote {answer.text}), {pts}/{q.points}")
            continue
        if answer is None:
            lines.append(f"{head}0/{q.points}: {fb.message}")
            continue
        if not answer.answered:
            lines.append(f"{head}not answered, 0/{q.points}")
            continue
        wrote = f" (you wrote {answer.text})" if answer.text else ""
        name = f" [misconception: {fb.misconception}]" if fb.misconception in exercises.MISCONCEPTIONS else ""
        lines.append(f"{head}wrong{wrote}, 0/{q.points}: {fb.message}{name}")
    return "\n".join(lines) + "\n"


def gradescope_json(rows: list[Graded]) -> str:
    """Gradescope's results.json for one student: every question of every row as a test."""
    tests = [{"name": f"{r.assignment}: {q.qid}", "score": pts, "max_score": q.points,
              "output": "right" if fb.correct else f"wrong: {fb.message}"}
             for r in rows for q, fb, pts in zip(r.questions, r.feedback, r.points, strict=True)]
    result = {"score": sum(r.score for r in rows), "max_score": sum(r.max_score for r in rows),
              "tests": tests}
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def write_results(rows: list[Graded], folder: str | os.PathLike, out: str | os.PathLike,
                  gradescope: bool = False, feedback_dir: str | os.PathLike | None = None) -> None:
    """Write the gradebook ``out`` (atomically), a feedback file per handed-in notebook
    (``<student>/<kind>.feedback.txt`` under ``feedback_dir``, default the graded folder) and,
    if ``gradescope``, ``<out's folder>/gradescope/<student>/results.json``."""
    base = Path(feedback_dir) if feedback_dir is not None else Path(folder)
    for row in rows:
        if row.status != "missing":
            write_atomic(base / row.student_id / f"{row.assignment}.feedback.txt", feedback_text(row))
    if gradescope:
        by_student: dict[str, list[Graded]] = {}
        for row in rows:
            if row.status != "missing":
                by_student.setdefault(row.student_id, []).append(row)
        for student, own in by_student.items():
            write_atomic(Path(out).parent / "gradescope" / student / "results.json", gradescope_json(own))
    write_atomic(out, gradebook_csv(rows))
