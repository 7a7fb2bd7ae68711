"""People see what parents wrote, anyone can raise a concern, and no DSL alert goes
unanswered: whole days through signed Twilio webhooks and signed Slack requests, with what
reached the loopback Twilio and Slack read back."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from bot.demo.stack import Stack
from storage.models import CaseEvent, DslAlert, StaffTask
from tests.bot.conftest import DAY1, at
from tests.bot.test_school_day import DSL, DSL_CH, HEAD, OFFICE, OFFICE_CH, School

HEAD_DM = "D" + HEAD[1:]  # where Slack puts a message posted to the headteacher's user ID
DSL_PEOPLE = ("U0CROFT02", "U0CROFT03")  # Mrs Lindley and Priya Shah hold the dsl role


def _text(stack: Stack, channel: str) -> str:
    return " ".join(m.text + json.dumps(m.blocks) for m in stack.slack.messages.get(channel, []))


def _card(stack: Stack, channel: str, needle: str) -> Any:
    found = [m for m in stack.slack.messages.get(channel, []) if needle in json.dumps(m.blocks)]
    assert found, f"no card with {needle!r} in {channel}"
    return found[-1]


def _buttons(message: Any) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _submit(stack: Stack, values: dict[str, Any], user: str) -> httpx.Response:
    body, headers = stack.slack.view_submission_request(
        stack.slack.views[-1], values, user, timestamp=int(time.time())
    )
    return stack.http.post("/slack/events", content=body, headers=headers)


def _note(text: str) -> dict[str, Any]:
    return {"note": {"note": {"type": "plain_text_input", "value": text}}}


def _morning(stack: Stack, absent: dict[str, str]) -> School:
    school = School(stack)
    school.register(DAY1, absent)
    stack.tick(at(DAY1, "08:40"))
    return school


def _jayden_replies(stack: Stack, hhmm: str, text: str) -> School:
    """Jayden absent this morning; at `hhmm` his mother replies; the worker runs a minute on."""
    school = _morning(stack, {"Jayden": "N"})
    stack.clock.set(at(DAY1, hhmm))
    stack.parent_texts(school.phones["Jayden"], text)
    stack.clock.advance(minutes=1)
    stack.tick()
    return school


def test_the_office_card_shows_the_parents_words_and_a_safeguarding_reply_stays_with_the_dsl(
    stack: Stack,
) -> None:
    school = _morning(stack, {"Jayden": "N", "Leo": "N"})
    stack.clock.set(at(DAY1, "08:52"))
    stack.parent_texts(school.phones["Jayden"], "  he's got a temperature,\n back tomorrow  ")
    stack.clock.set(at(DAY1, "08:55"))
    stack.parent_texts(school.phones["Leo1"], "he's scared to go home, his dad hit him last night")
    stack.tick(at(DAY1, "08:56"))

    jayden = _card(stack, OFFICE_CH, "Jayden")
    shown = json.dumps(jayden.blocks)
    assert "&gt;he's got a temperature, back tomorrow" not in shown  # quoted, not escaped
    assert ">he's got a temperature, back tomorrow" in shown
    assert "Mother, 08:52" in shown
    assert "case_confirm" in _buttons(jayden)

    leo = json.dumps(_card(stack, OFFICE_CH, "Leo").blocks)
    assert "With the DSL" in leo and "scared" not in leo and "dad" not in leo
    assert "scared to go home" in _text(stack, DSL_CH)

    # The parent of the frightened child is promised a call, and 999 if it cannot wait.
    ack = school.sent_to("Leo1")[-1]
    assert "will call you as soon as possible" in ack and "999" in ack
    assert school.sent_to("Jayden")[-1].startswith("Thank you, Crofton Infants has your message")
    with stack.runtime.factory() as s:
        task = s.scalar(select(StaffTask).where(StaffTask.case_id == school.case("Leo").id))
        assert (task.kind, task.role, task.status) == ("dsl_call", "dsl", "open")


def test_slack_markup_in_a_reply_reaches_slack_as_text(stack: Stack) -> None:
    _jayden_replies(stack, "08:50", "<!channel> ill today <https://evil.example|school portal> & x")
    shown = json.dumps(_card(stack, OFFICE_CH, "Jayden").blocks)
    assert "&lt;!channel&gt; ill today &lt;https://evil.example|school portal&gt; &amp; x" in shown
    assert "<!channel>" not in _text(stack, OFFICE_CH) and "<https" not in shown


def test_a_missing_child_reply_asks_the_parent_to_ring_the_school(stack: Stack) -> None:
    school = _jayden_replies(stack, "08:50", "he left for school at 8 and hasn't come home")
    ack = school.sent_to("Jayden")[-1]
    assert "Please ring Crofton Infants now on 01924 967606" in ack and "999" in ack


def test_raise_a_concern_from_the_office_card_goes_to_the_dsl(stack: Stack) -> None:
    _jayden_replies(stack, "08:50", "he's staying with his uncle for a bit")
    card = _card(stack, OFFICE_CH, "Jayden")
    assert (
        stack.click("case_concern", _buttons(card)["case_concern"], OFFICE, OFFICE_CH).status_code
        == 200
    )
    assert stack.slack.views[-1]["callback_id"] == "case_concern"
    empty = _submit(stack, _note("   "), OFFICE)
    assert empty.json()["response_action"] == "errors"
    assert stack.slack.messages.get(DSL_CH) is None
    ok = _submit(stack, _note("mum sounded frightened when I rang"), OFFICE)
    assert ok.status_code == 200 and not ok.content
    stack.tick(at(DAY1, "08:53"))

    dsl = _text(stack, DSL_CH)
    assert "mum sounded frightened when I rang" in dsl
    assert "Sam Hall (Office manager)" in dsl and "staying with his uncle" in dsl
    assert "dsl_ack" in dsl and "Not a safeguarding matter" in dsl
    office = json.dumps(_card(stack, OFFICE_CH, "Jayden").blocks)
    assert "With the DSL" in office and "uncle" not in office and "frightened" not in office
    with stack.runtime.factory() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.kind == "concern_raised"))
        assert (event.actor, event.detail["position"], event.detail["note"]) == (
            "Sam Hall",
            "Office manager",
            "mum sounded frightened when I rang",
        )


def test_an_unacknowledged_alert_is_posted_again_then_the_headteacher_is_messaged(
    stack: Stack,
) -> None:
    _jayden_replies(stack, "08:55", "he's scared of my boyfriend, he hit him")
    assert len(stack.slack.posts(DSL_CH)) == 1

    stack.tick(at(DAY1, "09:09"))
    assert len(stack.slack.posts(DSL_CH)) == 1
    stack.tick(at(DAY1, "09:10"))  # 15 minutes: again, mentioning each DSL by user ID
    again = stack.slack.posts(DSL_CH)[-1]
    assert len(stack.slack.posts(DSL_CH)) == 2
    assert all(f"<@{user}>" in again.text for user in DSL_PEOPLE)
    assert stack.slack.messages.get(HEAD_DM) is None

    stack.tick(at(DAY1, "09:25"))  # 30 minutes: the headteacher, directly
    (direct,) = stack.slack.messages[HEAD_DM]
    assert "no answer from a DSL for 30 minutes" in direct.text
    assert "boyfriend" not in json.dumps(direct.blocks) and "Smith" not in direct.text
    assert any(
        c.method == "chat.postMessage" and c.params["channel"] == HEAD for c in stack.slack.calls
    )
    stack.tick(at(DAY1, "09:40"))
    stack.tick(at(DAY1, "09:40"))  # each step once, however often the worker looks
    assert len(stack.slack.posts(DSL_CH)) == 2 and len(stack.slack.messages[HEAD_DM]) == 1

    # Priya takes it from the reminder: every card says so.
    assert stack.click("dsl_ack", _buttons(again)["dsl_ack"], DSL, DSL_CH).status_code == 200
    stack.tick(at(DAY1, "09:41"))
    assert "Priya Shah (Deputy DSL, pastoral lead) is on it (since 09:40)" in _text(stack, DSL_CH)
    assert "is on it" in stack.slack.messages[HEAD_DM][0].text


def test_im_on_it_stops_the_chain_and_only_a_dsl_may_press_it(stack: Stack) -> None:
    _jayden_replies(stack, "08:55", "he's scared of my boyfriend, he hit him")
    card = stack.slack.posts(DSL_CH)[0]
    case = _buttons(card)["dsl_ack"]

    stack.clock.set(at(DAY1, "09:00"))
    stack.click("dsl_ack", case, OFFICE, DSL_CH)
    assert "only a DSL" in stack.slack.responses[-1].payload["text"]
    stack.click("dsl_ack", case, DSL, DSL_CH)
    stack.click("dsl_ack", case, HEAD, DSL_CH)  # a second DSL is told who has it
    assert (
        "Priya Shah (Deputy DSL, pastoral lead) is already on it"
        in stack.slack.responses[-1].payload["text"]
    )
    with stack.runtime.factory() as s:
        alert = s.scalar(select(DslAlert))
        assert (alert.status, alert.decided_by_user, alert.next_due_at) == (
            "acknowledged",
            DSL,
            None,
        )
        assert (
            s.scalar(select(CaseEvent.actor).where(CaseEvent.kind == "dsl_acknowledged"))
            == "Priya Shah"
        )
    for hhmm in ("09:10", "09:25", "10:30"):
        stack.tick(at(DAY1, hhmm))
    assert len(stack.slack.posts(DSL_CH)) == 1 and stack.slack.messages.get(HEAD_DM) is None
    assert "is on it (since 09:00)" in _text(stack, DSL_CH)


def test_not_a_safeguarding_matter_returns_the_case_to_the_office(stack: Stack) -> None:
    school = _jayden_replies(stack, "08:55", "police came round last night, he's ill today")
    assert "police came round" not in _text(stack, OFFICE_CH)
    case = _buttons(stack.slack.posts(DSL_CH)[0])["dsl_return"]

    stack.clock.set(at(DAY1, "09:02"))
    stack.click("dsl_return", case, OFFICE, DSL_CH)
    assert "only a DSL" in stack.slack.responses[-1].payload["text"]
    stack.click("dsl_return", case, DSL, DSL_CH)
    assert stack.slack.views[-1]["callback_id"] == "dsl_return"
    _submit(stack, _note("rang mum: police were at a neighbour's"), DSL)
    stack.tick(at(DAY1, "09:30"))

    assert "Returned to the office by Priya Shah" in _text(stack, DSL_CH)
    office = json.dumps(_card(stack, OFFICE_CH, "Jayden").blocks)
    assert "returned this to the office" in office and "police came round" in office
    assert len(stack.slack.posts(DSL_CH)) == 1  # no reminders for a returned alert
    with stack.runtime.factory() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.kind == "dsl_returned"))
        assert (event.actor, event.detail["why"]) == (
            "Priya Shah",
            "rang mum: police were at a neighbour's",
        )
    assert not school.case("Jayden").safeguarding


def test_an_alert_at_night_waits_for_the_school_day_and_tells_the_parent_what_to_do(
    stack: Stack,
) -> None:
    school = _jayden_replies(stack, "21:10", "he ran off after a row and hasn't come back")
    ack = school.sent_to("Jayden")[-1]
    assert "closed now" in ack and "Wed 11 Mar at 07:30" in ack and "999" in ack
    assert len(stack.slack.posts(DSL_CH)) == 1  # the card goes at once: someone may look

    stack.tick(at(DAY1, "23:59"))
    next_day = date(2026, 3, 11)
    stack.tick(at(next_day, "07:44"))
    assert len(stack.slack.posts(DSL_CH)) == 1
    stack.tick(at(next_day, "07:45"))
    assert len(stack.slack.posts(DSL_CH)) == 2
    stack.tick(at(next_day, "08:00"))
    assert len(stack.slack.messages[HEAD_DM]) == 1


def test_a_reply_for_review_shows_why_and_is_confirmed_only_once_someone_reads_it(
    stack: Stack,
) -> None:
    school = _jayden_replies(stack, "08:50", "Jayden is vandaag ziek, hij moet naar de dokter")
    card = _card(stack, OFFICE_CH, "Jayden")
    shown = json.dumps(card.blocks, ensure_ascii=False)
    assert (
        "*For review* (" in shown
        and "written in Dutch" in shown
        and "Mother, 08:50, in Dutch" in shown
    )
    assert "case_confirm" not in _buttons(card)
    refused = stack.click("case_confirm", _buttons(card)["case_change"], OFFICE, OFFICE_CH)
    assert refused.status_code == 200
    assert "needs a person to read it" in stack.slack.responses[-1].payload["text"]

    approve = stack.slash("/absence", "approve Jayden", OFFICE, OFFICE_CH).json()["text"]
    assert "needs a person to read it first" in approve
    stack.click("case_change", _buttons(card)["case_change"], OFFICE, OFFICE_CH)
    modal = json.dumps(stack.slack.views[-1]["blocks"], ensure_ascii=False)
    assert "naar de dokter" in modal and "Read as:" in modal and "code " in modal
    stack.tick(at(DAY1, "08:52"))
    card = _card(stack, OFFICE_CH, "Jayden")
    assert "case_confirm" in _buttons(card) and "For review" not in json.dumps(card.blocks)
    proposed = school.case("Jayden").provisional_code
    stack.click("case_confirm", _buttons(card)["case_confirm"], OFFICE, OFFICE_CH)
    assert school.case("Jayden").confirmed_code == proposed


def test_absence_concern_from_the_slash_command(stack: Stack) -> None:
    school = _morning(stack, {"Jayden": "N"})
    stack.clock.set(at(DAY1, "09:00"))
    reply = stack.slash(
        "/absence", "concern Jayden: bruise on his arm yesterday", OFFICE, OFFICE_CH
    )
    assert "Sent to the DSL" in reply.json()["text"]
    unknown = stack.slash("/absence", "concern Leo Smith seemed hungry", OFFICE, OFFICE_CH)
    assert "no open absence" in unknown.json()["text"] and "Priya Shah" in unknown.json()["text"]
    stack.tick(at(DAY1, "09:01"))
    dsl = _text(stack, DSL_CH)
    assert "bruise on his arm yesterday" in dsl and "Sam Hall (Office manager)" in dsl
    assert school.case("Jayden").safeguarding


def test_a_worker_that_was_down_catches_up_each_step_once(stack: Stack) -> None:
    _jayden_replies(stack, "08:55", "he's scared of my boyfriend, he hit him")
    for _ in range(2):  # nothing ran from 08:56 until 10:00; then twice at the same instant
        report = stack.tick(at(DAY1, "10:00"))
    assert report.steps == 0
    assert len(stack.slack.posts(DSL_CH)) == 2 and len(stack.slack.messages[HEAD_DM]) == 1
    with stack.runtime.factory() as s:
        alert = s.scalar(select(DslAlert))
        assert alert.steps_done == ["repost_to_dsls@15m", "message_headteacher@30m"]
        assert alert.next_due_at is None
        chased = s.scalars(select(CaseEvent.detail).where(CaseEvent.kind == "dsl_chased")).all()
        assert [d["step"] for d in chased] == alert.steps_done


def test_a_safeguarding_text_with_no_open_absence_still_gets_the_safeguarding_answer(
    stack: Stack,
) -> None:
    school = School(stack)  # nobody absent: no case to attach the text to
    stack.clock.set(at(DAY1, "10:00"))
    stack.parent_texts(school.phones["Jayden"], "he's scared to go home, his dad hit him")
    stack.tick(at(DAY1, "10:01"))
    assert "scared to go home" in _text(stack, DSL_CH)
    assert "scared" not in _text(stack, OFFICE_CH)
    (ack,) = school.sent_to("Jayden")
    assert "will call you as soon as possible" in ack and "999" in ack

    # It is an alert like any other: chased until a DSL takes it.
    stack.tick(at(DAY1, "10:16"))
    again = stack.slack.posts(DSL_CH)[-1]
    assert len(stack.slack.posts(DSL_CH)) == 2 and f"<@{DSL}>" in again.text
    assert "a text from a contact of Jayden S" in again.text
    stack.click("dsl_ack", _buttons(again)["dsl_ack"], DSL, DSL_CH)
    stack.tick(at(DAY1, "10:40"))
    assert stack.slack.messages.get(HEAD_DM) is None
    assert "Priya Shah (Deputy DSL, pastoral lead) is on it" in _text(stack, DSL_CH)
