"""The reply parser: one test per capability, the dev corpus targets, and property tests."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.replies import INTENTS, ParsedReply, dates, learned, parse_reply
from rules.replies.classify import read
from rules.replies.normalise import build, tokenise

WED = date(2026, 3, 11)  # a Wednesday
# Sentences the learned model reads wrong (each an xfail naming what it reads instead): kept
# so that a retrained model that gets one right says so.
MODEL = "the learned model (issue 13) reads this wrong"
FRI = date(2026, 3, 13)
CORPUS = Path(__file__).resolve().parents[2] / "rules/replies/corpus/dev.jsonl"
AUTHORISED = {"I", "M", "R", "C", "T", "J1", "Y1", "Y2"}
UNAUTHORISED = {"O", "G", "U", "N"}
KNOWN_CODES = AUTHORISED | UNAUTHORISED | {"E"}


# "In hospital" alone: I in some retrainings, O (flagged 'not sure enough to authorise') in
# others. Authorising where the rules agree would settle it, but cross-validated it cost 29
# more authorised codes for unauthorised reasons.
IN_HOSPITAL_ON_THE_EDGE = pytest.mark.xfail(
    strict=True, reason=f"{MODEL}: O, flagged 'not sure enough to authorise' (on the edge)"
)


def parse(text: str, children: tuple[str, ...] = ("Sam",), today: date = WED) -> ParsedReply:
    return parse_reply(text, today, children)


# --- reasons and codes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ill.", "I"),
        ("hiya sorry shes got a bad cold n a temp so kept her home 2day", "I"),
        ("Dentist", "M"),
        ("eid today x", "R"),
        ("Funeral today", "C"),
        ("We're on holiday in Tenerife", "G"),
        ("we overslept sorry she wont be in today now", "O"),
        ("The council taxi never turned up this morning", "Y1"),
        ("Flooding in the village, police have closed the only road out", "Y2"),
        ("We're travelling with the fair till the end of October", "T"),
        ("He's at his interview at the sixth form college today", "J1"),
        ("He's suspended till Thursday isn't he?", "E"),
        ("Missed the bus and the next one isn't till 10", "O"),
        ("Roads are like an ice rink, not risking the drive", "O"),
        # Dialect and plain words for being ill.
        ("Kayden is full of cold love, streaming he is", "I"),
        ("she's got the D and V that's going round", "I"),
        ("brody's got the squits sorry tmi off today", "I"),
        ("Brandon's bad wi his belly, up all night", "I"),
        ("Jamie's no weel, he was boakin aa night", "I"),
        # A car that "died" is a breakdown, not a bereavement.
        ("motors died on the m6 waitin on the AA, wont get them in the day", "O"),
        ("my nan died on saturday", "C"),
        # The failed council transport, or the disruption, is the reason; having no car of
        # one's own, or the snow, only explains it.
        ("That taxi never come AGAIN, ive no car so she'll have to stop wi me", "Y1"),
        ("The taxi not come today for Mohamed. I call council no answer.", "Y1"),
        ("di taxi neva come AGAIN, i cant drive him i got the baby n no car", "Y1"),
        ("the taxi arranged by the council for Aarav did not arrive this morning", "Y1"),
        ("Heavy snow, the road out of the village has been closed and no buses are running", "Y2"),
        ("Snowed in, nothing's moving, they won't be in", "Y2"),
        ("Missed the bus in the snow", "O"),
        # Two things in one reply: today's illness, and a trip later that names its days;
        # a trip under way, with its day back, is today's reason.
        (
            "hes poorly, temp. also taking him to tenerife 29th june to 3rd july, just telling u",
            "I",
        ),
        ("We travelled to Lagos for Christmas and the flight back is on the 8th", "G"),
        # "Can't cope with", "can't stop": the negation is the verb's, not the illness's.
        ("Honest to God I can't cope with this cold, both home today", "I"),
        ("she can't stop coughing", "I"),
        # A cancelled appointment explains nothing.
        ("Her orthodontist appointment got cancelled but she's stayed home anyway", "O"),
        ("dentist was cancelled and she is still poorly so kept her off", "I"),
    ],
)
def test_reasons_map_to_codes(text: str, code: str) -> None:
    # The rule engine's table; the whole parser is measured in benchmarks/replies.py.
    assert read(text, WED, ["Sam"], None).code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("She's got a temprature and a sore throat", "I"),  # misspelling
        ("Sorry she's got a really bad couch so she's home", "I"),  # autocorrect
        ("been sock twice this morning, keeping him off", "I"),
        ("orthadontist apointment this morning", "M"),
        ("Tonsilitis again", "I"),
    ],
)
def test_typos_and_autocorrect(text: str, code: str) -> None:
    assert parse(text).code == code


@pytest.mark.parametrize(
    "text",
    [
        "Sorry didnt see the text, Sam has a temperature",
        "Sam is poorly, thanks for the text",
        pytest.param(
            "Sam is ill, sorry only just seen your message",
            marks=pytest.mark.xfail(
                strict=True,
                reason=f"{MODEL}: unclear, N (the rules read I at 0.9; 'rules and model disagree')",
            ),
        ),
    ],
)
def test_an_illness_beside_words_about_the_school_s_text_is_an_illness(text: str) -> None:
    got = parse(text)
    assert (got.intent, got.code) == ("absence_reason", "I")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("He's not ill, he's just really tired", "O"),
        ("It's not a hospital appointment this time, she's just got a migraine", "I"),
        ("No she's not on holiday, she's genuinely got tonsillitis", "I"),
        pytest.param(
            "He's not refusing this time, he's genuinely poorly",
            "I",
            marks=pytest.mark.xfail(
                strict=True, reason=f"{MODEL}: O, flagged 'rules and model disagree'"
            ),
        ),
        ("Wasn't sick in the night but she's still got a temperature", "I"),
        ("It's me that's ill not her, there's no one else to take her", "O"),
    ],
)
def test_negation(text: str, code: str) -> None:
    assert parse(text).code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The dentist is next week, today she has a cold", "I"),
        ("She had her jab yesterday and she's feeling rotten today, achy and a temp", "I"),
        ("I know Eid was yesterday but we've got family staying and we're still celebrating", "O"),
        ("Her orthodontist appointment got cancelled but she's stayed home anyway", "O"),
        ("Toothache and a swollen face, trying to get an emergency dentist appointment", "I"),
    ],
)
def test_contrast_and_time(text: str, code: str) -> None:
    assert parse(text).code == code


def test_unauthorised_preferred_when_unsure() -> None:
    doubted = parse("He says he feels sick but I think he's trying it on")
    assert doubted.code == "O"
    relative = parse("She's at the hospital with her nan who had a fall")
    assert relative.code == "O"


def test_at_the_hospital_is_checked_before_it_is_authorised() -> None:
    # As a patient or visiting?  The rules hedge to O; the model, retrained, reads M or O
    # from one corpus to the next.  Either way a person checks before it is authorised.
    hint = parse("She's at the hospital today")
    assert hint.needs_review
    assert "not sure enough to authorise" in hint.review_reasons


# --- intents -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "Unsubscribe",
        "please stop sending me these messages",
        "Remove this number from your system",
    ],
)
def test_opt_out(text: str) -> None:
    got = parse(text)
    assert got.intent == "opt_out" and got.code is None


@pytest.mark.parametrize(
    "text",
    [
        "STOP txtin me",
        "stop sendin me these texts man i know shes off shes got tonsillitis again",
        "Alfie's got conjunctivitis. And can you take me off these texts please, I always ring",
        "Can you take this mobile off Tia's contacts please, it's the old on-call phone",
        "mum says STOP sending her these she rang the office at 8 already",
    ],
)
def test_an_opt_out_in_dialect_or_beside_a_reason(text: str) -> None:
    assert parse(text, ("Tia",)).intent == "opt_out"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Jayden has been sick all night. Please stop sending me these texts", "I"),
        ("stop sendin me these texts man i know shes off shes got tonsillitis again", "I"),
        ("HES ON HIS WAY. STOP TEXTING ME", "U"),
        # In another language the lexicon's words for the reason give the code where the
        # model, trained on more English opt-outs, does not find it.
        ("Sam a la gastro. Et arrêtez de m'envoyer ces messages à chaque fois svp", "I"),
        (
            "সাম ভাইরাল জ্বরে আক্রান্ত, আজ আসবে না। আমি সকালেই অফিসে ফোন করে জানিয়েছি। "
            "অনুগ্রহ করে এই নম্বরে আর কোনো বার্তা পাঠাবেন না; এটি আমার কর্মস্থলের নম্বর।",
            "I",
        ),
    ],
)
def test_an_opt_out_that_explains_today_keeps_its_code(text: str, code: str) -> None:
    got = parse(text)
    assert (got.intent, got.code) == ("opt_out", code)


def test_an_opt_out_in_another_language_with_no_reason_has_no_code() -> None:
    got = parse("Bonjour, arrêtez de m'envoyer ces messages svp, merci")
    assert (got.intent, got.code) == ("opt_out", None)


@pytest.mark.parametrize(
    "text",
    [
        "Kuba slipped on the ice at the bus stop this morning and cut his chin",
        "dont text me unless its to tell me where lexi is",
    ],
)
def test_a_bus_stop_or_a_text_asked_for_is_not_an_opt_out(text: str) -> None:
    assert read(text, WED, ["Kuba"], None).intent != "opt_out"


def test_leave_her_alone_is_not_this_number_opting_out() -> None:
    """The rules' reading: a third party telling the school to stop texting someone else."""
    text = "this ay stacey its er fella. kids am fine so yow lot can back off an stop textin er"
    assert read(text, WED, ["Sam"], None).intent != "opt_out"


def test_stop_in_a_threat_is_not_an_opt_out() -> None:
    got = parse("This is his uncle. He aint coming back so stop sticking your noses in")
    assert got.intent != "opt_out" and got.safeguarding


@pytest.mark.parametrize(
    "text",
    [
        "STOP messaging this number. if he sees you texting me again he'll kill me",
        "who is this asking about her. shes with me and thats all you need to know. "
        "stop texting this number or ill come up that school myself",
    ],
)
def test_a_threat_beside_an_opt_out_is_seen(text: str) -> None:
    assert parse(text).safeguarding


def test_a_blow_beside_an_opt_out_in_another_language_is_a_threat() -> None:
    # "Don't text this number any more, if he reads it he hits me" (Vietnamese without its
    # marks): a threat, as "he'll kill me" is, whatever the model makes of it.
    got = parse("Dung nhan tin vao so nay nua, neu anh ay doc duoc thi anh ay danh em")
    assert got.safeguarding and "threat" in got.indicators


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("On our way!!", "U"),
        ("Stuck in traffic, be there asap", "U"),
        ("GP appt at 9.10, will bring him straight in after", "M"),
        ("She's at the opticians, will drop her off about 11", "M"),
    ],
)
def test_late_arrival(text: str, code: str) -> None:
    got = parse(text)
    assert (got.intent, got.code) == ("late_arrival", code)


@pytest.mark.parametrize(
    "text", ["Trains. 20 mins late. Apologies.", "She is coming, 15 min. We late, sorry"]
)
def test_minutes_late_is_a_late_arrival(text: str) -> None:
    got = read(text, WED, ["Sam"], None)
    assert (got.intent, got.code) == ("late_arrival", "U")


@pytest.mark.parametrize(
    "text",
    ["sorry for the late text, Jayden is ill", "Sorry for the late reply, she has a temperature"],
)
def test_a_late_reply_is_not_a_late_arrival(text: str) -> None:
    got = read(text, WED, ["Sam"], None)
    assert (got.intent, got.code) == ("absence_reason", "I")


def test_late_is_not_tomorrow() -> None:
    got = parse("She's got a temp, I'll bring her in tomorrow")
    assert got.intent == "absence_reason" and got.return_date == date(2026, 3, 12)


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "?",
        "Who's this?",
        "Call me",
        "Wrong number mate",
        "I rang this morning and left a message",
        "👍",
    ],
)
def test_unclear(text: str) -> None:
    got = parse(text)
    assert (got.intent, got.code) == ("unclear", "N")


def test_leave_request_and_period() -> None:
    got = parse("I would like to request leave for Sam from 1st to 5th June for a wedding")
    assert got.intent == "leave_request" and got.code is None
    assert got.leave is not None
    assert (got.leave.start, got.leave.end) == (date(2026, 6, 1), date(2026, 6, 5))
    short = parse("Can I request leave for 12th-16th Oct for her cousin's wedding?")
    assert short.leave is not None and short.leave.start == date(2026, 10, 12)
    one_day = parse("Please can she have Friday off for her great-grandma's funeral?")
    assert one_day.intent == "leave_request" and one_day.leave is not None
    assert one_day.leave.start == one_day.leave.end == FRI


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Prosim, moze mat Natalia volno od 6. do 10. jula? Ideme na svadbu", (7, 6), (7, 10)),
        ("আর একটা কথা, ২৩ থেকে ২৭ মার্চ আমরা উমরায় যাচ্ছি ইনশাআল্লাহ", (3, 23), (3, 27)),
        ("عايزين إجازة لأحمد من ٧ لحدي ١٨ ديسمبر", (12, 7), (12, 18)),
        ("हम 12 से 16 जनवरी तक इंडिया जाएंगे, मेरे भाई की शादी है", (1, 12), (1, 16)),
        ("Naomba ruhusa kuanzia tarehe 20 hadi 24 Aprili kwa harusi", (4, 20), (4, 24)),
        ("Mundet Ardit te mungojne 13 deri 17 korrik? Dasma e xhaxhait", (7, 13), (7, 17)),
        ("Sam išvyksta birželio 15, grįš po vestuvių", (6, 15), (6, 15)),
        ("민준이 삼촌 결혼식이 7월 1일 서울에서 있어요", (7, 1), (7, 1)),
    ],
)
def test_leave_days_in_other_languages(
    text: str, start: tuple[int, int], end: tuple[int, int]
) -> None:
    # The rules' dates, which the leave takes where the model reads one.
    norm = build(tokenise(text, False))
    period = dates.leave_period(norm, WED, lambda day: day.weekday() < 5)
    assert period == (_ahead(*start), _ahead(*end))


def _ahead(month: int, day: int) -> date:
    """That day in the year after WED (11 March 2026)."""
    return date(2026 if month >= 3 else 2027, month, day)


def test_leave_request_for_today_explains_today() -> None:
    got = parse("Is it ok for her to have today off for her auntie's wedding? In tomorrow")
    assert (got.intent, got.code) == ("absence_reason", "O")


def test_two_things_give_today_s_reason() -> None:
    got = parse("Off with a cold today. Also can he have 14 to 21 April off for a wedding?")
    # The reason beside today's code is today's (a cold), not the leave's (a wedding).
    assert (got.intent, got.code, got.reason) == ("absence_reason", "I", "illness")
    assert got.leave is not None and got.leave.reason == "wedding"


def test_the_day_back_is_not_taken_for_the_leave() -> None:
    got = parse("Off with a cold today, back tomorrow. Also can he have Friday off for a wedding?")
    assert got.return_date == WED + timedelta(days=1)
    # The first day named after today is the day back, not the leave: rather no date for
    # the headteacher than a wrong one.
    assert got.leave is not None and got.leave.start != got.return_date


def test_today_reason_with_future_request() -> None:
    got = parse(
        "We fly to Pakistan tomorrow, can he have the time off please? "
        "He's at home today helping us pack"
    )
    # Two things in one: today is explained, and the leave is a second item.
    assert got.intent == "absence_reason" and got.code in {"O", "G"}
    assert got.leave is not None


def test_today_s_reason_is_read_apart_from_the_leave_in_another_language() -> None:
    # The leave's words (a wedding, the tickets) outweigh today's fever in the whole reply;
    # the sentences before the leave are today's reason.
    got = parse(
        "Viktor ima temperatura dnes. Iskam da pitam dali mozhe da otsastva ot 6 do 17 yuli, "
        "zaminavame za Bulgaria na svatba na brat mi, bileti veche kupihme."
    )
    assert got.intent == "absence_reason" and got.code == "I"
    assert got.leave is not None and got.leave.reason == "wedding"


def test_no_reason_beside_a_risk_sign_stays_unexplained() -> None:
    # Off, but with nothing the school can record as a reason: N keeps the follow-up going
    # (O would close it), and the DSL sees the reply.
    got = parse("I dont know where she is, she didnt come home last night and her phone is off")
    assert got.code == "N" and got.reason is None
    assert got.safeguarding


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("Back tomorrow", WED, date(2026, 3, 12)),
        ("back tmrw", FRI, date(2026, 3, 16)),  # skips the weekend
        ("Off till Weds", FRI, date(2026, 3, 18)),
        ("Back Monday", date(2026, 3, 16), date(2026, 3, 23)),  # said on a Monday
        ("Off for the rest of the week with flu", WED, date(2026, 3, 16)),
        ("back on the 20th", WED, date(2026, 3, 20)),
        ("She'll be back on 9th April", WED, date(2026, 4, 9)),
        ("Will keep her off till she's 48hrs clear", WED, None),
        ("I'll let you know tomorrow how she is", WED, None),
        ("Back after half term", WED, None),
        ("Hamza ki tabiyat theek nahi hai. Kal school aayega inshallah", WED, date(2026, 3, 12)),
        # dialect, misspelt days, "Monday week", "after the weekend"
        ("Full of cold, he'll be in the morn", WED, date(2026, 3, 12)),
        ("shes off wiv her belly, back tomorra", WED, date(2026, 3, 12)),
        ("suspended till wensday apparently", FRI, date(2026, 3, 18)),
        ("down in Devon with the work, back Monday week", WED, date(2026, 3, 23)),
        ("Conjunctivitis, off till after the weekend", WED, date(2026, 3, 16)),
        ("We're in Spain, back Monday 6 April", WED, date(2026, 4, 6)),
        ("D and V, off today and tomorrow", WED, date(2026, 3, 13)),
        ("Sick in the night, keeping her off tomorrow too", WED, date(2026, 3, 13)),
        ("He will not return before Friday, 48 hour rule", WED, date(2026, 3, 13)),
        # where several days are named, the last is the day at school
        ("We land on Sunday night and she'll be back in school Tuesday", WED, date(2026, 3, 17)),
        # other languages: the day after the verb, or before it where the verb comes last
        ("Jest chora, wróci do szkoły w piątek", WED, date(2026, 3, 13)),
        ("Ne intoarcem duminica, copiii vin la scoala luni", WED, date(2026, 3, 16)),
        ("Estamos no Brasil, voltamos dia 2 de abril", WED, date(2026, 4, 2)),
        ("Pakistan mein hain, 24 tareekh ko wapas aa jayegi", WED, date(2026, 3, 24)),
        ("Die Kinder sind ab Dienstag, 24. März, wieder in der Schule", WED, date(2026, 3, 24)),
        (
            "Ramazan ugrasiyoruz. 12 Ekim Pazartesi okula donerler",
            date(2026, 10, 7),
            date(2026, 10, 12),
        ),
        ("Thursday ko bhej denge, abhi bukhar hai", WED, date(2026, 3, 12)),
        ("امروز مریضه. دوشنبه میان مدرسه", WED, date(2026, 3, 16)),
        ("Alise slima. Piektdien bus skola", WED, date(2026, 3, 13)),
        ("She has fever po. Balik siya bukas", WED, date(2026, 3, 12)),
        # German "Morgen" is tomorrow, except as the morning
        ("Er hat Fieber, morgen kommt er wieder", WED, date(2026, 3, 12)),
        ("Guten Morgen, Mia hat Fieber und bleibt heute zu Hause", WED, None),
        ("Er hat Fieber, heute Morgen hat er sich übergeben", WED, None),
        # "kal raat" is last night, not tomorrow
        ("kal raat gari kharab ho gayi, bachay so rahe hain aaj nahi", WED, None),
        ("এনি কাল রাতে বমি করেছে", WED, None),
        # where several days are named in another language, the latest is the day at school
        ("Torniamo lunedì sera, quindi Giulia rientra martedì", WED, date(2026, 3, 17)),
        ("Ethan 今朝發燒，聽日應該可以返學", WED, date(2026, 3, 12)),
        # Vietnamese counts its weekdays (thứ sáu, "thu 6", is Friday) and "mai" is tomorrow
        ("Minh bị sốt, hôm nay ở nhà. Thứ sáu đi học lại ạ", WED, date(2026, 3, 13)),
        ("Bao bi dau bung, non nhieu lan. Thu 2 tuan sau di hoc lai", WED, date(2026, 3, 16)),
        ("Chào cô, hôm nay bé Linh bị sốt. Mai bé đi học lại ạ", WED, date(2026, 3, 12)),
        # scripts detection once missed: Sinhala "හෙට" (tomorrow)
        ("සෙනුලි අද ගෙදර. එයාට සනීප නෑ. හෙට එවන්නම්.", WED, date(2026, 3, 12)),
        # a short word of another language is not English text-speak: "mon" is "my"
        ("Bonjour, Lina a de la fièvre. Mon mari reste avec elle aujourd'hui", WED, None),
        # a day tied to something else is not the day back
        ("No gas or electric and no money till Friday", WED, None),
        ("Panic attacks again, GP tomorrow", WED, None),
    ],
)
def test_return_dates(text: str, today: date, expected: date | None) -> None:
    assert parse(text, today=today).return_date == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the day named is the doctor's or the funeral's; the child is back the day after
        (
            "Neema ana homa kali. Tuna miadi na daktari kesho; atarudi shuleni siku inayofuata.",
            date(2026, 3, 13),
        ),
        ("Pohřeb je ve čtvrtek, do školy se vrátí den po pohřbu.", date(2026, 3, 13)),
        (
            "Babcia zmarła, pogrzeb jest w piątek, Ola wróci do szkoły następnego dnia.",
            date(2026, 3, 16),
        ),
        # "the day after the funeral, Friday": Friday is the day back
        ("ቀብሩ ነገ ነው። ሰላም ከቀብሩ ማግስት፣ አርብ፣ ትመጣለች።", date(2026, 3, 13)),
        # Romanian "a doua zi de Paște" is Easter Monday, not "the day after"
        ("Azi e a doua zi de Paște la noi, ortodocșii. Mâine vin la școală.", date(2026, 3, 12)),
    ],
)
def test_the_day_after_in_another_language(text: str, expected: date) -> None:
    assert parse(text, ("Neema",)).return_date == expected


def test_a_child_s_name_is_not_a_weekday() -> None:
    # "Martim" begins like Romanian "marți" (Tuesday); "hj" is today, "n vai" he isn't going.
    assert parse("o martim ta com febre n vai hj obg", ("Martim",)).return_date is None
    # "Juma" is Friday in Urdu and Swahili; here a boy, and on a Friday the day back is
    # Monday, not next Friday.
    eid = "Leo ni Eid al-Fitr, Amina na Juma wako msikitini. Watarudi shule Jumatatu inshallah."
    assert parse(eid, ("Amina", "Juma"), date(2026, 3, 20)).return_date == date(2026, 3, 23)


def test_a_day_number_beside_its_weekday_in_another_language() -> None:
    # The 23rd is a Monday: that Monday, not the next one (the 16th).
    got = parse("Brice a la grippe, il reprendra le lundi 23. Merci", ("Brice",))
    assert got.return_date == date(2026, 3, 23)
    # The 24th is a Tuesday: no date of Monday's, which is the next Monday.
    got = parse("Brice a la grippe, il reprendra le lundi 24. Merci", ("Brice",))
    assert got.return_date == date(2026, 3, 16)


def test_the_day_back_after_a_leave_in_another_language() -> None:
    text = (
        "Nous avons perdu ma mère, nous partons ce soir pour l'enterrement. Brice sera "
        "absent jusqu'au vendredi 20 mars inclus et reprendra le lundi 23."
    )
    got = parse(text, ("Brice",))
    assert got.leave is not None and got.leave.end == date(2026, 3, 20)
    assert got.return_date == date(2026, 3, 23)


def test_return_date_uses_school_calendar() -> None:
    closed = {date(2026, 3, 12), date(2026, 3, 13)}

    def is_school_day(day: date) -> bool:
        return day.weekday() < 5 and day not in closed

    got = parse_reply("back tomorrow", WED, ["Sam"], is_school_day=is_school_day)
    assert got.return_date == date(2026, 3, 16)


def test_broken_calendar_does_not_break_parsing() -> None:
    def broken(_day: date) -> bool:
        raise RuntimeError("calendar down")

    got = parse_reply("back tomorrow", WED, ["Sam"], is_school_day=broken)
    assert got.return_date == date(2026, 3, 12)


# --- several children ----------------------------------------------------------------


def test_same_reason_for_all_children() -> None:
    got = parse("Both poorly with the big that's going round", ("Mia", "Ollie"))
    assert got.code == "I" and got.per_child == {}


def test_different_reasons_per_child() -> None:
    got = parse("Ollie's ill and Mia's at the dentist", ("Ollie", "Mia"))
    assert got.per_child == {"Ollie": "I", "Mia": "M"}
    assert got.needs_review


def test_sibling_kept_home_for_childcare() -> None:
    got = parse(
        "Harper's been sick all night and I've got nobody to take Jaxon so he's home too",
        ("Harper", "Jaxon"),
    )
    assert got.per_child == {"Harper": "I", "Jaxon": "O"}
    # The reply's own code is the first child's as the school lists them; each child's
    # mark comes from per_child.
    assert got.code == "I"
    listed_other_way = parse(
        "Harper's been sick all night and I've got nobody to take Jaxon so he's home too",
        ("Jaxon", "Harper"),
    )
    assert listed_other_way.code == "O"


def test_one_late_one_absent() -> None:
    got = parse(
        "Amira's got the orthodontist at 9.30 so I'll bring her in after that. "
        "Zayn's got a temperature though so he's staying home",
        ("Amira", "Zayn"),
    )
    assert got.intent == "absence_reason"
    assert got.per_child == {"Amira": "M", "Zayn": "I"}


@pytest.mark.parametrize(
    ("text", "children", "per_child"),
    [
        (
            "A Sofia tem consulta no dentista às 10h. O Miguel está com febre e ficou em casa.",
            ("Sofia", "Miguel"),
            {"Sofia": "M", "Miguel": "I"},
        ),
        (
            "Софія з температурою вдома, а Максим зі мною в лікарні на прийомі у стоматолога.",
            ("Sofiia", "Maksym"),
            {"Sofiia": "I", "Maksym": "M"},
        ),
        (
            "Andrei are febra si tuse. Maria are programare la dentist la ora 11.",
            ("Andrei", "Maria"),
            {"Andrei": "I", "Maria": "M"},
        ),
    ],
)
def test_each_child_s_reason_in_another_language(
    text: str, children: tuple[str, ...], per_child: dict[str, str]
) -> None:
    # The model reads each child's stretch of the reply, from their name to the next.
    got = parse(text, children)
    assert got.per_child == per_child
    assert got.code == per_child[children[0]]
    assert "children, different reasons" in got.review_reasons


# --- languages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "code"),
    [
        ("Dzień dobry, Zuzia dzisiaj nie przyjdzie do szkoły, ma gorączkę", "pl", "I"),
        ("Buna ziua, Andrei este bolnav azi, are febra. Multumesc", "ro", "I"),
        ("Bom dia, o Gabriel tem consulta no dentista às 10h", "pt", "M"),
        ("Sorry miss Bilal bimar hai, raat ko ulti kar raha tha", "ur", "I"),
        (
            "Sat sri akal ji. Gurleen ajj school nahi aayegi, saade ghar death ho gayi hai",
            "pa",
            "C",
        ),
        ("السلام عليكم، عمر في البيت اليوم بمناسبة عيد الأضحى", "ar", "R"),
    ],
)
def test_other_languages_are_read_and_reviewed(text: str, lang: str, code: str) -> None:
    got = parse(text)
    assert (got.language, got.code) == (lang, code)
    # Another language is reviewed unless the model is sure of what it read: at least as
    # sure as the trained threshold, which is never below 0.6.
    sure = learned.shipped().thresholds["foreign_sure"]
    assert sure >= 0.6
    assert got.needs_review or got.confidence >= sure


def test_english_is_not_flagged_as_foreign() -> None:
    got = parse("Eid Mubarak, Yusuf is off today for Eid, back tomorrow in sha Allah")
    assert got.language == "en" and got.code == "R"


# --- safeguarding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("He didn't come home last night and his mate's mum hasn't seen him", "missing"),
        ("What do you mean she's not there?? I dropped her at the gate myself", "missing"),
        ("Her papa took her already. She not in class?? Please check", "missing"),
        ("He set off with his mates at 8, is he not there?", "missing"),
        (
            "He's got a cough. His stepdad grabbed him on Saturday but it's sorted",
            "injury_unexplained",
        ),
        (
            "Bad headache and a big bruise on her cheek, says she walked into a door but I'm "
            "not sure",
            "injury_unexplained",
        ),
        ("We're in a refuge and I can't say where", "domestic_abuse"),
        (
            "Poorly with a cold. Also the police were at ours last night because of her dad",
            "police",
        ),
        ("She told me she doesn't want to be here anymore", "self_harm"),
        ("She took an overdose last night", "self_harm"),
        ("We moved back to Romania last week, he is not coming back", "leaving_country"),
        ("Ne-am mutat inapoi in Romania, Andrei nu se mai intoarce la scoala", "leaving_country"),
        (
            "This is his uncle, stop sticking your noses in or there'll be trouble",
            "hostile_third_party",
        ),
        ("Amina has gone to Pakistan for her engagement", "forced_marriage"),
        ("Her gran wants a ceremony for the girls in our family when they turn ten", "fgm"),
        ("We have gone back to Syria to be with family", "conflict_zone"),
        ("Social services took him last night", "social_services"),
    ],
)
def test_safeguarding_indicators(text: str, indicator: str) -> None:
    got = parse(text)
    assert got.safeguarding and indicator in got.indicators


@pytest.mark.parametrize(
    "text",
    [
        "The police came in to do a talk yesterday",
        "Hurt his ankle at football, can't walk on it",
        "Harry broke his leg at football on Saturday",
        "Alfie fell off his bike and fractured his wrist",
        "Sprained his ankle on the trampoline last night",
        "Flooding in the village, police have closed the only road",
        "Missed the bus, he's missing registration",
        "We're moving house today, she'll be back Monday",
        "We are out of the country at the moment",
        "We're not coming back till Monday, visiting nan",
        pytest.param(
            "She took some paracetamol for her headache",
            marks=pytest.mark.xfail(strict=True, reason=f"{MODEL}: a false alarm to the DSL"),
        ),
        pytest.param(
            "He wants to die of embarrassment after that haircut",
            marks=pytest.mark.xfail(strict=True, reason=f"{MODEL}: a false alarm to the DSL"),
        ),
        "Her nan passed away last night",
        "She has a hospital appointment at 10",
    ],
)
def test_safeguarding_lookalikes(text: str) -> None:
    assert not parse(text).safeguarding


@pytest.mark.parametrize(
    ("text", "children"),
    [
        ("the leccy's run out on the meter and there's no food in till Friday", ("Sam",)),
        (
            "Ah'm in the Royal, they're keepin us in. Kai's lookin after Lexi at the house",
            ("Kai", "Lexi"),
        ),
        ("Kathleen stayed back to mind him, the mother is in hospital", ("Kathleen", "Martin")),
        ("went out last night and left them on their own", ("Sam",)),
        ("no gas or electric and no clean uniform, I'm skint till Friday", ("Sam",)),
    ],
)
def test_neglect_cues(text: str, children: tuple[str, ...]) -> None:
    # The rule cues alone: neglect is read whatever the model makes of the reply.
    assert "neglect" in read(text, WED, list(children), None).indicators


@pytest.mark.parametrize(
    "text",
    [
        "No electric since the storm last night, the whole street is out",
        "Our flat has no heating, the landlord's engineer comes today between 8 and 12",
        "Police were round about the car being nicked off the drive, nothing to do with us",
        "The police cordoned off our close after an incident, nobody allowed out till 10",
        "Good morning, I am Amira's social worker. Her foster carer tells me she has tonsillitis",
        "Maisie has a temperature and will stay at home today. Sue (foster carer)",
    ],
)
def test_rule_cue_lookalikes(text: str) -> None:
    assert not read(text, WED, ["Sam"], None).indicators


@pytest.mark.parametrize(
    "text",
    [
        "sory had a bad nite had to much to drink cudnt get up this mornin",
        "Their dad's been on the cans since dinner and he's asleep on the settee",
        "I can't go on like this, I've not slept in a week",
    ],
)
def test_parent_crisis_cues(text: str) -> None:
    assert "parent_crisis" in read(text, WED, ["Sam"], None).indicators


@pytest.mark.parametrize(
    "text",
    [
        "Lwazi left with the taxi this morning 7.45, I saw him get in. Please check again",
        "I put her on the bus at 8 like always, where is she",
        "Who is this? Lwazi was dropped at the school gate at 8.40 by my neighbour",
        "Lwazi should be in class, please check and ring me",
    ],
)
def test_left_for_school_and_not_there_is_missing(text: str) -> None:
    assert "missing" in read(text, WED, ["Lwazi"], None).indicators


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("On our way, Lwazi's shoe went missing again, found it in the dog's bed", False),
        ("His PE kit has gone missing, he'll be in at 10", False),
        ("The dog went missing and we were out looking till 2", False),
        ("Lwazi's gone missing again, his phone is off", True),
        ("Lwazi went missing again last night", True),
    ],
)
def test_a_thing_gone_missing_is_no_missing_child(text: str, missing: bool) -> None:
    assert ("missing" in read(text, WED, ["Lwazi"], None).indicators) is missing


def test_neighbours_calling_the_police_is_still_a_sign() -> None:
    got = read("He was smashing the place up and next door rang the police", WED, ["Sam"], None)
    assert got.safeguarding


def test_child_authored_reply_is_reviewed() -> None:
    got = parse("its me jayden im ill", ("Jayden",))
    assert got.needs_review
    assert got.code not in AUTHORISED


def test_to_json_shape() -> None:
    got = parse("Back Thursday, ear infection").to_json()
    assert set(got) == {
        "intent",
        "code",
        "per_child",
        "reason",
        "return_date",
        "leave",
        "safeguarding",
        "indicators",
        "confidence",
        "needs_review",
        "language",
        "review_reasons",
    }
    assert got["return_date"] == "2026-03-12"
    json.dumps(got)


# --- the dev corpus ------------------------------------------------------------------


def test_dev_corpus_targets() -> None:
    rows = [
        json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    n = len(rows)
    intent_ok = code_ok = rd_total = rd_ok = 0
    sg_pos = sg_hit = sg_neg = sg_fp = unauth = auth_for_unauth = 0
    for row in rows:
        exp = row["expect"]
        got = parse_reply(row["text"], date.fromisoformat(row["today"]), row["children"])
        intent_ok += got.intent == exp["intent"]
        wanted = set(exp["code"]) if isinstance(exp["code"], list) else {exp["code"]}
        ok = got.code in wanted and all(
            got.per_child.get(k) == v for k, v in (exp.get("per_child") or {}).items()
        )
        code_ok += ok
        if wanted <= UNAUTHORISED:
            unauth += 1
            auth_for_unauth += got.code in AUTHORISED
        if exp["safeguarding"]:
            sg_pos += 1
            sg_hit += got.safeguarding
        else:
            sg_neg += 1
            sg_fp += got.safeguarding
        if exp.get("return_date"):
            rd_total += 1
            rd_ok += got.return_date == date.fromisoformat(exp["return_date"])
    assert code_ok / n >= 0.95
    assert intent_ok / n >= 0.95
    assert rd_ok / rd_total >= 0.9
    assert sg_hit == sg_pos
    # The alarm threshold is chosen for recall on the cross-validated corpus (the GUIDE: ten
    # false alarms rather than one miss), not on these 207 innocent replies, where one
    # reply is half a point: from one retraining to the next the models have raised 6 to
    # 8 (the lowest of the 8 at 0.30 against a threshold of 0.27: "blood sugars all over
    # the place overnight").  The bound is 8.
    assert sg_fp / sg_neg <= 0.04
    assert auth_for_unauth / unauth <= 0.01


# --- properties ----------------------------------------------------------------------


def _check_valid(got: ParsedReply, today: date, children: list[str]) -> None:
    assert got.intent in INTENTS
    assert got.code is None or got.code in KNOWN_CODES
    assert set(got.per_child) <= set(children)
    assert all(c in KNOWN_CODES for c in got.per_child.values())
    assert 0.0 <= got.confidence <= 1.0
    assert got.safeguarding == bool(got.indicators)
    assert all(isinstance(i, str) for i in got.indicators)
    assert got.return_date is None or got.return_date > today
    if got.leave is not None:
        assert got.leave.start is None or got.leave.end is None or got.leave.start <= got.leave.end
    assert got.needs_review == bool(got.review_reasons)
    if len(set(got.per_child.values())) > 1:
        assert "children, different reasons" in got.review_reasons
    if got.language != "en" and not got.needs_review:
        assert got.language in learned.shipped().languages  # only a language it was taught
    json.dumps(got.to_json())


VOCAB = [
    "sick",
    "not",
    "ill",
    "back",
    "monday",
    "tomorrow",
    "dentist",
    "police",
    "him",
    "her",
    "hit",
    "and",
    "but",
    "today",
    "eid",
    "funeral",
    "stop",
    "can",
    "she",
    "have",
    "off",
    "on",
    "the",
    "way",
    "both",
    "Mia",
    "Ollie",
    "12th",
    "3/4",
    "till",
    "next",
    "week",
    "holiday",
    "Pakistan",
    "refuge",
    "bruise",
    "football",
    "?",
    ".",
    ",",
    "😷",
    "bimar",
    "hai",
    "مريض",
    "it's",
    "won't",
    "2moro",
    "d&v",
    "a&e",
    "—",
    "\n",
]
dates_ = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
names = st.lists(st.text(min_size=0, max_size=12), max_size=4)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=3000), today=dates_, children=names)
def test_any_text_gives_a_valid_result(text: str, today: date, children: list[str]) -> None:
    got = read(text, today, children, None)  # the unguarded reader: must not raise either
    _check_valid(got, today, children)
    _check_valid(parse_reply(text, today, children), today, children)


@settings(deadline=None, max_examples=300)
@given(
    words=st.lists(st.sampled_from(VOCAB), max_size=80),
    today=dates_,
    children=st.lists(
        st.sampled_from(["Mia", "Ollie", "Sam", "Evie-Grace"]), max_size=3, unique=True
    ),
)
def test_vocabulary_soup_gives_a_valid_result(
    words: list[str], today: date, children: list[str]
) -> None:
    text = " ".join(words)
    _check_valid(read(text, today, children, None), today, children)


@settings(deadline=None, max_examples=100)
@given(data=st.binary(max_size=2000), today=dates_)
def test_binary_junk_never_raises(data: bytes, today: date) -> None:
    got = parse_reply(data, today, ["Sam"])  # type: ignore[arg-type]
    _check_valid(got, today, ["Sam"])


def test_huge_and_empty_inputs() -> None:
    for text in ["", " ", "\x00" * 10, "sick " * 100_000, "🤒" * 50_000]:
        _check_valid(read(text, WED, ["Sam"], None), WED, ["Sam"])
    assert parse_reply(None, WED).intent == "unclear"  # type: ignore[arg-type]
    assert WED + timedelta(days=1) == date(2026, 3, 12)


@pytest.mark.parametrize(
    ("text", "children", "intent", "code"),
    [
        # The child's name where the phrase tables say "he" or "she".
        (
            "can Oscar have the 20th-24th April off, we have a family wedding in India",
            ("Oscar",),
            "leave_request",
            None,
        ),
        pytest.param(
            "Sam is in hospital, back Monday",
            ("Sam",),
            "absence_reason",
            "I",
            marks=IN_HOSPITAL_ON_THE_EDGE,
        ),
        pytest.param(  # admitted: ill, not an appointment
            "she is in hospital",
            ("Sam",),
            "absence_reason",
            "I",
            marks=IN_HOSPITAL_ON_THE_EDGE,
        ),
        ("she is in hospital with her nan", ("Sam",), "absence_reason", "O"),  # caring is not I
    ],
)
def test_names_read_as_pronouns(
    text: str, children: tuple[str, ...], intent: str, code: str | None
) -> None:
    got = parse(text, children)
    assert (got.intent, got.code) == (intent, code)


def test_in_tomorrow_is_a_return_date() -> None:
    assert parse(
        "Noah's got a migraine, hopefully in tomorrow", ("Noah",)
    ).return_date == WED + timedelta(days=1)
    assert parse("she won't be in tomorrow either").return_date is None


@pytest.mark.parametrize(
    ("text", "intent", "code"),
    [
        ("car has broken down, will be in as soon as we can", "late_arrival", "U"),
        ("we are leaving now for the airport, back in 2 weeks", "absence_reason", "G"),
    ],
)
def test_late_or_gone(text: str, intent: str, code: str) -> None:
    got = parse(text)
    assert (got.intent, got.code) == (intent, code)


def test_polish_with_no_english_is_read_and_reviewed() -> None:
    got = parse("Kuba ma katar i kaszel, zostaje w domu", ("Kuba",))
    assert (got.intent, got.code, got.language) == ("absence_reason", "I", "pl")
    assert got.needs_review or got.confidence >= 0.85


@pytest.mark.parametrize(
    "text",
    [
        # The reason goes to the name in its own clause, not the nearer one after "and".
        "Tyler has a temperature and Jade has the dentist",
        "Jade has the dentist and Tyler has a temp",
        # A name with an s and no apostrophe is the name ("Tylers" is "Tyler's").
        "Tylers off with a temp. Jade has the dentist",
    ],
)
def test_each_child_gets_the_reason_in_their_own_clause(text: str) -> None:
    got = parse(text, ("Tyler", "Jade"))
    assert got.per_child == {"Tyler": "I", "Jade": "M"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("the buses were all cancelled because of the snow", "Y2"),
        ("car broke down and no buses either", "O"),  # no widespread disruption
        pytest.param(
            "we live over the road from the school, he is ill",
            "I",
            marks=pytest.mark.xfail(
                strict=True,
                reason=f"{MODEL}: N, flagged 'not sure enough to authorise' (the rules read I)",
            ),
        ),
        ("we live over the road from the school, she has a temperature", "I"),
        # A grown-up's emergency explains the day, but the child is not ill.
        ("my dad was rushed into hospital last night with chest pains, had to take Sam", "O"),
        ("my son was admitted last night with a chest infection", "I"),
    ],
)
def test_disruption_and_a_relatives_emergency(text: str, code: str) -> None:
    assert parse(text).code == code


def test_a_road_the_police_shut_is_disruption_or_left_to_the_office() -> None:
    # Y2 to the rules; the model has read it as Y2 or as a late arrival (U) from one
    # retraining to the next, so the reading stands only where it is Y2, and a person
    # confirms it where it is not.
    got = parse("police have shut the road at the bridge, no way round")
    assert got.code == "Y2" or got.needs_review


@pytest.mark.parametrize(
    "text",
    [
        "Snow. Lanes shut. No bus",
        "snows that bad up our end the buses ay runnin n the bank's shut by the church",
        "Good morning, A43 closed because of snow, I cannot drive kids to school. Sorry.",
        "nee buses runnin the day cos of the snow, cannit get them in",
        "Snow overnight, the police are turning people back at the bottom of the hill",
    ],
)
def test_the_rules_read_snow_and_closed_roads_as_disruption(text: str) -> None:
    # Not "bad weather" (O): the roads or the buses are shut for everyone.
    assert read(text, WED, ("Sam",), None).code == "Y2"


@pytest.mark.parametrize(
    "text",
    ["its too icy to walk her in, sorry", "the bus didnt come so shes off"],
)
def test_weather_or_a_missed_bus_alone_is_not_disruption(text: str) -> None:
    assert read(text, WED, ("Sam",), None).code == "O"


def test_a_named_sibling_with_no_reason_read_is_kept_home_not_unexplained() -> None:
    # "Ollie is with me": the parent has answered for him, so N would chase them again.
    got = parse("Mia has a temperature and Ollie is with me today", ("Mia", "Ollie"))
    assert got.per_child == {"Mia": "I", "Ollie": "O"}
    assert "children, different reasons" in got.review_reasons
    # A sibling the reply never names has no reason given.
    assert parse("Mia has a temperature", ("Mia", "Ollie")).per_child == {"Mia": "I", "Ollie": "N"}


@pytest.mark.parametrize(
    ("text", "child", "back"),
    [
        ("Dobrý den, Eliška má horečku a kašle, dnes zůstane doma, zítra přijde.", "Eliška", True),
        (
            "Dobrý den, Eliška má horečku a kašle, dnes zůstane doma. Zítra uvidíme.",
            "Eliška",
            False,
        ),
        ("Buna ziua, Sofia are febra, ramane acasa azi. Maine vine la scoala.", "Sofia", True),
        ("Buna ziua, Sofia are febra, ramane acasa azi. Maine vedem cum se simte.", "Sofia", False),
    ],
)
def test_a_day_beside_a_hedge_in_another_language_is_not_a_day_back(
    text: str, child: str, back: bool
) -> None:
    # "Zítra uvidíme", "mâine vedem": tomorrow we'll see (the lexicon's `unsure`).
    got = parse(text, (child,))
    assert got.return_date == (WED + timedelta(days=1) if back else None)
