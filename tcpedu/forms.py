"""A small answer form for an exercise, for notebooks with a live kernel.

One text box per question and a Check button; the verdicts (with the
misconception for a wrong answer) appear in the form, never on stderr.  The
check runs in Python when the button is pressed, so a notebook's saved
output never depends on it; without a kernel the form shows its questions.
"""

from __future__ import annotations

import html

from .answers import read_answer
from .exercises import Exercise

__all__ = [
    "form",
]


def form(ex: Exercise):
    """An ipywidgets form for ``ex``: answer boxes, a Check button and the verdicts."""
    import ipywidgets as w

    boxes = {q.qid: w.Text(description=q.qid, placeholder="your answer",
                           style={"description_width": "initial"},
                           layout=w.Layout(width="22em")) for q in ex.questions}
    prompts = [w.HTML(f"<small>{html.escape(q.prompt)}</small>") for q in ex.questions]
    button = w.Button(description="Check", button_style="primary", icon="check")
    verdicts = w.HTML("<i>Fill in the boxes, then press Check.</i>")

    def check(_):
        given = {qid: read_answer(box.value) for qid, box in boxes.items() if box.value.strip()}
        if not given:
            verdicts.value = "<i>No answers yet.</i>"
            return
        verdicts.value = ex.check(**given)._repr_html_()

    button.on_click(check)
    rows = [w.HBox([box, prompt]) for box, prompt in zip(boxes.values(), prompts, strict=True)]
    ui = w.VBox([*rows, button, verdicts])
    ui.add_class("tcpedu-form")
    ui._tcpedu = (boxes, button, verdicts)        # for tests and the UI test
    return ui
