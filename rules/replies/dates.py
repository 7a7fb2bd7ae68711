"""Dates in replies: when the child is back, and which days a leave request covers.

Everything is relative to `today`, the school day the text answers.  A return date is
only taken where the parent ties a day to coming back ("back Monday", "off till Weds",
"in tomorrow"); "I'll let you know tomorrow" and "48 hours clear" give no date, because a
guess here would make the system stop chasing a child who is still off.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection
from contextlib import suppress
from datetime import date, timedelta

from .normalise import Normalised, words

SchoolDay = Callable[[date], bool]

WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$")
_MAX_AHEAD = 120  # days: anything further is a misread, not a return date


def weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def _safe(is_school_day: SchoolDay, day: date) -> bool:
    try:
        return bool(is_school_day(day))
    except Exception:  # noqa: BLE001 - a broken calendar must not break parsing
        return weekdays_only(day)


def next_school_day(day: date, is_school_day: SchoolDay) -> date:
    nxt = day + timedelta(days=1)
    for _ in range(60):
        if _safe(is_school_day, nxt):
            return nxt
        nxt += timedelta(days=1)
    return day + timedelta(days=1)


def on_or_after_school_day(day: date, is_school_day: SchoolDay) -> date:
    return day if _safe(is_school_day, day) else next_school_day(day, is_school_day)


def _weekday(target: int, today: date, next_: bool) -> date:
    ahead = (target - today.weekday()) % 7 or 7
    day = today + timedelta(days=ahead)
    # "next Friday" said early in the week means the Friday after this one.
    if (
        next_
        and today.weekday() < target
        and ahead < 7
        and day.isocalendar()[1] == today.isocalendar()[1]
    ):
        day += timedelta(days=7)
    return day


def _day_of_month(
    day_num: int, month: int | None, today: date, year: int | None = None
) -> date | None:
    try:
        if month is not None:
            d = date(year or today.year, month, day_num)
            if year is None and d < today:
                d = date(today.year + 1, month, day_num)
            return d
        d = date(today.year, today.month, day_num)
        if d <= today:
            m, y = (today.month + 1, today.year) if today.month < 12 else (1, today.year + 1)
            d = date(y, m, day_num)
        return d
    except ValueError:
        return None


def date_at(
    tokens: tuple[str, ...], i: int, today: date, is_school_day: SchoolDay
) -> tuple[date | None, int] | None:
    """A date expression starting at token i: (date or None when vague, tokens used)."""
    n = len(tokens)
    tok = tokens[i]
    if tok in ("tomorrow", "jutro", "maine", "amanha", "bukra", "بكرة", "بكره", "غدا"):
        return next_school_day(today, is_school_day), 1
    if tok == "next" and i + 1 < n and tokens[i + 1] in ("week", "term", "month"):
        return None, 2
    if tok in ("next", "this", "on", "the") and i + 1 < n:
        inner = date_at(tokens, i + 1, today, is_school_day)
        if inner is None:
            return None
        d, used = inner
        if tok == "next" and d is not None and tokens[i + 1] in WEEKDAYS:
            d = on_or_after_school_day(
                _weekday(WEEKDAYS[tokens[i + 1]], today, True), is_school_day
            )
        return d, used + 1
    if tok in WEEKDAYS:
        d = _weekday(WEEKDAYS[tok], today, False)
        # "Monday 29th": the day number is the more exact of the two.
        if i + 1 < n and (m := _ORDINAL.match(tokens[i + 1])) and tokens[i + 1][-1:].isalpha():
            exact = _day_of_month(int(m.group(1)), None, today)
            if exact is not None:
                return exact, 2
        return on_or_after_school_day(d, is_school_day), 1
    if m := _SLASH.match(tok):
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        return _day_of_month(int(m.group(1)), int(m.group(2)), today, year), 1
    m = _ORDINAL.match(tok)
    if m and (tok[-1:].isalpha() or (i + 1 < n and tokens[i + 1] in MONTHS)):
        day_num = int(m.group(1))
        j = i + 1
        if j < n and tokens[j] == "of":
            j += 1
        if j < n and tokens[j] in MONTHS:
            return _day_of_month(day_num, MONTHS[tokens[j]], today), j - i + 1
        if not tok[-1:].isalpha():
            return None
        return _day_of_month(day_num, None, today), 1
    if tok in MONTHS and tok != "may" and i + 1 < n and (m := _ORDINAL.match(tokens[i + 1])):
        return _day_of_month(int(m.group(1)), MONTHS[tok], today), 2
    return None


_RETURN_ANCHOR = re.compile(
    r"(?<![^ ])(?:back|return|returns|returning|retur|be in|in school|come in|coming in|"
    r"in on|in|see (?:you|him|her|them)|(?:send|bring|have) (?:him|her|them)(?: back)?(?: in)?|"
    r"till|until|til|untill|up to|aayega|aayegi|wroci|revine|volta|يرجع|ترجع|يعود|تعود)"
    r"(?![^ ])"
)
_FILLER = words(
    "in school on to the probably hopefully again by as normal definitely be at "
    "fingers crossed all going ok with us"
)
_REST_OF_WEEK = re.compile(
    r"(?<![^ ])(?:off|home|away|out)(?: for)?(?: the)? (?:rest of (?:the|this) week|all week|"
    r"whole week|week|this week)(?![^ ])"
)
_KAL = re.compile(
    r"(?<![^ ])kal (?:(?:school|skool|sakool|sakul|sakoul) )?(?:aa |aa jayega |bhi )?"
    r"(?:aayega|aayegi|aaega|aaegi|ayega|ayegi|jayega|jayegi|jaega|jaegi|aa jayegi|"
    r"bhejenge|bhejungi|bhejunga|aaenge|aayenge)(?![^ ])"
)
_OFF_WORDS = words("off home away out back")


def return_date(norm: Normalised, today: date, is_school_day: SchoolDay) -> date | None:
    tokens = norm.tokens
    found: date | None = None
    for m in _RETURN_ANCHOR.finditer(norm.text):
        start = _token_at(norm, m.start())
        end = _token_at(norm, m.end() + 1)
        if start is None:
            continue
        # "won't be in tomorrow either" gives no return day.
        if start > 0 and tokens[start - 1] == "not":
            continue
        # "till Monday" is a return only after being off, away or suspended, not in "wait
        # till Monday to see the GP".
        if m.group(0) in ("till", "until", "til", "untill", "up to") and not (
            _OFF_WORDS.intersection(tokens[max(0, start - 4) : start])
            or "suspended" in tokens[:start]
            or "excluded" in tokens[:start]
        ):
            continue
        j = end if end is not None else len(tokens)
        skipped = 0
        while j < len(tokens) and tokens[j] in _FILLER and skipped < 4:
            if tokens[j] in ("next",):
                break
            j += 1
            skipped += 1
        if j >= len(tokens):
            continue
        got = date_at(tokens, j, today, is_school_day)
        if got is None:
            continue
        d = got[0]
        if d is not None and today < d <= today + timedelta(days=_MAX_AHEAD):
            found = on_or_after_school_day(d, is_school_day)
    if found is None and _KAL.search(norm.text):
        found = next_school_day(today, is_school_day)
    if found is None and _foreign_tomorrow(norm):
        found = next_school_day(today, is_school_day)
    if found is None and _REST_OF_WEEK.search(norm.text):
        monday = today + timedelta(days=7 - today.weekday())
        found = on_or_after_school_day(monday, is_school_day)
    return found


def _foreign_tomorrow(norm: Normalised) -> bool:
    toks = set(norm.tokens)
    tomorrow = toks & {"jutro", "maine", "amanha", "بكرة", "بكره", "غدا"}
    back = toks & {
        "wroci",
        "revine",
        "vine",
        "volta",
        "intoarce",
        "przyjdzie",
        "يرجع",
        "ترجع",
        "يعود",
        "تعود",
    }
    return bool(tomorrow and back)


def _token_at(norm: Normalised, char: int) -> int | None:
    i = bisect_left(norm.offsets, char)
    return i if i < len(norm.offsets) else None


def mentions(
    norm: Normalised, today: date, is_school_day: SchoolDay
) -> list[tuple[int, int, date | None]]:
    """Every date expression: (first token, one past last token, date or None)."""
    out: list[tuple[int, int, date | None]] = []
    i = 0
    tokens = norm.tokens
    while i < len(tokens):
        got = (
            date_at(tokens, i, today, is_school_day)
            if tokens[i] not in ("on", "the", "this")
            else None
        )
        if got is not None:
            out.append((i, i + got[1], got[0]))
            i += got[1]
        else:
            i += 1
    return out


_RANGE_JOIN = frozenset(("to", "till", "until", "and", "through", "-"))


def leave_period(
    norm: Normalised, today: date, is_school_day: SchoolDay
) -> tuple[date, date] | None:
    """The first and last day asked for, where the request names them."""
    found = [m for m in mentions(norm, today, is_school_day) if m[2] is not None]
    found = [m for m in found if m[2] is not None and m[2] > today]
    if not found:
        return None
    first = found[0]
    for second in found[1:]:
        gap = norm.tokens[first[1] : second[0]]
        if len(gap) <= 1 and all(t in _RANGE_JOIN for t in gap):
            start, end = first[2], second[2]
            assert start is not None and end is not None
            # "1st to 5th March": the first day borrows the second's month.
            if _ORDINAL.match(norm.tokens[first[0]]) and first[1] - first[0] == 1:
                with suppress(ValueError):
                    start = end.replace(day=start.day)
            if start <= end:
                return start, end
        break
    d = first[2]
    assert d is not None
    return d, d


# "Tomorrow" and the weekdays as families write them in English dialect and in the other
# languages the corpus shows (accent-folded, as the tokens are).  Stems match the start of
# a token, so inflected forms ("poniedzialek", "pirmadieni") are found too.
_TOMORROW_WORDS = words(
    "tomorrow tomoz tomorow tommorow tommorrow tmrw tmr tmoz 2moro 2morrow 2mrw morra morrow "
    "jutro maine amanha manana demain rytoj zajtra zitra yfory fory berri yarin domani morgen "
    "завтра غدا بكرة بكره kal"
)
_DAY_STEMS: tuple[tuple[str, ...], ...] = (
    (
        "monday",
        "mon",
        "poniedzial",
        "luni",
        "segunda",
        "lunes",
        "lundi",
        "pirmadien",
        "pondel",
        "llun",
        "pazartesi",
        "isniin",
        "peer",
        "pir",
        "понеділ",
        "понедель",
        "الاثنين",
    ),
    (
        "tuesday",
        "tues",
        "wtor",
        "marti",
        "terca",
        "martes",
        "mardi",
        "antradien",
        "utor",
        "mawrth",
        "sali",
        "talaado",
        "mangal",
        "вівтор",
        "вторн",
        "الثلاثاء",
    ),
    (
        "wednesday",
        "weds",
        "sroda",
        "srode",
        "miercuri",
        "quarta",
        "miercoles",
        "mercredi",
        "treciadien",
        "stred",
        "mercher",
        "carsamba",
        "arbaco",
        "budh",
        "серед",
        "الاربعاء",
    ),
    (
        "thursday",
        "thurs",
        "czwart",
        "joi",
        "quinta",
        "jueves",
        "jeudi",
        "ketvirtadien",
        "stvrt",
        "iau",
        "persembe",
        "khamiis",
        "jumeraat",
        "четвер",
        "الخميس",
    ),
    (
        "friday",
        "fri",
        "piat",
        "vineri",
        "sexta",
        "viernes",
        "vendredi",
        "penktadien",
        "gwener",
        "cuma",
        "jimce",
        "jumma",
        "пятниц",
        "пʼятниц",
        "الجمعة",
    ),
)
# "won't be in tomorrow either", "I'll let you know tomorrow": not a return.
_PLAIN_BLOCKERS = words(
    "not no never wont won cant nie nu nao know see update ring call let tell text phone"
)
_EXACT_ONLY = frozenset(
    {"mon", "tues", "weds", "thurs", "fri", "pir", "peer", "iau", "joi", "sali"}
)


def _day_indexes() -> tuple[dict[str, int], dict[str, int], tuple[int, ...]]:
    """Exact day words and prefix stems as dicts (the first weekday to claim a stem wins),
    so a token costs a few dict look-ups rather than a scan of every stem."""
    exact: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    for weekday, stems in enumerate(_DAY_STEMS):
        for stem in stems:
            exact.setdefault(stem, weekday)
            if stem not in _EXACT_ONLY and len(stem) >= 4:
                prefixes.setdefault(stem, weekday)
    return exact, prefixes, tuple(sorted({len(p) for p in prefixes}))


_DAY_EXACT, _DAY_PREFIXES, _DAY_PREFIX_SIZES = _day_indexes()


def _day_of(token: str) -> int | None:
    # The earliest weekday wins, as when the stems were scanned in order.
    hits = [
        _DAY_PREFIXES[token[:n]]
        for n in _DAY_PREFIX_SIZES
        if n <= len(token) and token[:n] in _DAY_PREFIXES
    ]
    if token in _DAY_EXACT:
        hits.append(_DAY_EXACT[token])
    return min(hits) if hits else None


def plain_return(norm: Normalised, today: date, is_school_day: SchoolDay) -> date | None:
    """A return read from a bare "tomorrow" or weekday in a reply explaining today ("Back the
    morra", "Grįšim pirmadienį", "inshallah Monday"): in such a reply the next day named is
    the day the child is expected back."""
    tokens = norm.tokens
    for i, tok in enumerate(tokens):
        if _PLAIN_BLOCKERS.intersection(tokens[max(0, i - 4) : i]):
            continue
        if tok in _TOMORROW_WORDS:
            return next_school_day(today, is_school_day)
        weekday = _day_of(tok)
        if weekday is not None:
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None


def concept_return(concepts: Collection[str], today: date, is_school_day: SchoolDay) -> date | None:
    """`plain_return` for a reply in another language, from the lexicon's concepts in it:
    "tomorrow" is the next school day, "Monday" the next Monday."""
    if "tomorrow" in concepts:
        return next_school_day(today, is_school_day)
    if "monday" in concepts:
        return on_or_after_school_day(today + timedelta(days=7 - today.weekday()), is_school_day)
    return None
