"""Slack posts go out once across a lost connection: the answer to a chat.postMessage lost
on the wire, or the database gone before the post was recorded, and the retry finds the
message it posted (by the outbox key in its metadata) instead of posting a second card."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import event, select

from bot.demo.stack import Stack
from storage.models import SlackCard
from tests.bot.conftest import DAY1, at
from tests.bot.test_school_day import ABSENT, School


def _posted_keys(stack: Stack) -> Counter[str]:
    return Counter(m.metadata.get("event_payload", {}).get("key", "?") for m in stack.slack.posts())


def _each_card_once(stack: Stack) -> None:
    keys = _posted_keys(stack)
    assert keys and max(keys.values()) == 1, keys
    with stack.runtime.factory() as s:
        cards = s.scalars(select(SlackCard)).all()
    posted = {(m.channel, m.ts) for m in stack.slack.posts()}
    assert cards and all((c.channel, c.ts) in posted for c in cards)


def test_a_post_whose_answer_is_lost_is_found_not_posted_again(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    stack.slack.lose_answer_next("chat.postMessage", n=2)
    stack.tick(at(DAY1, "08:40"))
    stack.tick(at(DAY1, "08:45"))  # the retries, after their back-off
    _each_card_once(stack)
    history = [c for c in stack.slack.calls if c.method == "conversations.history"]
    assert len(history) == 2


def test_a_post_recorded_after_the_database_went_away_is_adopted(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    engine = stack.runtime.factory.kw["bind"]
    broken = {"left": 1}

    @event.listens_for(engine, "before_cursor_execute")
    def _drop(conn, cursor, statement, params, context, executemany) -> None:
        if statement.startswith("UPDATE slack_cards") and broken["left"]:
            broken["left"] -= 1
            raise ConnectionResetError("the database went away")

    stack.tick(at(DAY1, "08:40"))
    event.remove(engine, "before_cursor_execute", _drop)
    assert broken["left"] == 0
    stack.tick(at(DAY1, "08:40") + timedelta(minutes=5))
    _each_card_once(stack)
