"""/absence concern through the real Bolt app with signed requests: where the pupil's name
ends and the note begins, and every way it can go wrong in one line."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import CaseEvent
from tests.bot.slack_harness import DSL, DSL_CH, Harness, crofton


def _notes(harness: Harness) -> list[str]:
    with harness.factory() as s:
        return [
            e.detail["note"]
            for e in s.scalars(select(CaseEvent).where(CaseEvent.kind == "concern_raised"))
        ]


def test_the_name_ends_where_it_stops_naming_one_pupil_exactly(harness: Harness) -> None:
    crofton(harness.factory)
    said = harness.slash("/absence", "concern Jayden Smith mum seemed scared of someone")
    assert said.startswith("Sent to the DSL: your concern about Jayden S. (1A)")
    harness.slash(
        "/absence", "concern Mia: said she hadn't eaten since Friday", user=DSL, channel=DSL_CH
    )
    assert _notes(harness) == ["mum seemed scared of someone", "said she hadn't eaten since Friday"]


def test_concern_bad_input_is_one_line_and_changes_nothing(harness: Harness) -> None:
    crofton(harness.factory)
    assert "/absence concern PUPIL NOTE" in harness.slash("/absence", "concern Jayden")
    assert "put a colon after the pupil's name" in harness.slash(
        "/absence", "concern Nobody at all"
    )
    assert "no pupil on roll matches" in harness.slash("/absence", "concern Nobody: worried")
    assert "no open absence" in harness.slash("/absence", "concern Zara: worried")
    assert "Sorry" in harness.slash("/absence", "concern Jayden: worried", user="U0STRANGER")
    assert _notes(harness) == []
