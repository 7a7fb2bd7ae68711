"""Dates in replies: when the child is back, and which days a leave request covers.

Everything is relative to `today`, the school day the text answers.  A return date is
only taken where the parent ties a day to coming back ("back Monday", "off till Weds",
"in tomorrow"); "I'll let you know tomorrow" and "48 hours clear" give no date, because a
guess here would make the system stop chasing a child who is still off.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from datetime import date, timedelta
from functools import lru_cache

from .lexicon import other_sense
from .normalise import Normalised, fold, tokenise, words

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
# Weekdays as they are misspelt in texts ("wensday", "frieday"); the spelling corrector
# leaves them alone, as it does any word it does not know.
WEEKDAYS.update(
    {
        "munday": 0,
        "mundy": 0,
        "monda": 0,
        "tuesda": 1,
        "thursda": 3,
        "thorsday": 3,
        "thrsdy": 3,
        "thursdy": 3,
        "frida": 4,
        "fridy": 4,
        "mondy": 0,
        "tusday": 1,
        "teusday": 1,
        "tuesdy": 1,
        "wensday": 2,
        "wendsday": 2,
        "wednsday": 2,
        "wedensday": 2,
        "wednesay": 2,
        "wednesda": 2,
        "weds": 2,
        "thurday": 3,
        "thirsday": 3,
        "thur": 3,
        "frieday": 4,
        "fryday": 4,
        "firday": 4,
    }
)
# Month names in the other languages families write, read only after a day number
# ("2 de fevereiro", "2 marca", "5 mai") so that "mai" or "mart" alone is never a date.
_FOREIGN_MONTHS = {
    word: n
    for n, names in enumerate(
        (
            "stycznia styczen janeiro ianuarie enero janvier sausio ocak ionawr января січня januar gennaio",
            "lutego luty fevereiro februarie febrero fevrier vasario subat chwefror февраля лютого februar febbraio",
            "marca marzec marco martie marzo mars kovo mart mawrth марта березня marz maerz",
            "kwietnia kwiecien abril aprilie avril balandzio nisan ebrill апреля квітня aprile",
            "maja maj maio mai mayo gegužės geguzes mayis травня мая maggio",
            "czerwca czerwiec junho iunie junio juin birzelio haziran mehefin июня червня juni giugno",
            "lipca lipiec julho iulie julio juillet liepos temmuz gorffennaf июля липня juli luglio",
            "sierpnia sierpien agosto august aout rugpjucio agustos awst августа серпня",
            "wrzesnia wrzesien setembro septembrie septiembre septembre rugsejo eylul medi "
            "сентября вересня settembre",
            "pazdziernika pazdziernik outubro octombrie octubre octobre spalio ekim hydref "
            "октября жовтня oktober ottobre",
            "listopada listopad novembro noiembrie noviembre novembre lapkricio kasim tachwedd "
            "ноября листопада",
            "grudnia grudzien dezembro decembrie diciembre decembre gruodzio aralik rhagfyr "
            "декабря грудня dezember dicembre",
        ),
        start=1,
    )
    for word in names.split()
}
# More of the languages the corpus shows, written as families spell them and folded as the
# tokens are (Bengali and Devanagari lose their joining marks): Swahili, Hungarian,
# Albanian, Czech, Slovak, Latvian, Tagalog, Somali, Greek, Bulgarian, Arabic, Persian,
# Urdu, Hindi, Nepali, Bengali.
_MORE_MONTHS = (
    "januari januar janar ledna januara janvari janvara janaayo ιανουαριου януари يناير "
    "ژانویه جنوری जनवरी জানুয়ারি",
    "februari februar februara shkurt unora februari pebrero febraayo φεβρουαριου "
    "февруари فبراير فوریه فروری फरवरी फेब्रुअरी ফেব্রুয়ারি",
    "machi marcius marsit brezna marta marso maarso μαρτιου مارس مارچ मार्च মার্চ",
    "aprili aprilis prill prillit dubna aprila aprili abriil απριλιου април أبريل ابريل "
    "آوریل اپریل अप्रैल अप्रिल এপ্রিল",
    "mei majus kvetna maija maajo μαιου مايو مئی मई",
    "juni junius qershor qershorit cervna juna junija hunyo juun ιουνιου юни يونيو ژوئن "
    "جون जून जुन জুন",
    "julai julius korrik korrikut cervence jula julija hulyo luulyo ιουλιου юли يوليو "
    "ژوئیه جولائی जुलाई জুলাই",
    "agosti augusztus gusht gushtit srpna augusta augusta agoosto αυγουστου август أغسطس "
    "اگست अगस्त अगस्ट আগস্ট",
    "septemba szeptember shtator shtatorit zari septembra septembri setyembre sebtembar "
    "σεπτεμβριου септември سبتمبر سپتامبر ستمبر सितंबर सितम्बर सेप्टेम्बर সেপ্টেম্বর",
    "oktoba oktober tetor tetorit rijna oktobra oktobri oktubre oktoobar οκτωβριου "
    "октомври أكتوبر اکتبر اکتوبر अक्टूबर अक्टोबर অক্টোবর",
    "novemba nentor nentorit listopadu novembra novembri nobyembre nofembar νοεμβριου "
    "ноември نوفمبر نوامبر نومبر नवंबर नवम्बर नोभेम्बर নভেম্বর",
    "desemba dhjetor dhjetorit prosince decembra decembri disyembre desembar δεκεμβριου "
    "декември ديسمبر دسامبر دسمبر दिसंबर दिसम्बर डिसेम्बर ডিসেম্বর",
)
for _month, _names in enumerate(_MORE_MONTHS, start=1):
    for _name in _names.split():
        for _word in tokenise(_name, False):
            _FOREIGN_MONTHS.setdefault(_word, _month)
_DAY_NUMBER_MONTHS = {**_FOREIGN_MONTHS, **MONTHS}
# Month names a day number follows, in the languages that write the month first
# ("vasario 23", "február 23-án", "Pebrero 23", "Februari 23"); elsewhere a month name is
# read only after a day number ("mai", "mars" and "Marta" are other words too).
_MONTH_FIRST = {
    word: n
    for n, names in enumerate(
        (
            "sausio januar januari enero",
            "vasario februar februari pebrero",
            "kovo marcius machi marso",
            "balandzio aprilis aprili abril",
            "geguzes majus mei mayo",
            "birzelio junius juni hunyo",
            "liepos julius julai hulyo",
            "rugpjucio augusztus agosti agosto",
            "rugsejo szeptember septemba setyembre",
            "spalio oktober oktoba oktubre",
            "lapkricio november novemba nobyembre",
            "gruodzio december desemba disyembre",
        ),
        start=1,
    )
    for word in names.split()
}
# "6月15日", "6월 15일": Chinese, Japanese and Korean dates, month first.
_CJK_DATE = re.compile(r"^(\d{1,2})月(\d{1,2})[日号號]?$")
_KOREAN_MONTH = re.compile(rf"^(\d{{1,2}}){fold('월')}$")  # folded as the tokens are
_KOREAN_DAY = re.compile(rf"^(\d{{1,2}}){fold('일')}")
# "24 tareekh": the 24th, in Urdu and Punjabi written in Latin letters.
_DATE_WORDS = frozenset({"tareekh", "tarikh", "tarik", "tareek"})
# A bare day number is a date after "yom" or "dia" ("yom 23", "dia 2") or before the
# Punjabi and Urdu postpositions ("23 nu school", "15 ko").
_DAY_NUMBER_BEFORE = frozenset({"yom", "يوم", "dia", "jour", "le", "el", "tarehe"})
_DAY_NUMBER_AFTER = frozenset({"nu", "ko", "ka"})
# "Tomorrow" as families write it, in English dialect and text-speak and in the other
# languages the corpus shows (accent-folded, as the tokens are).  Hindi and Urdu "kal" is
# yesterday as well as tomorrow, so it is not here: `_KAL` reads it beside a verb of coming
# back, and `plain_return` as the next day a reply explaining today names.
_TOMORROW = frozenset(
    {"tomorrow", "tomorra", "tomorrer", "tomora", "tomoz", "tomorow", "tommorow", "tommorrow"}
    | {"tmrw", "tmr", "tmoz", "2moro", "2morrow", "2mrw", "2moz", "morra", "morrow"}
    | {"jutro", "maine", "amanha", "manana", "demain", "rytoj", "zajtra", "zitra", "jutri"}
    | {"yfory", "fory", "berri", "yarin", "domani", "morgen", "bukas", "esok", "besok"}
    | {"kesho", "mangwana", "nemangwana", "holnap", "neser", "utre", "sutra", "kaail", "bholi"}
    | {"bukra", "بكرة", "بكره", "غدا", "завтра", "утре"}
    # Latvian, Sinhala in Latin letters, Iraqi, Gulf and Moroccan Arabic: too short or too
    # dialectal for the lexicon, which ignores three-letter words in other languages.
    | {"rit", "heta", "bacher", "bachir", "baacher", "باچر", "بكرا", "bokra", "ghedda", "ghda"}
    # Dari and Persian, Telugu, Tamil and Malayalam typed in Latin letters; Lithuanian cut
    # short; English misspelt (round 23).
    | {"farda", "fardah", "repu", "naalai", "naale", "ryt", "tmorra", "tomorro"}
    | {"tmorro", "tomoro", "tmoro", "tommorra"}
)


# Vietnamese counts its weekdays: thứ hai ("the second") is Monday, thứ sáu Friday.
_VI_WEEKDAY = {
    **dict.fromkeys(("2", "hai"), "monday"),
    **dict.fromkeys(("3", "ba"), "tuesday"),
    **dict.fromkeys(("4", "tu"), "wednesday"),
    **dict.fromkeys(("5", "nam"), "thursday"),
    **dict.fromkeys(("6", "sau"), "friday"),
}
_VI_WORDS = {("tuan", "sau"): ("next", "week"), ("tuan", "toi"): ("next", "week")}


def vietnamese_days(tokens: list[str], names: Collection[str], vietnamese: bool) -> list[str]:
    """A reply's Vietnamese days as the date reader reads them: "thu 6" is Friday and "thu
    hai tuan sau" Monday next week in any reply not in English (detection misses Vietnamese
    typed without its accents); "mai" is tomorrow only in one known to be Vietnamese ("mai"
    is "more" in Romanian and May in French), and not where a child is called Mai."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok, nxt = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "thu" and nxt in _VI_WEEKDAY:
            out.append(_VI_WEEKDAY[nxt])
            i += 2
            continue
        if (tok, nxt) in _VI_WORDS:
            out += _VI_WORDS[tok, nxt]
            i += 2
            continue
        if vietnamese and tok == "ngay" and nxt == "mai":
            i += 1
            continue
        out.append("tomorrow" if vietnamese and tok == "mai" and "mai" not in names else tok)
        i += 1
    return out


def _is_tomorrow(tokens: Sequence[str], i: int) -> bool:
    return tokens[i] in _TOMORROW and not other_sense(tokens, i)


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


_BEFORE_DAY_NUMBER = frozenset({"the", "dia", "le", "el", "den", "on", "ngay"})


def _exact_after_weekday(
    tokens: tuple[str, ...], j: int, today: date, weekday: int
) -> tuple[date, int] | None:
    """The day number after a weekday ("Monday 29th", "Monday the 15th", "Monday 3
    November"): (date, tokens used after the weekday)."""
    n = len(tokens)
    if j < n and tokens[j] == ",":
        j += 1  # "Dienstag, 21. April"
    k = j + 1 if j < n and tokens[j] in _BEFORE_DAY_NUMBER else j
    if k >= n or not (m := _ORDINAL.match(tokens[k])):
        return None
    month = _month_after(tokens, k + 1)
    if month is not None:
        exact = _day_of_month(int(m.group(1)), month[0], today)
        return (exact, k + 1 + month[1] - j) if exact else None
    exact = _day_of_month(int(m.group(1)), None, today)
    # "Monday 29th", or a bare "Monday 26" where the 26th is a Monday.
    if exact is not None and (tokens[k][-1:].isalpha() or exact.weekday() == weekday):
        return exact, k + 1 - j
    return None


def _month_after(tokens: tuple[str, ...], j: int) -> tuple[int, int] | None:
    """A month name at j, after an optional "of" or "de": (month, tokens used)."""
    n = len(tokens)
    if j < n and tokens[j] == "." and j > 0 and tokens[j - 1].isdigit():
        j += 1  # "5. Januar"
    k = j + 1 if j < n and tokens[j] in ("of", "de", "do") else j
    if k < n and tokens[k] in _DAY_NUMBER_MONTHS:
        return _DAY_NUMBER_MONTHS[tokens[k]], k + 1 - j
    return None


def _next_monday(today: date, is_school_day: SchoolDay) -> date:
    return on_or_after_school_day(today + timedelta(days=7 - today.weekday()), is_school_day)


def date_at(
    tokens: tuple[str, ...], i: int, today: date, is_school_day: SchoolDay
) -> tuple[date | None, int] | None:
    """A date expression starting at token i: (date or None when vague, tokens used)."""
    n = len(tokens)
    tok = tokens[i]
    if _is_tomorrow(tokens, i):
        return next_school_day(today, is_school_day), 1
    if tok == "next" and i + 1 < n and tokens[i + 1] in ("week", "term", "month"):
        return None, 2
    if tok == "after" and i + 1 < n:
        # "after the weekend" is Monday; "after half term" or "the holidays" names no day.
        rest = tokens[i + 1 : i + 3]
        if "weekend" in rest:
            return _next_monday(today, is_school_day), rest.index("weekend") + 2
        if rest and rest[-1] in ("term", "holidays", "holiday", "hols", "break"):
            return None, len(rest) + 1
        return None
    if tok in ("morn", "morrow") and i > 0 and tokens[i - 1] == "the":
        # Scots and Geordie "the morn": tomorrow.
        return next_school_day(today, is_school_day), 1
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
        exact = _exact_after_weekday(tokens, i + 1, today, WEEKDAYS[tok])
        if exact is not None:
            return exact[0], exact[1] + 1
        d = _weekday(WEEKDAYS[tok], today, False)
        if i + 1 < n and tokens[i + 1] == "week":
            # "Monday week": the Monday after next.
            return on_or_after_school_day(d + timedelta(days=7), is_school_day), 2
        if tokens[i + 1 : i + 3] == ("next", "week"):
            # "Wednesday next week": that day in the week after this one.
            monday = today + timedelta(days=7 - today.weekday())
            return on_or_after_school_day(monday + timedelta(days=WEEKDAYS[tok]), is_school_day), 3
        return on_or_after_school_day(d, is_school_day), 1
    if m := _SLASH.match(tok):
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        return _day_of_month(int(m.group(1)), int(m.group(2)), today, year), 1
    m = _ORDINAL.match(tok)
    if m:
        day_num = int(m.group(1))
        month = _month_after(tokens, i + 1)
        if month is not None:
            return _day_of_month(day_num, month[0], today), month[1] + 1
        if tokens[i + 1 : i + 2] == ("thang",) and i + 2 < n and tokens[i + 2].isdigit():
            # Vietnamese "ngày 15 tháng 6": the 15th of the sixth month.
            return _day_of_month(day_num, int(tokens[i + 2]), today), 3
        if i + 1 < n and tokens[i + 1] in _DATE_WORDS:
            return _day_of_month(day_num, None, today), 2
        if (i + 1 < n and tokens[i + 1] in _DAY_NUMBER_AFTER) or (
            i > 0 and tokens[i - 1] in _DAY_NUMBER_BEFORE
        ):
            return _day_of_month(day_num, None, today), 1
        if tok[-1:].isalpha():
            return _day_of_month(day_num, None, today), 1
        return None
    if tok in MONTHS and tok != "may" and i + 1 < n and (m := _ORDINAL.match(tokens[i + 1])):
        return _day_of_month(int(m.group(1)), MONTHS[tok], today), 2
    if tok in _MONTH_FIRST and i + 1 < n and tokens[i + 1].isdigit() and len(tokens[i + 1]) <= 2:
        return _day_of_month(int(tokens[i + 1]), _MONTH_FIRST[tok], today), 2
    if m := _CJK_DATE.match(tok):
        return _day_of_month(int(m.group(2)), int(m.group(1)), today), 1
    if (m := _KOREAN_MONTH.match(tok)) and i + 1 < n and (day := _KOREAN_DAY.match(tokens[i + 1])):
        return _day_of_month(int(day.group(1)), int(m.group(1)), today), 2
    return None


_RETURN_ANCHOR = re.compile(
    r"(?<![^ ])(?:back|return|returns|returning|retur|resume|resumes|be in|in school|"
    r"come in|coming in|in on|in|see (?:you|him|her|them)|"
    r"(?:send|bring|have) (?:him|her|them)(?: back)?(?: in)?|"
    r"till|until|til|untill|up to)(?![^ ])"
)
# "Back" and "comes to school" in the other languages: the day follows within a few words
# ("wróci do szkoły w poniedziałek", "vin la școală luni", "voltamos dia 2 de fevereiro").
_FOREIGN_ANCHORS = words(
    "wroci wroca wrocimy wracamy wraca przyjdzie przyjda beda bedzie revine revin vine vin vor "
    "intoarce volta voltam voltamos voltara voltarao retorna regresa vuelve vuelven volvemos "
    "revient reviennent reviendra reviendront viendra viendront rentre rentrera "
    "grizta gris grisim grizim повернеться повернемося повернуться прийде прийдуть буде "
    "будуть يرجع ترجع يعود تعود يرجعوا يرجعون بيرجعوا نرجع برجع بترجع بيجوا بيجو يجوا "
    "يجي تجي pride pridu vjen vijne vao shte zuruck schule vedigerin πισω میاد میان میاین "
    "برمیگردن برمیگرده"
)
# In a reply in another language, the school itself anchors a day either side of it
# ("23 nu school", "los niños al colegio el jueves").
_FOREIGN_SCHOOL = words(
    "school skool iskul iskool madrasa madrasa المدرسة عالمدرسة szkoly szkole scoala escola "
    "colegio ecole okula okulda школу школи skole skoly skolu shkolle shkolla uchilishte "
    "училище σχολειο σχολειο مدرسه dibistane dibistan mokykla mokykloje skola skolā"
) | {fold(w) for w in ("સ્કૂલ", "ਸਕੂਲ", "स्कूल", "স্কুল")}
# Where the verb comes last (Urdu and Punjabi in Latin letters, Turkish, Sylheti), the day
# is in the few words before it ("24 tareekh ko wapas aa jayegi", "Sombar ashbo").
_VERB_LAST_ANCHORS = words(
    "wapas wapis aayega aayegi aaega aaegi ayega ayegi aaenge aayenge aunga aavega aavegi "
    "gelecek gelir gelirler gelecekler donecek donecekler doneriz doner donerler ashbo ashbe "
    "aibo aibe jabe aunge aavange aasan bhej bhejenge bhejange bhejdenge bhejdange"
) | {fold(w) for w in ("આવશે", "ਆਉਣਗੇ", "ਆਵੇਗਾ", "ਆਵੇਗੀ", "आउँछ", "आउनेछ", "आएगा", "आएगी", "আসবে")}
_FILLER = words(
    "in school on to the probably hopefully again by as normal definitely be at "
    "fingers crossed all going ok with us class skool for from"
)
_FOREIGN_STOP = frozenset(".!?;\n")
_REST_OF_WEEK = re.compile(
    r"(?<![^ ])(?:off|home|away|out|not be in|not in|not coming in|not coming|excluded|"
    r"suspended)"
    r"(?: [^ .!?;]+){0,5}? (?:for )?(?:the )?(?:rest of (?:the|this) week|all week|whole week|"
    r"all this week|this week)(?![^ ])"
)
# "Off today and tomorrow": back the day after.
_TWO_DAYS = re.compile(
    r"(?<![^ ])(?:today|dzis|azi|hoje|aaj|aj|hoy|heddiw|bugun|aujourd'hui|сьогодні|sodien|"
    r"siandien|danas|dnes) (?:and |or |i |si |e |n |y |ni |a |ac |ve |et |і |ir |un )?"
    r"(?:tomorrow|jutro|maine|amanha|kal|tomorra|manana|fory|yfory|yarin|demain|завтра|rit|"
    r"rytoj|sutra|zajtra|zitra)(?![^ ])"
)
_KAL = re.compile(
    r"(?<![^ ])kal (?:(?:school|skool|sakool|sakul|sakoul) )?(?:aa |aa jayega |bhi )?"
    r"(?:aayega|aayegi|aaega|aaegi|ayega|ayegi|jayega|jayegi|jaega|jaegi|aa jayegi|"
    r"bhejenge|bhejungi|bhejunga|aaenge|aayenge)(?![^ ])"
)
_OFF_WORDS = words("off home away out back")
# "Keeping her off tomorrow too": back the day after tomorrow.
_OFF_TOMORROW_TOO = re.compile(
    r"(?<![^ ])off tomorrow (?:too|as well|also|and all)(?![^ ])|(?<![^ ])(?:keep|keeping) "
    r"(?:him|her|them) (?:off|home) tomorrow(?![^ ])"
)
_NOT = words("not never wont cant")


def _foreign_day(
    tokens: tuple[str, ...], j: int, today: date, is_school_day: SchoolDay
) -> date | None:
    """A date at token j, English or a weekday in another language."""
    got = date_at(tokens, j, today, is_school_day)
    if got is not None:
        return got[0]
    weekday = _day_of(tokens[j])
    if weekday is None:
        return None
    exact = _exact_after_weekday(tokens, j + 1, today, weekday)
    if exact is not None:
        return exact[0]
    ahead = (weekday - today.weekday()) % 7 or 7
    return on_or_after_school_day(today + timedelta(days=ahead), is_school_day)


def _ends_sentence(tokens: tuple[str, ...], j: int) -> bool:
    # "am 5. Januar", "v pondelok 9.": a full stop after a day number is an ordinal's.
    return tokens[j] in _FOREIGN_STOP and not (
        tokens[j] == "." and j > 0 and tokens[j - 1].isdigit()
    )


def _first_day(
    tokens: tuple[str, ...],
    span: range,
    today: date,
    is_school_day: SchoolDay,
    names: Collection[str] = (),
) -> tuple[int, date] | None:
    for n, j in enumerate(span):
        if _ends_sentence(tokens, j) or n >= 8:
            return None
        if tokens[j] in names:
            continue  # "Martim", "Sali": a child's name, not a weekday
        d = _foreign_day(tokens, j, today, is_school_day)
        if d is not None and _in_range(d, today):
            return j, d
    return None


def _in_range(d: date | None, today: date) -> bool:
    return d is not None and today < d <= today + timedelta(days=_MAX_AHEAD)


def return_date(
    norm: Normalised,
    today: date,
    is_school_day: SchoolDay,
    foreign: bool = False,
    names: Collection[str] = (),
) -> date | None:
    """The day the reply says the child is back. Where it names several ("we fly back
    Sunday, she'll be in Monday"), the last one named is the day at school."""
    tokens = norm.tokens
    found: list[tuple[int, date]] = []
    for m in _RETURN_ANCHOR.finditer(norm.text):
        start = _token_at(norm, m.start())
        end = _token_at(norm, m.end() + 1)
        if start is None:
            continue
        j = end if end is not None else len(tokens)
        # "won't be in tomorrow either" gives no return day; "will not return before
        # Thursday" does.
        if start > 0 and tokens[start - 1] == "not":
            if not (j < len(tokens) and tokens[j] in ("before", "until", "till")):
                continue
            j += 1
        # "till Monday" is a return only after being off, away or suspended ("won't be in
        # till Monday"), not in "wait till Monday to see the GP".
        before = tokens[max(0, start - 4) : start]
        if m.group(0) in ("till", "until", "til", "untill", "up to") and not (
            _OFF_WORDS.intersection(before)
            or ("in" in before and _NOT.intersection(before))
            or "suspended" in tokens[:start]
            or "excluded" in tokens[:start]
        ):
            continue
        skipped = 0
        while j < len(tokens) and tokens[j] in _FILLER and skipped < 4:
            if tokens[j] in ("next",) or (
                tokens[j] == "the" and j + 1 < len(tokens) and tokens[j + 1] in ("morn", "morrow")
            ):
                break
            j += 1
            skipped += 1
        if j >= len(tokens):
            continue
        got = date_at(tokens, j, today, is_school_day)
        if got is not None and _in_range(got[0], today):
            assert got[0] is not None
            found.append((j, got[0]))
    sentence_start = 0
    for i, tok in enumerate(tokens):
        if _ends_sentence(tokens, i):
            sentence_start = i + 1
            continue
        if tok in _FOREIGN_ANCHORS or (foreign and tok in _FOREIGN_SCHOOL):
            # The day after the word, else just before it ("segunda eles voltam").
            spans: tuple[range, ...] = (
                range(i + 1, min(len(tokens), i + 6)),
                range(i - 1, sentence_start - 1, -1),
            )
        elif tok in _VERB_LAST_ANCHORS:
            spans = (range(max(sentence_start, i - 5), i),)
        else:
            continue
        for span in spans:
            day = _first_day(tokens, span, today, is_school_day, names)
            if day is not None:
                found.append(day)
                break
    if found:
        return on_or_after_school_day(max(found)[1], is_school_day)
    if _TWO_DAYS.search(norm.text) or _OFF_TOMORROW_TOO.search(norm.text):
        return next_school_day(next_school_day(today, is_school_day), is_school_day)
    if _KAL.search(norm.text) or _foreign_tomorrow(norm):
        return next_school_day(today, is_school_day)
    if _REST_OF_WEEK.search(norm.text):
        return _next_monday(today, is_school_day)
    return None


def _foreign_tomorrow(norm: Normalised) -> bool:
    toks = set(norm.tokens)
    tomorrow = toks & _TOMORROW
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
# "od 6. do 10. jula", "২৩ থেকে ২৭ মার্চ", "12 से 16 जनवरी", "du 8 au 12 juin": a bare day
# number, a word for "to" (or "and"), and a date; the first day takes the date's month.
_RANGE_BEFORE_DATE = _RANGE_JOIN | words(
    "do deri до hadi na থেকে ও से और تا لحدي لحد الى إلى ila au al a et bis und ate iki "
    "ir kadar ile dal fino e y i и и اور ва va és es ja ka sa"
)


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
        if len(gap) <= 1 and all(t in _RANGE_BEFORE_DATE for t in gap):
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
    start = _bare_day_before(norm.tokens, first[0], d)
    return (start, d) if start is not None and start > today else (d, d)


def _bare_day_before(tokens: tuple[str, ...], at: int, day: date) -> date | None:
    """The day of "6 do" before a date at `at` ("6. do 10. jula"), in that date's month."""
    j = at - 1
    if j >= 0 and tokens[j] == ".":
        j -= 1
    if j < 1 or tokens[j] not in _RANGE_BEFORE_DATE or not _ORDINAL.match(tokens[at]):
        return None
    k = j - 1
    if tokens[k] == "." and k > 0:
        k -= 1
    if not (tokens[k].isdigit() and len(tokens[k]) <= 2 and 0 < int(tokens[k]) < day.day):
        return None
    return day.replace(day=int(tokens[k]))


# The weekdays as families write them in English dialect and in the other languages the
# corpus shows (accent-folded, as the tokens are).  Stems match the start of a token, so
# inflected forms ("poniedzialek", "pirmadieni") are found too.
_DAY_STEMS: tuple[tuple[str, ...], ...] = (
    (
        "monday",
        "poniedzial",
        "luni",
        "segunda",
        "lunes",
        "lundi",
        "pirmadien",
        "pondel",
        "llun",
        "pazartesi",
        "montag",
        "lunedi",
        "δευτερα",
        "دوشنبه",
        "pirmdien",
        "dusem",
        "isniin",
        "peer",
        "pir",
        "понеділ",
        "понедель",
        "الاثنين",
        "ponedelnik",
        "понеделник",
        "pondelok",
        "hene",
        "sombar",
        "somvar",
        "सोमबार",
        "सोमवार",
        "সোমবার",
        "સોમવાર",
        "ਸੋਮਵਾਰ",
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
        "τριτη",
        "dienstag",
        "martedi",
        "otrdien",
        "vtornik",
        "вторник",
        "mongolbar",
        "मंगलबार",
        "मंगलवार",
        "মঙ্গলবার",
        "મંગળવાર",
        "ਮੰਗਲਵਾਰ",
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
        "τεταρτη",
        "mittwoch",
        "mercoledi",
        "چهارشنبه",
        "tresdien",
        "sryada",
        "сряда",
        "merkure",
        "budhbar",
        "बुधबार",
        "बुधवार",
        "বুধবার",
        "બુધવાર",
        "ਬੁੱਧਵਾਰ",
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
        "πεμπτη",
        "donnerstag",
        "giovedi",
        "پنجشنبه",
        "ceturtdien",
        "chetvartak",
        "четвъртък",
        "enjte",
        "bihibar",
        "बिहीबार",
        "गुरुवार",
        "বৃহস্পতিবার",
        "ગુરુવાર",
        "ਵੀਰਵਾਰ",
    ),
    (
        "friday",
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
        "παρασκευη",
        "freitag",
        "venerdi",
        "piektdien",
        "petak",
        "петък",
        "premte",
        "shukrobar",
        "sukrabar",
        "शुक्रबार",
        "शुक्रवार",
        "শুক্রবার",
        "શુક્રવાર",
        "ਸ਼ੁੱਕਰਵਾਰ",
    ),
)
# "won't be in tomorrow either", "I'll let you know tomorrow": not a return.
_PLAIN_BLOCKERS = words(
    "not no never wont won cant nie nu nao know see update ring call let tell text phone"
)
# A day tied to something else ("no money till Friday", "GP tomorrow", "the funeral is
# Thursday", "since Monday", "came to ours on Friday") is not the day back.
_PLAIN_EVENTS = words(
    "since last paid pay payday money skint gp doctor doctors doctor's appointment appt "
    "funeral cremation burial janaza hearing meeting reassess was were did had came "
    "every fly flying flight leave leaving service wake court review "
    "assessment clinic hospital dentist interview test exam results operation scan"
)
_PLAIN_AFTER = words("night evening morning afternoon gone just")
# English "mon" and "fri" are not here: the tokeniser spells them out in an English reply,
# and in another they are words of its own (French "mon mari", Danish "har fri").
_EXACT_ONLY = frozenset({"tues", "weds", "thurs", "pir", "peer", "iau", "joi", "sali"})


def _day_indexes() -> tuple[dict[str, int], dict[str, int], tuple[int, ...]]:
    """Exact day words and prefix stems as dicts (the first weekday to claim a stem wins),
    so a token costs a few dict look-ups rather than a scan of every stem."""
    exact: dict[str, int] = {w: d for w, d in WEEKDAYS.items() if d < 5}
    prefixes: dict[str, int] = {}
    for weekday, stems in enumerate(_DAY_STEMS):
        for stem in map(fold, stems):
            exact.setdefault(stem, weekday)
            if stem not in _EXACT_ONLY and len(stem) >= 4:
                prefixes.setdefault(stem, weekday)
    return exact, prefixes, tuple(sorted({len(p) for p in prefixes}))


_DAY_EXACT, _DAY_PREFIXES, _DAY_PREFIX_SIZES = _day_indexes()


@lru_cache(maxsize=65536)
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


def plain_return(
    norm: Normalised, today: date, is_school_day: SchoolDay, names: Collection[str] = ()
) -> date | None:
    """A return read from a bare "tomorrow" or weekday in a reply explaining today ("Back the
    morra", "Grįšim pirmadienį", "inshallah Monday"): in such a reply a day named is the day
    the child is expected back."""
    tokens = norm.tokens
    sentence = 0
    found: date | None = None
    for i, tok in enumerate(tokens):
        if tok in _FOREIGN_STOP:
            sentence = i + 1
            continue
        tomorrow = (tok in _TOMORROW or tok == "kal") and not other_sense(tokens, i)
        weekday = None if tomorrow or tok in names else _day_of(tok)
        if not tomorrow and weekday is None:
            continue
        window = tokens[max(sentence, i - 4) : i]
        if _PLAIN_BLOCKERS.intersection(window) or _PLAIN_EVENTS.intersection(window):
            continue
        if i + 1 < len(tokens) and tokens[i + 1] in _PLAIN_AFTER:
            continue
        if tomorrow:
            day = next_school_day(today, is_school_day)
        else:
            assert weekday is not None
            day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        # Where several days are named ("we fly back Monday night, they're in Tuesday"), the
        # latest is the day at school.
        found = day if found is None else max(found, day)
    return found


def concept_return(concepts: Collection[str], today: date, is_school_day: SchoolDay) -> date | None:
    """`plain_return` for a reply in another language, from the lexicon's concepts in it: a
    weekday named is that day (the latest, where two are: "the funeral is Friday, school on
    Monday"), else "tomorrow" is the next school day."""
    days = [
        today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        for weekday, name in enumerate(_CONCEPT_DAYS)
        if name in concepts
    ]
    if days:
        return on_or_after_school_day(max(days), is_school_day)
    if "tomorrow" in concepts:
        return next_school_day(today, is_school_day)
    return None


_CONCEPT_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
