from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from rules.ladder import CaseState, code_deadline, due_actions, next_due
from rules.settings import Policy, default_ladder

STEPS = Policy().ladder
OPENED = datetime(2026, 3, 10, 8, 40, tzinfo=UTC)
BASE = CaseState(
    opened_at=OPENED,
    first_text_at=OPENED,
    day_number=1,
    today=date(2026, 3, 10),
    still_absent=True,
    text_failed=False,
    replied=False,
    reached=False,
    explained=False,
    vulnerable=False,
    reason=None,
    n_code=True,
    unauthorised=True,
    steps_done=frozenset(),
)


def kinds(state: CaseState, now: datetime) -> list[str]:
    return [a.kind for a in due_actions(STEPS, state, now)]


def test_nothing_before_the_no_reply_timer() -> None:
    assert kinds(BASE, OPENED + timedelta(minutes=44)) == []
    assert next_due(STEPS, BASE, OPENED + timedelta(minutes=44)) == OPENED + timedelta(minutes=45)


def test_no_reply_after_45_minutes_texts_next_contacts_and_posts_a_call_task() -> None:
    assert kinds(BASE, OPENED + timedelta(minutes=45)) == ["text_next_contacts", "call_task"]


def test_a_reply_stops_the_no_reply_steps() -> None:
    assert kinds(replace(BASE, replied=True, reached=True), OPENED + timedelta(hours=2)) == []


def test_an_undelivered_text_makes_the_no_reply_steps_due_at_once() -> None:
    assert kinds(replace(BASE, text_failed=True), OPENED + timedelta(minutes=1)) == [
        "text_next_contacts",
        "call_task",
    ]


def test_vulnerable_and_unreached_means_a_home_visit_on_day_one() -> None:
    assert "home_visit" in kinds(replace(BASE, vulnerable=True), OPENED + timedelta(minutes=45))


def test_steps_done_are_not_repeated() -> None:
    done = frozenset(a.key for a in due_actions(STEPS, BASE, OPENED + timedelta(minutes=45)))
    assert kinds(replace(BASE, steps_done=done), OPENED + timedelta(hours=3)) == []


def test_the_family_is_not_texted_while_the_dsl_has_the_case() -> None:
    # Day one, no reply: the office still gets its call task, but no more texts go.
    assert kinds(replace(BASE, with_dsl=True), OPENED + timedelta(minutes=45)) == ["call_task"]
    day_two = replace(
        BASE, day_number=2, today=date(2026, 3, 11), replied=True, reached=True, with_dsl=True
    )
    later = datetime(2026, 3, 11, 8, 41, tzinfo=UTC)
    assert "follow_up_text" not in kinds(day_two, later)
    assert "follow_up_text" in kinds(replace(day_two, with_dsl=False), later)


def test_day_two_follows_up_and_sends_a_home_visit() -> None:
    day2 = replace(
        BASE,
        day_number=2,
        today=date(2026, 3, 11),
        steps_done=frozenset({"text_next_contacts@45m", "call_task@45m"}),
    )
    assert kinds(day2, OPENED + timedelta(days=1)) == ["follow_up_text", "home_visit"]
    # The daily follow-up is keyed by day, so day 3 gets its own.
    keys = {a.key for a in due_actions(STEPS, day2, OPENED + timedelta(days=1))}
    day3 = replace(day2, day_number=3, today=date(2026, 3, 12), steps_done=day2.steps_done | keys)
    assert kinds(day3, OPENED + timedelta(days=2)) == ["follow_up_text", "home_visit"]


def test_the_n_deadline_is_per_session_not_on_the_case_ladder() -> None:
    back = replace(
        BASE,
        day_number=6,
        today=date(2026, 3, 17),
        still_absent=False,
        steps_done=frozenset({"text_next_contacts@45m", "call_task@45m"}),
    )
    assert kinds(back, OPENED + timedelta(days=7)) == []
    deadline = code_deadline(default_ladder({"n_code_deadline_days": 5}))
    assert (deadline.nudge_day, deadline.o_day) == (5, 6)
    assert [deadline.stage(n) for n in (1, 4, 5, 6, 9)] == [
        None,
        None,
        "nearing",
        "overdue",
        "overdue",
    ]
    assert code_deadline(default_ladder({"n_code_becomes_o": False})).o_day is None


def test_long_illness_asks_for_evidence_and_tells_the_la_at_15_days() -> None:
    ill = replace(
        BASE,
        replied=True,
        reached=True,
        explained=True,
        reason="illness",
        n_code=False,
        unauthorised=False,
    )
    assert kinds(replace(ill, day_number=6), OPENED) == ["medical_evidence"]
    assert "tell_la" in kinds(replace(ill, day_number=15), OPENED)
    assert "tell_la" not in kinds(replace(ill, day_number=14), OPENED)


def test_twenty_days_without_contact_is_a_cme_referral() -> None:
    gone = replace(BASE, day_number=20)
    assert "cme_referral" in kinds(gone, OPENED)
    assert "cme_referral" not in kinds(replace(gone, reached=True), OPENED)
