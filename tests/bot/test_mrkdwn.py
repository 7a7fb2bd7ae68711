"""Free text reaching Slack is inert: a parent's text, a name from the MIS or a note cannot
ping a channel or plant a link that looks like FirstCall's own."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.demo.stack import Stack
from bot.slack.mrkdwn import escape, mention, quote
from storage.models import Pupil
from tests.bot.conftest import DAY1, at
from tests.bot.test_school_day import DSL_CH, OFFICE_CH, School

HOSTILE = (
    "<!channel> <!here> <!everyone> Amira is fine "
    "<https://evil.example/login|Click to view the full safeguarding report> & more"
)


def test_escape_leaves_nothing_slack_would_read_as_markup() -> None:
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert escape("Ann-Marie O'Neil *") == "Ann-Marie O'Neil *"


def test_a_quote_quotes_every_line() -> None:
    assert quote("first\n<!here> second") == ">first\n>&lt;!here&gt; second"


def test_mentions_only_from_a_slack_user_id() -> None:
    assert mention("U0CROFT01") == "<@U0CROFT01>"
    assert mention("!channel") == "!channel"
    assert mention("U1><!here") == "U1&gt;&lt;!here"


def _everything_sent(stack: Stack) -> str:
    return json.dumps([call.params for call in stack.slack.calls])


def test_a_hostile_reply_through_the_signed_webhook_reaches_slack_inert(stack: Stack) -> None:
    school = School(stack)
    with stack.runtime.factory() as s, s.begin():
        # A name as a hostile MIS row might carry it: shown, never obeyed.
        s.get(Pupil, school.pupils["Amira"]).last_name = "<!here>"
        s.get(Pupil, school.pupils["Amira"]).class_name = "1A"
    school.register(DAY1, {"Amira": "N", "Jayden": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:50"))
    stack.parent_texts(school.phones["Amira"], HOSTILE)
    stack.parent_texts(school.phones["Jayden"], "Jayden is ill <!channel> <https://evil.example|x>")
    stack.tick(at(DAY1, "08:51"))

    sent = _everything_sent(stack)
    assert "<!" not in sent and "<https://evil" not in sent
    dsl = " ".join(json.dumps(m.blocks) + m.text for m in stack.slack.posts(DSL_CH))
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; Amira is fine" in dsl
    assert "&lt;https://evil.example/login|Click to view the full safeguarding report&gt;" in dsl
    assert "&amp; more" in dsl
    assert "Amira &lt;!here&gt;" in dsl
    office = " ".join(json.dumps(m.blocks) + m.text for m in stack.slack.posts(OFFICE_CH))
    assert "Amira &lt;." in office  # the initial of a hostile surname, escaped too
    with stack.runtime.factory() as s:
        assert s.scalar(select(Pupil.last_name).where(Pupil.id == school.pupils["Amira"])) == (
            "<!here>"
        )
