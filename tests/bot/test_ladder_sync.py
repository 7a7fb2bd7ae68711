"""A ladder step kind is defined in rules/ladder.py and needs a handler, a task entry if it
opens a task, and a row in the README's step table: this says which one is missing."""

from __future__ import annotations

import re
from pathlib import Path

from bot.slack.render import KIND_OUTCOME_BUTTONS, OUTCOME_BUTTONS
from bot.workflow.tasks import OUTCOMES, TASK_FOR_STEP, TASK_KINDS
from bot.workflow.timers import STEP_HANDLERS, _open_task
from rules.ladder import SESSION_STEPS, STEP_CONDITIONS, STEP_KINDS

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_rows(heading: str) -> set[str]:
    """The names in the first column of the README table that follows `heading`."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    return set(re.findall(r"^\| `([a-z_]+)` \|", after.split("\n\n", 2)[1], re.MULTILINE))


def test_every_step_kind_has_a_handler() -> None:
    missing = [k for k in STEP_KINDS if k not in STEP_HANDLERS and k not in SESSION_STEPS]
    assert not missing, f"no handler in bot/workflow/timers.py STEP_HANDLERS for {missing}"
    assert set(STEP_HANDLERS) <= set(STEP_KINDS), "a handler for a step kind the ladder lacks"
    # The per-session steps run in bot/workflow/deadlines.py, never on a case.
    assert not set(STEP_HANDLERS) & SESSION_STEPS


def test_every_step_that_opens_a_task_has_a_task_kind() -> None:
    openers = [k for k, handler in STEP_HANDLERS.items() if handler is _open_task]
    missing = [kind for kind in [*openers, "medical_evidence"] if kind not in TASK_FOR_STEP]
    assert not missing, f"no entry in bot/workflow/tasks.py TASK_KINDS for step {missing}"
    assert set(TASK_FOR_STEP) <= set(STEP_KINDS)


def test_every_step_kind_and_condition_has_a_readme_row() -> None:
    kinds = _readme_rows("### Ladder step kinds")
    assert [k for k in STEP_KINDS if k not in kinds] == [], "README.md: step table lacks a row"
    assert kinds <= set(STEP_KINDS), "README.md: a step row for a kind the ladder lacks"
    conditions = _readme_rows("### Ladder conditions")
    assert [c for c in STEP_CONDITIONS if c not in conditions] == [], (
        "README.md: condition table lacks a row"
    )


def test_every_task_outcome_is_known_and_worded() -> None:
    for name, kind in TASK_KINDS.items():
        for outcome in kind.outcomes:
            assert outcome in OUTCOMES, f"{name}: unknown outcome {outcome!r}"
            assert outcome in OUTCOME_BUTTONS, f"{name}: no button for {outcome!r}"
    assert {kind for kind, _ in KIND_OUTCOME_BUTTONS} <= set(TASK_KINDS)
