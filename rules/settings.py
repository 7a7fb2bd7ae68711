"""The school settings schema: one TOML document per school, validated into typed values.

Pure: takes the parsed TOML mapping and the name of its source (for messages). Every problem
is one line naming the file, the key and what is wrong, and all of them are reported at once
so a data manager fixes a file in one pass.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.calendar import SchoolCalendar, Term
from rules.dsl_chain import CHAIN_KINDS, ChainStep, SchoolDay, default_chain
from rules.ladder import STEP_CONDITIONS, STEP_KINDS, LadderStep, default_ladder
from rules.texts import DEFAULT_TEMPLATES, TEMPLATE_FIELDS, template_problem

ROLES = ("office", "dsl", "headteacher", "attendance_lead")
SESSIONS = ("AM", "PM")
DEFAULT_ENDS = {"AM": time(12, 0), "PM": time(15, 30)}


class SettingsError(ValueError):
    """Every problem in a settings file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SessionTimes:
    register_closes: time
    # A pupil arriving after `register_closes` but by `late_until` is L (counted present),
    # after it U; without it every arrival after close is U.
    late_until: time | None = None
    # The end of the session: marks for it that arrive after the close but before this are
    # still swept (a late register is chased, not left "not taken"), and an arrival before
    # it is booked to this session. AM ends at noon (or the PM close, if earlier), PM at
    # 15:30, unless the school sets `ends`.
    ends: time = time(12, 0)

    @property
    def late_cutoff(self) -> time:
        """Arrivals after the close and by this are L, after it U; without `late_until`
        every arrival after the close is U."""
        return self.late_until or self.register_closes


@dataclass(frozen=True, slots=True)
class StaffEntry:
    slack_user_id: str
    name: str
    position: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Policy:
    no_reply_minutes: int = 45
    mass_absence_share: float = 0.15
    leave_notice_days: int = 28
    leave_penalty_warning_days: int = 5
    medical_evidence_after_days: int = 5
    n_code_deadline_days: int = 5
    n_code_becomes_o: bool = True
    la_unexplained_days: int = 10
    la_sickness_days: int = 15
    cme_days: int = 20
    persistent_absence_below: float = 90.0
    severe_absence_below: float = 50.0
    # Accepted (the example schools set them) but read by no code yet, so not in the README
    # until the issue that acts on them.
    penalty_notice_sessions: int = 10
    penalty_notice_weeks: int = 10
    lateness_warning_sessions: int = 5
    # A text Twilio will not take is retried until this time of the school day (school time),
    # then given up: the office is there to make the call instead.
    texts_until: time = time(17, 0)
    # One acknowledgement per contact per case within this many minutes.
    acknowledgement_quiet_minutes: int = 30
    dsl_ack_minutes: int = 15
    school_day: SchoolDay = SchoolDay()
    dsl_chain: tuple[ChainStep, ...] = default_chain(15)
    ladder: tuple[LadderStep, ...] = field(default_factory=lambda: default_ladder({}))


@dataclass(frozen=True)
class Retention:
    """How long FirstCall keeps each kind of personal data (UK GDPR storage limitation).
    The register and its amendments are not here: the law sets their period."""

    # A parent's words: the register keeps the reason once a person confirms it.
    message_bodies_days: int = 90
    # Contacts of a pupil who has left the roll.
    leaver_contacts_days: int = 30
    # The text of Slack cards and notices (names, reasons); edited to a stub after.
    slack_text_days: int = 30


_RETENTION_KEYS = ("message_bodies_days", "leaver_contacts_days", "slack_text_days")


@dataclass(frozen=True)
class SchoolSettings:
    name: str
    urn: str
    timezone: str
    phone: str
    sessions: Mapping[str, SessionTimes]
    calendar: SchoolCalendar
    office_channel: str
    dsl_channel: str
    leave_channel: str
    staff: Mapping[str, StaffEntry]
    policy: Policy
    templates: Mapping[str, str]
    retention: Retention = field(default_factory=Retention)
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def staff_with_role(self, role: str) -> list[StaffEntry]:
        return [s for s in self.staff.values() if role in s.roles]


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_URN = re.compile(r"^\d{6}$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,})$")


class _Checker:
    """Collects problems while reading a TOML mapping against the schema."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key}: {message}")

    def table(
        self, data: Mapping[str, Any], key: str, *, required: bool = True
    ) -> Mapping[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                self.problem(key, "missing required table")
            return {}
        if not isinstance(value, Mapping):
            self.problem(key, "must be a table")
            return {}
        return value

    def unknown(
        self, data: Mapping[str, Any], prefix: str, allowed: set[str] | frozenset[str]
    ) -> None:
        for name in data:
            if name not in allowed:
                self.problem(f"{prefix}.{name}" if prefix else name, "unknown key")

    def get(
        self,
        data: Mapping[str, Any],
        prefix: str,
        name: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        *,
        what: str = "",
    ) -> Any:
        key = f"{prefix}.{name}"
        if name not in data:
            if default is ...:
                self.problem(key, "missing required key")
                return None
            return default
        value = data[name]
        # TOML booleans are ints to isinstance; keep them apart.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.problem(key, f"must be {what or _kind_name(kind)}, not a boolean")
            return None
        if not isinstance(value, kind):
            self.problem(key, f"must be {what or _kind_name(kind)}, got {value!r}")
            return None
        return value

    def time(
        self, data: Mapping[str, Any], prefix: str, name: str, *, required: bool
    ) -> time | None:
        raw = self.get(data, prefix, name, str, ... if required else None, what='a time "HH:MM"')
        if raw is None:
            return None
        match = _TIME.match(raw)
        if not match:
            self.problem(f"{prefix}.{name}", f'must be a time "HH:MM" (24-hour), got {raw!r}')
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def positive(self, data: Mapping[str, Any], prefix: str, name: str, default: int) -> int:
        value = self.get(data, prefix, name, int, default, what="a whole number")
        if value is None:
            return default
        if value <= 0:
            self.problem(f"{prefix}.{name}", f"must be greater than 0, got {value}")
            return default
        return value

    def share(
        self, data: Mapping[str, Any], prefix: str, name: str, default: float, *, upper: float = 1.0
    ) -> float:
        value = self.get(data, prefix, name, (int, float), default, what="a number")
        if value is None:
            return default
        if not 0 < value <= upper:
            self.problem(f"{prefix}.{name}", f"must be between 0 and {upper:g}, got {value}")
            return default
        return float(value)

    def dates(self, data: Mapping[str, Any], prefix: str, name: str) -> frozenset[date]:
        raw = self.get(data, prefix, name, list, [], what="a list of dates")
        found: set[date] = set()
        for i, item in enumerate(raw or []):
            if isinstance(item, date) and not hasattr(item, "hour"):
                found.add(item)
            else:
                self.problem(
                    f"{prefix}.{name}[{i}]", f"must be a date like 2026-09-01, got {item!r}"
                )
        return frozenset(found)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse_settings(data: Mapping[str, Any], source: str = "settings") -> SchoolSettings:
    """Validate a parsed TOML document; raise SettingsError listing every problem."""
    c = _Checker(source)
    c.unknown(
        data,
        "",
        {"school", "sessions", "terms", "slack", "staff", "policy", "templates", "retention"},
    )

    school = c.table(data, "school")
    c.unknown(school, "school", {"name", "urn", "timezone", "phone"})
    name = c.get(school, "school", "name", str)
    urn = c.get(school, "school", "urn", str, what='text, six digits like "138449"')
    if isinstance(urn, str) and not _URN.match(urn):
        c.problem("school.urn", f"must be the six-digit URN, got {urn!r}")
    tz_name = c.get(school, "school", "timezone", str, "Europe/London")
    if isinstance(tz_name, str):
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            c.problem("school.timezone", f"unknown time zone {tz_name!r}")
    phone = c.get(school, "school", "phone", str, "the school office")

    sessions_raw = c.table(data, "sessions")
    c.unknown(sessions_raw, "sessions", set(SESSIONS))
    sessions: dict[str, SessionTimes] = {}
    for label in SESSIONS:
        prefix = f"sessions.{label}"
        block = c.table(sessions_raw, prefix)
        c.unknown(block, prefix, {"register_closes", "late_until", "ends"})
        closes = c.time(block, prefix, "register_closes", required=True)
        late = c.time(block, prefix, "late_until", required=False)
        ends = c.time(block, prefix, "ends", required=False)
        if closes and late and late < closes:
            c.problem(f"{prefix}.late_until", "must not be before register_closes")
        if closes and ends and ends <= max(closes, late or closes):
            c.problem(f"{prefix}.ends", "must be after register_closes and late_until")
        if closes:
            sessions[label] = SessionTimes(closes, late, ends or DEFAULT_ENDS[label])
    if (
        "AM" in sessions
        and "PM" in sessions
        and sessions["PM"].register_closes <= sessions["AM"].register_closes
    ):
        c.problem("sessions.PM.register_closes", "must be after sessions.AM.register_closes")
    elif "AM" in sessions and "PM" in sessions:
        am, pm = sessions["AM"], sessions["PM"]
        if "ends" not in c.table(sessions_raw, "sessions.AM"):
            # The default AM end never runs past the PM close.
            ends = min(am.ends, pm.register_closes)
            if ends <= max(am.register_closes, am.late_cutoff):
                ends = pm.register_closes
            sessions["AM"] = SessionTimes(am.register_closes, am.late_until, ends)
        elif am.ends > pm.register_closes:
            c.problem("sessions.AM.ends", "must not be after sessions.PM.register_closes")

    calendar = _parse_terms(c, c.table(data, "terms"))
    office, dsl, leave = _parse_slack(c, c.table(data, "slack"))
    staff = _parse_staff(c, c.table(data, "staff"))
    policy = _parse_policy(c, c.table(data, "policy", required=False))
    templates = _parse_templates(c, c.table(data, "templates", required=False))
    retention = _parse_retention(c, c.table(data, "retention", required=False))

    if staff and not any("headteacher" in s.roles for s in staff.values()):
        c.problem("staff", "no staff member has the headteacher role (leave decisions need one)")
    if staff and not any("dsl" in s.roles for s in staff.values()):
        c.problem("staff", "no staff member has the dsl role (safeguarding alerts need one)")

    if c.problems:
        raise SettingsError(c.problems)
    return SchoolSettings(
        name=name,
        urn=urn,
        timezone=tz_name,
        phone=phone,
        sessions=sessions,
        calendar=calendar,
        office_channel=office,
        dsl_channel=dsl,
        leave_channel=leave,
        staff=staff,
        policy=policy,
        templates=templates,
        retention=retention,
        source=source,
        raw=dict(data),
    )


def _parse_terms(c: _Checker, terms: Mapping[str, Any]) -> SchoolCalendar:
    c.unknown(terms, "terms", {"periods", "inset_days", "closed_days"})
    periods = c.get(terms, "terms", "periods", list, what="a list of { name, start, end } tables")
    found: list[Term] = []
    for i, item in enumerate(periods or []):
        key = f"terms.periods[{i}]"
        if not isinstance(item, Mapping):
            c.problem(key, "must be a table { name, start, end }")
            continue
        c.unknown(item, key, {"name", "start", "end"})
        label = c.get(item, key, "name", str, f"term {i + 1}")
        start = c.get(item, key, "start", date, what="a date like 2026-09-03")
        end = c.get(item, key, "end", date, what="a date like 2026-10-23")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                c.problem(f"{key}.end", f"{end} is before start {start}")
            else:
                found.append(Term(label, start, end))
    found.sort(key=lambda t: t.start)
    for before, after in zip(found, found[1:], strict=False):
        if after.start <= before.end:
            c.problem("terms.periods", f"{before.name!r} and {after.name!r} overlap")
    return SchoolCalendar(
        terms=tuple(found),
        inset_days=c.dates(terms, "terms", "inset_days"),
        closed_days=c.dates(terms, "terms", "closed_days"),
    )


def _parse_slack(c: _Checker, slack: Mapping[str, Any]) -> tuple[str, str, str]:
    c.unknown(slack, "slack", {"office_channel", "dsl_channel", "leave_channel"})
    values = []
    for key in ("office_channel", "dsl_channel", "leave_channel"):
        default = ... if key != "leave_channel" else None
        value = c.get(
            slack, "slack", key, str, default, what="a channel ID like C0123ABCD or #name"
        )
        if isinstance(value, str) and not _CHANNEL.match(value):
            c.problem(
                f"slack.{key}", f"must be a channel ID like C0123ABCD or #name, got {value!r}"
            )
        values.append(value)
    office, dsl, leave = values
    if office and dsl and office == dsl:
        c.problem(
            "slack.dsl_channel",
            "must differ from office_channel: safeguarding details stay with the DSL",
        )
    return office, dsl, leave or office


def _parse_staff(c: _Checker, staff: Mapping[str, Any]) -> dict[str, StaffEntry]:
    found: dict[str, StaffEntry] = {}
    for user_id, block in staff.items():
        prefix = f"staff.{user_id}"
        if not _SLACK_ID.match(user_id):
            c.problem(prefix, "must be a Slack user ID like U0123ABCD")
        if not isinstance(block, Mapping):
            c.problem(prefix, "must be a table")
            continue
        c.unknown(block, prefix, {"name", "position", "roles"})
        person = c.get(block, prefix, "name", str)
        position = c.get(block, prefix, "position", str)
        roles = c.get(block, prefix, "roles", list, what=f"a list from {', '.join(ROLES)}")
        for role in roles or []:
            if role not in ROLES:
                c.problem(f"{prefix}.roles", f"unknown role {role!r} (known: {', '.join(ROLES)})")
        if person and position and roles is not None:
            found[user_id] = StaffEntry(user_id, person, position, frozenset(roles))
    return found


_POLICY_INTS = (
    "no_reply_minutes",
    "leave_notice_days",
    "leave_penalty_warning_days",
    "medical_evidence_after_days",
    "n_code_deadline_days",
    "la_unexplained_days",
    "la_sickness_days",
    "cme_days",
    "penalty_notice_sessions",
    "penalty_notice_weeks",
    "lateness_warning_sessions",
    "acknowledgement_quiet_minutes",
    "dsl_ack_minutes",
)
_POLICY_PERCENTS = ("persistent_absence_below", "severe_absence_below")


def _parse_retention(c: _Checker, raw: Mapping[str, Any]) -> Retention:
    defaults = Retention()
    c.unknown(raw, "retention", set(_RETENTION_KEYS))
    return Retention(
        **{
            key: c.positive(raw, "retention", key, getattr(defaults, key))
            for key in _RETENTION_KEYS
        }
    )


def _parse_policy(c: _Checker, policy: Mapping[str, Any]) -> Policy:
    defaults = Policy()
    c.unknown(
        policy,
        "policy",
        {
            *_POLICY_INTS,
            *_POLICY_PERCENTS,
            "mass_absence_share",
            "n_code_becomes_o",
            "texts_until",
            "ladder",
            "school_day_opens",
            "school_day_closes",
            "dsl_chain",
        },
    )
    values: dict[str, Any] = {
        key: c.positive(policy, "policy", key, getattr(defaults, key)) for key in _POLICY_INTS
    }
    for key in _POLICY_PERCENTS:
        values[key] = c.share(policy, "policy", key, getattr(defaults, key), upper=100.0)
    values["mass_absence_share"] = c.share(
        policy, "policy", "mass_absence_share", defaults.mass_absence_share
    )
    values["n_code_becomes_o"] = c.get(
        policy, "policy", "n_code_becomes_o", bool, defaults.n_code_becomes_o
    )
    if values["n_code_becomes_o"] is None:
        values["n_code_becomes_o"] = defaults.n_code_becomes_o
    values["texts_until"] = (
        c.time(policy, "policy", "texts_until", required=False) or defaults.texts_until
    )
    values["school_day"] = _parse_school_day(c, policy)
    values["dsl_chain"] = (
        _parse_chain(c, policy["dsl_chain"])
        if "dsl_chain" in policy
        else default_chain(values["dsl_ack_minutes"])
    )
    if "ladder" in policy:
        values["ladder"] = _parse_ladder(c, policy["ladder"])
    else:
        values["ladder"] = default_ladder(values)
    return Policy(**values)


def _parse_ladder(c: _Checker, raw: Any) -> tuple[LadderStep, ...]:
    if not isinstance(raw, list):
        c.problem("policy.ladder", "must be a list of steps ([[policy.ladder]] tables)")
        return ()
    steps: list[LadderStep] = []
    for i, item in enumerate(raw):
        key = f"policy.ladder[{i}]"
        if not isinstance(item, Mapping):
            c.problem(key, "must be a table")
            continue
        c.unknown(item, key, {"kind", "when", "after_minutes", "on_day", "every_day_from"})
        kind = c.get(item, key, "kind", str)
        if isinstance(kind, str) and kind not in STEP_KINDS:
            c.problem(f"{key}.kind", f"unknown step kind {kind!r} (known: {', '.join(STEP_KINDS)})")
        when = c.get(item, key, "when", str, "always")
        if isinstance(when, str) and when not in STEP_CONDITIONS:
            c.problem(
                f"{key}.when", f"unknown condition {when!r} (known: {', '.join(STEP_CONDITIONS)})"
            )
        timings = {t: item[t] for t in ("after_minutes", "on_day", "every_day_from") if t in item}
        if len(timings) != 1:
            c.problem(key, "needs exactly one of after_minutes, on_day, every_day_from")
            continue
        ((timing, value),) = timings.items()
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            c.problem(f"{key}.{timing}", f"must be a whole number greater than 0, got {value!r}")
            continue
        if kind in STEP_KINDS and when in STEP_CONDITIONS:
            steps.append(LadderStep(kind, when=when, **{timing: value}))
    return tuple(steps)


def _parse_school_day(c: _Checker, policy: Mapping[str, Any]) -> SchoolDay:
    default = SchoolDay()
    opens = c.time(policy, "policy", "school_day_opens", required=False) or default.opens
    closes = c.time(policy, "policy", "school_day_closes", required=False) or default.closes
    if closes <= opens:
        c.problem("policy.school_day_closes", "must be after policy.school_day_opens")
        return default
    return SchoolDay(opens, closes)


def _parse_chain(c: _Checker, raw: Any) -> tuple[ChainStep, ...]:
    if not isinstance(raw, list) or not raw:
        c.problem("policy.dsl_chain", "must be a list of steps ([[policy.dsl_chain]] tables)")
        return ()
    steps: list[ChainStep] = []
    for i, item in enumerate(raw):
        key = f"policy.dsl_chain[{i}]"
        if not isinstance(item, Mapping):
            c.problem(key, "must be a table")
            continue
        c.unknown(item, key, {"kind", "after_minutes"})
        kind = c.get(item, key, "kind", str)
        if isinstance(kind, str) and kind not in CHAIN_KINDS:
            c.problem(
                f"{key}.kind", f"unknown step kind {kind!r} (known: {', '.join(CHAIN_KINDS)})"
            )
            continue
        minutes = c.get(item, key, "after_minutes", int, what="a whole number of minutes")
        if isinstance(minutes, int) and minutes <= 0:
            c.problem(f"{key}.after_minutes", f"must be greater than 0, got {minutes}")
            continue
        if isinstance(kind, str) and isinstance(minutes, int):
            steps.append(ChainStep(kind, minutes))
    if len({s.key for s in steps}) != len(steps):
        c.problem("policy.dsl_chain", "has the same step twice")
    return tuple(steps)


def _parse_templates(c: _Checker, raw: Mapping[str, Any]) -> dict[str, str]:
    c.unknown(raw, "templates", set(TEMPLATE_FIELDS))
    templates = dict(DEFAULT_TEMPLATES)
    formatter = string.Formatter()
    for name, text in raw.items():
        if name not in TEMPLATE_FIELDS:
            continue
        key = f"templates.{name}"
        if not isinstance(text, str) or not text.strip():
            c.problem(key, "must be non-empty text")
            continue
        try:
            fields = {f for _, f, _, _ in formatter.parse(text) if f is not None}
        except ValueError as exc:
            c.problem(key, f"is not a valid template: {exc}")
            continue
        unknown = sorted(f for f in fields if f not in TEMPLATE_FIELDS[name])
        if unknown:
            c.problem(
                key,
                f"unknown field {{{unknown[0]}}} (known: "
                + ", ".join(f"{{{f}}}" for f in sorted(TEMPLATE_FIELDS[name]))
                + ")",
            )
            continue
        problem = template_problem(name, text)
        if problem is not None:
            c.problem(key, problem)
            continue
        templates[name] = text
    return templates
