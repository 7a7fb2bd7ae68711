"""The reply parser as a whole (rules and learned model): the corpus it learns from, the
shipped model's freshness, language detection, and the kinds of reply the issue names."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from rules.replies import parse_reply
from rules.replies.corpus import (
    CATEGORIES,
    CORPUS_DIR,
    DEV_FILE,
    check,
    load,
    parse_line,
    training_files,
)
from rules.replies.corpus import main as check_main
from rules.replies.learned import MODEL_DIR, corpus_hash, shipped, shipped_meta
from rules.replies.training import (
    child_pieces,
    examples,
    is_stale,
    load_folds,
    out_of_fold,
    save_folds,
)

WED = date(2026, 3, 11)
THU = date(2026, 3, 12)
ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "id": "x1",
    "text": "She's poorly, back tomorrow",
    "today": "2026-03-11",
    "children": ["Mia"],
    "voice_id": "X-v01",
    "language": "en",
    "category": None,
    "lookalike": False,
    "expect": {
        "intent": "absence_reason",
        "code": "I",
        "safeguarding": False,
        "return_date": "2026-03-12",
        "leave": None,
    },
}


# --- the corpus loader -----------------------------------------------------------------


def test_loader_reads_a_good_line_and_names_each_bad_one(tmp_path: Path) -> None:
    bad_code = {**GOOD, "expect": {**GOOD["expect"], "code": "Z"}}
    bad_date = {**GOOD, "today": "11/03/2026"}
    bad_leave = {**GOOD, "expect": {**GOOD["expect"], "leave": {"from": None, "reason": "x"}}}
    listed = {**GOOD, "expect": {**GOOD["expect"], "code": ["M", "O"]}}
    lines = [GOOD, bad_code, bad_date, bad_leave, listed]
    path = tmp_path / "part-X.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n\n", encoding="utf-8")
    loaded = load([path])
    assert [r.source for r in loaded.replies] == ["part-X.jsonl:1", "part-X.jsonl:5"]
    first = loaded.replies[0]
    assert (first.intent, first.codes, first.return_date, first.voice_id) == (
        "absence_reason",
        ("I",),
        date(2026, 3, 12),
        "X-v01",
    )
    assert loaded.replies[1].codes == ("M", "O") and loaded.replies[1].code == "M"
    assert loaded.problems == [
        "part-X.jsonl:2: unknown code 'Z'",
        "part-X.jsonl:3: today '11/03/2026' is not an ISO date",
        "part-X.jsonl:4: unknown leave reason 'x'",
        "part-X.jsonl:6: not JSON (Expecting property name enclosed in double quotes at column 2)",
    ]


def test_check_names_labels_that_load_but_contradict_themselves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saturday = {
        **GOOD,
        "id": "x2",
        "today": "2026-03-14",
        "expect": {**GOOD["expect"], "return_date": None},
    }
    back_before = {**GOOD, "id": "x3", "expect": {**GOOD["expect"], "return_date": "2026-03-10"}}
    no_category = {**GOOD, "id": "x4", "expect": {**GOOD["expect"], "safeguarding": True}}
    siblings = {
        **GOOD,
        "id": "x5",
        "children": ["Mia", "Ollie"],
        "expect": {**GOOD["expect"], "code": "I", "per_child": {"Mia": "M", "Ollie": "I"}},
    }
    path = tmp_path / "part-X.jsonl"
    lines = [GOOD, saturday, back_before, no_category, siblings, GOOD]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert check([path]) == [
        "part-X.jsonl:2: today 2026-03-14 is a Saturday",
        "part-X.jsonl:3: return_date 2026-03-10 is not after today",
        "part-X.jsonl:4: a safeguarding line needs a category",
        "part-X.jsonl:5: code must be the first child's (M)",
        "id x1 is used 2 times",
    ]
    assert check_main([str(path)]) == 1
    assert "Saturday" in capsys.readouterr().out
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert check_main([str(path)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 1 replies"
    assert check_main([str(tmp_path / "nope.jsonl")]) == 2
    (tmp_path / "latin1.jsonl").write_bytes(b"\xff\xfe{")
    assert check_main([str(tmp_path / "latin1.jsonl")]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


def test_the_shipped_corpus_is_whole_and_varied() -> None:
    assert check(training_files()) == []
    loaded = load([*training_files(), CORPUS_DIR / DEV_FILE])
    assert loaded.problems == []
    corpus = [r for r in loaded.replies if not r.source.startswith(DEV_FILE)]
    assert len(corpus) >= 3000
    assert sum(r.safeguarding for r in corpus) >= 0.15 * len(corpus)
    assert sum(r.lookalike for r in corpus) >= 0.10 * len(corpus)
    for category in CATEGORIES:
        assert sum(r.category == category for r in corpus) >= 20, category
    assert len({r.voice_id for r in corpus}) >= 50
    assert all(r.category is not None for r in corpus if r.safeguarding)


# --- the shipped model -------------------------------------------------------------------


def test_the_shipped_model_is_trained_on_this_corpus_and_code() -> None:
    """Fails when the corpus or the parser's code changed without `make model`."""
    assert not is_stale(), "the shipped model is stale: run `make model` and commit it"


def test_the_staleness_hash_sees_a_changed_corpus(tmp_path: Path) -> None:
    files = training_files()
    changed = tmp_path / files[0].name
    changed.write_bytes(files[0].read_bytes() + b"\n")
    assert corpus_hash([changed, *files[1:]]) != corpus_hash(files)
    assert shipped_meta()["trained_on"] == corpus_hash(files)


def test_fold_models_kept_by_training_are_read_back_only_for_the_same_corpus(
    tmp_path: Path,
) -> None:
    replies = load(training_files()[:1]).replies
    voices = sorted({r.voice_id for r in replies})[:10]
    exs = examples([r for r in replies if r.voice_id in voices])
    oof = out_of_fold(exs)
    assert load_folds(tmp_path / "folds", "corpus-a", exs) is None
    save_folds(tmp_path / "folds", "corpus-a", oof)
    back = load_folds(tmp_path / "folds", "corpus-a", exs)
    assert back is not None
    assert [test for test, _ in back] == [test for test, _ in oof]
    text, feats = exs[0].reply.text, exs[0].rule_feats
    assert back[0][1].scores(text, feats).p("safeguarding") == pytest.approx(
        oof[0][1].scores(text, feats).p("safeguarding"), abs=1e-2
    )
    with pytest.raises(SystemExit, match="another corpus"):
        load_folds(tmp_path / "folds", "corpus-b", exs)
    with pytest.raises(SystemExit, match="another corpus"):
        load_folds(tmp_path / "folds", "corpus-a", exs[:-1])


def test_each_childs_own_stretch_is_taught_with_that_childs_code() -> None:
    line = {
        **GOOD,
        "text": "Mia has a temperature. Ollie stayed home, nobody to take him to school",
        "children": ["Mia", "Ollie"],
        "expect": {**GOOD["expect"], "return_date": None, "per_child": {"Mia": "I", "Ollie": "O"}},
    }
    pieces = child_pieces(examples([parse_line(line, "x.jsonl:1")]))
    assert [(text, lab["code"], lab["intent"], lab["safeguarding"]) for text, lab in pieces] == [
        ("Mia has a temperature.", "I", None, None),
        ("Ollie stayed home, nobody to take him to school", "O", None, None),
    ]


def test_the_model_is_plain_arrays_read_without_pickle_or_scikit_learn() -> None:
    assert {p.name for p in MODEL_DIR.iterdir()} == {"model.json", "model.npz"}
    script = (
        "import sys; from datetime import date; from rules.replies import parse_reply; "
        "r = parse_reply('she has a temperature', date(2026, 3, 11), ['Mia']); "
        "assert r.code == 'I', r; assert 'sklearn' not in sys.modules; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"


# --- language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Dzień dobry, Kasia jest chora, ma gorączkę i zostaje w domu", "pl"),
        ("Bore da, mae Cerys yn sâl heddiw gyda gwres uchel", "cy"),
        ("Bună ziua, copilul este bolnav și are febră, rămâne acasă azi", "ro"),
        ("Olá, o João está doente hoje, tem febre, fica em casa", "pt"),
        ("Labas, Jonas šiandien serga, turi temperatūrą", "lt"),
        ("ابني مريض اليوم وعنده حرارة", "ar"),
        ("আজ আমার ছেলে অসুস্থ, জ্বর হয়েছে", "bn"),
        ("Sorry miss Bilal ki tabiyat theek nahi hai aaj school nahi aayega", "ur"),
        ("ਅੱਜ ਮੇਰਾ ਪੁੱਤਰ ਬਿਮਾਰ ਹੈ", "pa"),
        ("hes got d&v wnt b in 2day sorry", "en"),
        ("Our Maisie's proper poorly, been up half the night, keeping her off", "en"),
        ("ok", "en"),
        # The lexicon's own words name the language (lingua is not asked).
        ("Labdien, Markusam sodien zobarsts, Elza ari slima", "lv"),
        # Scripts of their own, and Vietnamese by its tone letters.
        ("සෙනුලි අද එන්නේ නෑ. හෙට එවන්නම්.", "si"),
        ("ആരോണിന് ഇന്ന് പനിയാണ്", "ml"),
        ("今日は熱があるので休ませます", "ja"),
        ("오늘 아이가 열이 나서 결석합니다", "ko"),
        ("วันนี้ลูกไม่สบาย มีไข้", "th"),
        ("ఈరోజు మా అబ్బాయికి జ్వరం", "te"),
        ("Chào cô, hôm nay bé Linh bị sốt", "vi"),
        # A shared script names its commonest language unless the reply uses another's
        # own words: Bulgarian among Cyrillic, Tigrinya among Ge'ez, Nepali among
        # Devanagari, Dari among Arabic script.
        ("Добрый день, Маша сегодня заболела, температура и рвота.", "ru"),
        ("Здравейте, Мария е болна днес, има висока температура и повръща.", "bg"),
        ("ዳዊት ሕማም ኣሎ ሎሚ ኣብ ገዛ ኣሎ፣ ጽባሕ ክመጽእ እዩ", "ti"),
        ("आज छोरा बिरामी छ, ज्वरो आएको छ। भोलि स्कूल आउँछ", "ne"),
        ("بچه امروز مریض است، تب دارد. فردا به مکتب می‌آید", "fa"),
        ("שלום, דני חולה היום, יש לו חום. מחר הוא יחזור לבית הספר", "he"),
        ("ער איז קראנק היינט, ער האט היץ. מארגן וועט ער קומען אין חדר", "yi"),
        ("މިއަދު ދަރިފުޅު ބަލިވެއްޖެ، ހުން އަރާފައި", "dv"),
        # Assamese writes Bengali's script with letters of its own; Tibetan has its own.
        ("আজি মোৰ ল'ৰাটোৰ জ্বৰ হৈছে, স্কুললৈ নাযায়", "as"),
        ("དེ་རིང་བུ་ན་བ་རེད།", "bo"),
        # ...Tatar among Cyrillic, Uyghur among Arabic script, Galician among Latin.
        ("Ашхан бүген авырый, температурасы бар, өйдә кала", "tt"),
        ("بۈگۈن بالام ئاغرىپ قالدى، قىززىپ كەتتى، ئۆيدە قالىدۇ", "ug"),
        ("Hoxe Uxía está enferma con febre, queda na casa", "gl"),
        # One foreign word among English ones does not.
        ("Sorry she has a temperatura today lol, back tomorrow", "en"),
    ],
)
def test_language_is_detected_and_other_languages_are_reviewed(text: str, language: str) -> None:
    got = parse_reply(text, WED, ["Sam"])
    assert got.language == language
    if language != "en":
        sure = float(shipped_meta()["thresholds"]["foreign_sure"])  # type: ignore[index]
        assert got.needs_review or got.confidence >= sure
        if got.needs_review:
            assert got.review_reasons


def test_a_language_the_model_never_learnt_is_reviewed_by_name() -> None:
    # Dutch: fewer than training.READ_MIN replies in the corpus.
    got = parse_reply("Goedemorgen, Daan is vandaag ziek, hij heeft koorts", WED, ["Daan"])
    assert got.language == "nl"
    assert "nl" not in shipped().languages
    assert "written in Dutch" in got.review_reasons


@pytest.mark.parametrize(
    ("word", "concept"),
    [
        ("وبكرة", "tomorrow"),  # and tomorrow
        ("بالمستشفى", "hospital"),  # in the hospital
        ("والعزاء", "funeral"),  # and the wake
        ("ونشوف", "unsure"),  # and we'll see
        ("ומחר", "tomorrow"),  # Hebrew: and tomorrow
    ],
)
def test_the_lexicon_reads_a_word_with_and_or_the_written_onto_it(word: str, concept: str) -> None:
    from rules.replies.lexicon import concept_features

    assert f"k:{concept}" in concept_features(word)


def test_a_letter_that_only_looks_like_a_prefix_is_not_taken_off() -> None:
    from rules.replies.lexicon import concept_features

    # "بعيد" is "far", not "with Eid"; "وانا" is "and I".
    assert concept_features("بعيد") == []
    assert concept_features("وانا") == []


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("hon sa att hon inte vill leva längre", "suicide"),  # Swedish: "vill inte leva"
        ("Oliwia bardzo sie boi wrocic do domu", "scared"),  # Polish: "boi się"
    ],
)
def test_a_sign_of_risk_is_read_with_its_words_in_another_order(text: str, concept: str) -> None:
    from rules.replies.lexicon import concept_features

    assert f"k:{concept}" in concept_features(text)


@pytest.mark.parametrize(
    "text",
    [
        "Бул номерге мындан ары жазбагыла",  # Kyrgyz: don't write to this number any more
        "Mesedez ez bidali mezu gehiago zenbaki honetara",  # Basque: send no more messages
    ],
)
def test_a_request_to_stop_the_texts_is_read_in_another_language(text: str) -> None:
    from rules.replies.lexicon import concept_features

    assert "k:stop" in concept_features(text)


def test_a_request_to_stop_the_texts_beside_an_illness_is_honoured_and_keeps_the_code() -> None:
    got = parse_reply(
        "Zosia ma gorączkę, zostaje dziś w domu. I proszę nie wysyłać mi więcej tych wiadomości.",
        WED,
        ["Zosia"],
    )
    assert (got.intent, got.code) == ("opt_out", "I")


def test_a_phrase_ending_in_a_stem_matches_the_words_that_start_with_it() -> None:
    from rules.replies.lexicon import build, tokens

    lexicon = build([("stop", "nie wysyłajcie wiadomo*"), ("hit", "tata go bij*")])

    def read(text: str) -> set[str]:
        return lexicon.concepts(tokens(text), text)

    assert read("prosze nie wysylajcie wiadomosci") == {"stop"}
    assert read("Nie wysyłajcie wiadomości SMS") == {"stop"}
    assert read("wysylajcie wiadomosci") == set()  # the first words are whole words
    assert read("nie wysylajcie") == set()
    assert read("tata go bije") == {"hit"}
    assert read("go tata bije") == {"hit"}  # a sign of risk is read in free order...
    assert read("tata bije go") == set()  # ...but the stem stays last


@pytest.mark.parametrize(
    "text",
    [
        "od wczoraj ma gorączkę",  # Polish "od", since: not English "od", overdose
        "untuk urusan sekolah silakan menghubungi suami saya",  # Indonesian: affairs, husband
        "Am sunat la școală dimineață",  # Romanian "sunat", rang: not Malay circumcision
        "Stoimy w korku na A14",  # Polish "w korku", in a jam: not Turkish "korku", fear
        "Bahar gaya hai, kal aayega",  # Urdu "bahar", out: not Pashto "abroad"
        "Elif dün gece çok kötü oldu, ateşi var",  # Turkish: not "öldü", died; not Hausa "kotu"
        "Mwanangu sita kuja leo",  # Swahili "sita", I will not: not Latvian "sita", hit
        "elle tremble de fièvre",  # French: not Albanian "tremb*", afraid
    ],
)
def test_an_everyday_word_of_one_language_is_no_sign_of_risk_in_another(text: str) -> None:
    from rules.replies.lexicon import concept_features

    assert concept_features(text) in ([], ["k:fever"])


@pytest.mark.parametrize(
    "text",
    [
        "கணவருக்குத் தெரிந்தால் என்னை அடிப்பார்",  # Tamil, respectful: he will hit me
        "เมื่อคืนเขาตีฉันอีกแล้ว",  # Thai: he hit me again last night
        "agar unhone dekh liya to mujhe maarenge",  # roman Hindi: he will hit me
        "Wenn er das liest, schlägt er mich",  # German: he hits me
        "mă bate când bea",  # Romanian: he beats me when he drinks
    ],
)
def test_he_hit_me_and_he_will_hit_me_are_read_in_their_own_forms(text: str) -> None:
    from rules.replies.lexicon import concept_features

    assert "k:hit" in concept_features(text)


def test_a_trampoline_is_no_beating() -> None:
    from rules.replies.lexicon import concept_features

    # Romanian "bătut", beaten, is a word, not the stem of Lithuanian "batutas", trampoline.
    assert "k:hit" not in concept_features("Lukas susilaužė ranką ant batuto")
    assert "k:hit" in concept_features("a fost bătut de tatăl lui")


def test_an_everyday_word_of_one_language_is_no_reason_in_another() -> None:
    from rules.replies.lexicon import concept_features

    # German "diese", this, folds to Kurmanji "diêşe", it hurts: only "serê wê diêşe" and
    # the like (her head hurts) are pain.
    assert "k:pain" not in concept_features("Bitte entfernen Sie diese Nummer")
    assert "k:pain" in concept_features("Rojin serê wê diêşe, li malê ye")
    # Indonesian, passive: "please let these messages no longer be sent to my number".
    assert "k:stop" in concept_features("mohon pesan ini tidak lagi dikirim ke nomor saya")


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("Wala pa po siya", "taxi"),  # Tagalog "pa", yet: not English "PA", the escort
        ("Bore da, Elin yma", "snow_flood"),  # Welsh "bore", morning: not Albanian "borë"
        ("Mâine o ridic eu de la școală", "taxi"),  # Romanian "ridic", I pick up: not "řidič"
        ("Маргааш ирнэ", "death"),  # Mongolian "маргааш", tomorrow: not Tajik "марг"
        ("Mbote, pona yo", "pain"),  # Lingala "pona", for: not Greeklish "ponaei"
        ("Aline liga para a escola", "ill"),  # Portuguese "liga", rings: not Lithuanian
        ("Mwalimu, sina simu leo", "funeral"),  # Swahili "sina", I have no: not Kurmanji
    ],
)
def test_a_reason_word_of_one_language_is_not_read_in_another(text: str, concept: str) -> None:
    from rules.replies.lexicon import concept_features

    # Found by `benchmarks/lexicon.py --disagree`: each word was in replies of another code.
    assert f"k:{concept}" not in concept_features(text)


def test_a_polite_request_to_stop_the_texts_is_read_beside_an_illness() -> None:
    from rules.replies.lexicon import concept_features

    # Bosnian: "and please don't send any more messages to this number"
    got = concept_features("Lejla ima temperaturu. I molim vas nemojte vise slati poruke")
    assert "k:stop" in got


def test_a_threat_beside_a_request_to_stop_the_texts_is_a_risk_in_another_language() -> None:
    got = parse_reply(
        "Kuba ma gorączkę. Proszę nie wysyłać mi więcej wiadomości, jak mąż to zobaczy, "
        "zabije mnie.",  # ...if my husband sees it, he'll kill me
        WED,
        ["Kuba"],
    )
    assert (got.intent, got.code) == ("opt_out", "I")
    assert "threat" in got.indicators


def test_a_threat_beside_an_opt_out_in_words_the_lexicon_lacks_is_a_risk() -> None:
    # Portuguese: "stop sending messages here, if he sees this he'll kill me"; "para de
    # mandar mensagem" is not among the lexicon's words for stopping the texts.
    got = parse_reply(
        "A Bia tá doente. Para de mandar mensagem pra cá por favor, se ele ver isso ele me mata.",
        WED,
        ["Bia"],
    )
    assert (got.intent, got.code) == ("opt_out", "I")
    assert "threat" in got.indicators


def test_stop_and_a_blow_in_an_everyday_english_reply_are_no_threat() -> None:
    got = parse_reply(
        "kai got smacked in the face wiv a football, nose wont stop bleedin so were in a&e",
        WED,
        ["Kai"],
    )
    assert "threat" not in got.indicators


def test_a_reason_is_not_read_from_everyday_words_swapped() -> None:
    from rules.replies.lexicon import concept_features

    # "a e" is A&E; swapped, "e a" is Portuguese's "and the".
    assert "k:hospital" in concept_features("ela foi a a e ontem")
    assert "k:hospital" not in concept_features("A senhora está de baixa e a carrinha não veio")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("बुखार है", ["बुखार", "है"]),  # Hindi: vowel signs inside the word
        ("ஜுரம்", ["ஜுரம்"]),  # Tamil
        ("ޓެކްސީ ނައި", ["ޓެކްސީ", "ނައި"]),  # Dhivehi: Thaana writes every vowel as a mark
        ("ឈឺក្បាល", ["ឈឺក្បាល"]),  # Khmer
    ],
)
def test_a_word_keeps_its_vowel_signs_for_the_rules_the_lexicon_and_the_model(
    text: str, words: list[str]
) -> None:
    from rules.replies.learned import text_features
    from rules.replies.lexicon import tokens

    assert tokens(text) == words
    assert [f[2:] for f in text_features(text) if f.startswith("w:")] == words


def test_the_warm_up_asks_lingua_about_every_language_it_may_answer() -> None:
    """lingua loads a language's models on the first text that calls for them: a language
    added to its list without a warm-up text would cost the first reply in it up to 30 ms."""
    from rules.replies.languages import _LINGUA_LANGUAGES, _WARM_TEXTS, lingua_guess

    assert {lingua_guess(text) for text in _WARM_TEXTS} == set(_LINGUA_LANGUAGES.split())


def test_loading_the_parser_sets_it_aside_from_the_garbage_collector() -> None:
    # In a process of its own: gc.freeze is for the whole process.
    script = (
        "import gc; from rules.replies import load; load(); print(gc.get_freeze_count() > 10_000)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


# --- kinds of reply the issue names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "code"),
    [
        ("shes got a bad infecshun on her chest, keepin her off", "absence_reason", "I"),
        ("Coming in after his dentist appointment, about 11", "late_arrival", "M"),
        ("The escort is off sick so the minibus never came for him", "absence_reason", "Y1"),
        (
            "She's having a panic attack and can't face it today, her anxiety is bad",
            "absence_reason",
            "I",
        ),
        ("It's Eid today so he's at the mosque with his dad", "absence_reason", "R"),
        ("STOP", "opt_out", None),
        ("who is this?", "unclear", "N"),
    ],
)
def test_kinds_of_reply(text: str, intent: str, code: str | None) -> None:
    got = parse_reply(text, WED, ["Sam"])
    assert (got.intent, got.code) == (intent, code)


def test_a_leave_question_is_a_leave_request_for_religious_observance() -> None:
    got = parse_reply("Can she have Friday off for Eid please?", WED, ["Amira"])
    assert got.intent == "leave_request"
    assert got.leave is not None and got.leave.reason == "religious"
    assert got.leave.start == date(2026, 3, 13)


def test_days_off_asked_for_ahead_with_nothing_of_today_are_a_leave_request() -> None:
    # Not today's absence: today stays unexplained and the headteacher gets the request.
    got = parse_reply("need jack out mon 16th. his grandads funeral. ellie too", WED, ["Jack"])
    assert (got.intent, got.code) == ("leave_request", None)
    assert got.leave is not None and got.leave.start == date(2026, 3, 16)


def test_two_things_in_one_reply() -> None:
    got = parse_reply(
        "She's been sick all night so she's staying home today. Also can she have the 20th "
        "and 21st of April off for Eid?",
        WED,
        ["Amira"],
    )
    assert (got.intent, got.code) == ("absence_reason", "I")
    assert got.leave is not None and got.leave.reason == "religious"
    assert (got.leave.start, got.leave.end) == (date(2026, 4, 20), date(2026, 4, 21))
    assert got.to_json()["leave"] == {
        "from": "2026-04-20",
        "to": "2026-04-21",
        "reason": "religious",
    }


@pytest.mark.parametrize(
    "text",
    [
        "Theres no food in the house and the electric has been cut off, I cant get him washed",
        "I can't do this anymore, everyone would be better off without me",
        "He's been out till 2am with older lads and came home with a new phone and cash",
        "She's scared to come home because of her stepdad",
        "We are taking her to Somalia in the holidays for a ceremony, the women will do it",
        "I don't know where she is, she didn't come home last night",
    ],
)
def test_safeguarding_without_todays_keywords(text: str) -> None:
    got = parse_reply(text, WED, ["Sam"])
    assert got.safeguarding or got.needs_review


def test_a_reply_that_raises_the_alarm_but_gives_no_reason_leaves_the_chase_open() -> None:
    # O would close the school's follow-up of a reason nobody gave; N keeps it open.
    got = parse_reply("Leon wont be in. cant do this anymore honestly", WED, ["Leon"])
    assert got.safeguarding
    assert (got.code, got.reason) == ("N", None)


@pytest.mark.parametrize(
    "text",
    [
        "Police have closed the road by us after a crash so we can't get out, sorry",
        "He hurt his knee at football on Saturday, it's swollen, we're getting it checked",
        "Haha I can't cope with this weather, she's coming in after lunch",
    ],
)
def test_lookalikes_raise_no_alarm(text: str) -> None:
    assert not parse_reply(text, WED, ["Sam"]).safeguarding


def test_a_routine_clear_reply_is_not_flagged() -> None:
    got = parse_reply(
        "Sorry Jayden has a temperature and has been sick, back tomorrow", WED, ["Jayden"]
    )
    assert (got.intent, got.code, got.return_date) == ("absence_reason", "I", THU)
    assert not got.needs_review and not got.safeguarding


def test_visiting_a_sick_relative_is_not_authorised_silently() -> None:
    got = parse_reply("We're visiting my mum in hospital today, she's very ill", WED, ["Sam"])
    assert got.code == "O" or got.needs_review


def test_siblings_with_different_reasons_are_reviewed() -> None:
    got = parse_reply(
        "Mia has a temperature so she's staying home, Ollie is coming in late after the dentist",
        WED,
        ["Mia", "Ollie"],
    )
    assert len(set(got.per_child.values())) == 2
    assert "children, different reasons" in got.review_reasons


def test_a_child_writing_is_reviewed() -> None:
    got = parse_reply("this is Sam, I'm ill. please dont tell my mum I texted", WED, ["Sam"])
    assert "a child writing" in got.review_reasons


def test_review_reasons_are_in_the_json_and_empty_for_a_routine_reply() -> None:
    got = parse_reply("Sorry Jayden has a temperature and has been sick, back tomorrow", WED)
    assert got.to_json()["review_reasons"] == []
