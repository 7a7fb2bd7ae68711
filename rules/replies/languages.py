"""Which language a reply is in, and reason vocabulary for the commonest other languages
of families in English schools.

Detection is by marker words rather than a statistical model: replies are a sentence or
two, often mixed with English ("Sorry miss Bilal bimar hai"), which defeats n-gram
detectors, while a handful of very common function words identifies each language well.
Anything not English is always sent for review, so a wrong guess between two other
languages costs nothing; only English-versus-other matters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .normalise import words

# Weighted marker words per language (after accent folding).  Short words shared with
# English ("ma", "la", "se") get low weight so a stray one cannot flip an English reply.
_MARKERS: dict[str, dict[str, float]] = {
    "pl": {
        **dict.fromkeys(
            words(
                "dzien dobry dzisiaj dzis szkoly szkole przyjdzie bedzie jest corka syn pozdrawiam "
                "jutro chory chora goraczke goraczka boli gardlo wymiotuje przepraszam dziekuje "
                "lekarza lekarz wizyta pogrzeb zmarl zmarla wyjechalismy poniewaz bardzo mamy "
                "katar kaszel zostaje zostanie domu dentysty wizyte szpitalu spozniony spozniona "
                "glowy brzuch przeziebiony przeziebiona"
            ),
            1.0,
        ),
        **dict.fromkeys(words("nie ma"), 0.5),
    },
    "ro": {
        **dict.fromkeys(
            words(
                "buna ziua astazi azi scoala scoala maine multumesc suntem copilul fiica fiul bolnav "
                "bolnava febra raceala tuse vine intoarce intoarcem mutat inapoi saptamana trecuta "
                "viitoare bunici sanatos doctor programare inmormantare acasa ramane doare spital "
                "intarziem"
            ),
            1.0,
        ),
        **dict.fromkeys(words("nu este si mai cu"), 0.4),
    },
    "pt": {
        **dict.fromkeys(
            words(
                "bom dia ola escola hoje obrigado obrigada nao amanha consulta depois levo filho filha "
                "doente febre gripe dentista medico esta tem ele ela para vai voltar ferias enterro "
                "faleceu fica ficar cabeca barriga atrasado atrasada"
            ),
            1.0,
        ),
        **dict.fromkeys(words("da com e"), 0.3),
    },
    "ur": {
        **dict.fromkeys(
            words(
                "hai nahi nahin raha rahi tha thi aaj tabiyat tabiyet tabiat bimar beemar bemar bukhar "
                "bukhaar ulti raat mein bhi gaya gayi aayega aayegi aaega ayega ayegi jayega jayegi "
                "kar theek thik hain unki uski iski kyunke kyunki dard khansi zukam doctor"
            ),
            1.0,
        ),
        **dict.fromkeys(words("ki ka ko se aur kal ho ne"), 0.5),
    },
    "pa": {
        **dict.fromkeys(
            words(
                "ajj saade sade ohde ohda ohdi tuhada vich karke aayegi nahi hoyi gayi gaye poore "
                "dadaji nanaji bimaar bukhaar akal sri"
            ),
            1.0,
        ),
        **dict.fromkeys(words("ji nu te kal ho"), 0.4),
    },
    "so": dict.fromkeys(
        words(
            "maanta iskuulka imanayso imaanayo xanuunsan qandho mahadsanid macalin macalimad tahay "
            "ayay waxay wuxuu jiran bukaan berri"
        ),
        1.0,
    ),
    "tr": dict.fromkeys(
        words("merhaba bugun okula gelmeyecek hasta tesekkurler ates hocam oglum kizim yarin"), 1.0
    ),
}

_BY_WORD: dict[str, list[tuple[str, float]]] = {}
for _lang, _words in _MARKERS.items():
    for _word, _weight in _words.items():
        _BY_WORD.setdefault(_word, []).append((_lang, _weight))

_ENGLISH = words(
    "the and is he she to of in be will not sorry today school has have been a it s for with "
    "at this that his her him my i you we are was but so on off back do no am me can"
)

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# Letters used in Urdu but not in Arabic.
_URDU_LETTERS = re.compile(r"[\u0679\u0688\u0691\u06ba\u06be\u06c1\u06d2\u06af\u067e\u0686]")


def detect(tokens: Sequence[str], raw: str) -> str:
    """ISO 639-1 code of the reply's language; "en" unless the evidence is clear."""
    arabic = len(_ARABIC_SCRIPT.findall(raw))
    if arabic >= 3 and arabic * 2 >= sum(ch.isalpha() for ch in raw):
        return "ur" if _URDU_LETTERS.search(raw) else "ar"
    english = 0
    scores: dict[str, float] = {}
    for t in tokens:
        if t in _ENGLISH:
            english += 1
        for lang, weight in _BY_WORD.get(t, ()):
            scores[lang] = scores.get(lang, 0.0) + weight
    best, best_score = "en", 0.0
    for lang, score in scores.items():
        if score > best_score:
            best, best_score = lang, score
    if best_score >= 2.0 and best_score >= 0.6 * english:
        return best
    return "en"


# Reason and grammar phrases in other languages, in the same phrase syntax and kinds as
# the English vocabulary, accent-folded (the matcher folds them again anyway).
FOREIGN_CUES: list[tuple[str, int, list[str]]] = [
    (
        "r:illness",
        3,
        [
            # Polish
            "goraczk*",
            "chory",
            "chora",
            "choruje",
            "boli",
            "gardlo",
            "kaszel",
            "katar",
            "wymiot*",
            "przeziebi*",
            "grypa",
            "grype",
            "biegunk*",
            "zle sie czuje",
            # Romanian
            "bolnav*",
            "febra",
            "febr*",
            "raceal*",
            "racit*",
            "tuse",
            "tuseste",
            "voma*",
            "gripa",
            "durere",
            "nu se simte bine",
            # Portuguese
            "doente",
            "febre",
            "gripe",
            "gripado",
            "gripada",
            "vomit*",
            "dor",
            "dores",
            "constipado",
            "constipada",
            # Urdu / Punjabi (roman script)
            "bimar",
            "bimaar",
            "beemar",
            "bemar",
            "bemaar",
            "bukhar",
            "bukhaar",
            "ulti",
            "ultiyan",
            "tabiyat|tabiyet|tabiat|tabeeyat theek|thik|teek nahi|nahin",
            "zukam",
            "khansi",
            "dard",
            "pet dard",
            "sir dard",
            # Somali / Turkish
            "xanuunsan",
            "jiran",
            "qandho",
            "hasta",
            "ates",
            # Arabic
            "مريض",
            "مريضة",
            "مريضه",
            "تعبان",
            "تعبانة",
            "حرارة",
            "حراره",
            "حمى",
            "سخونة",
            "زكام",
            "انفلونزا",
            "يستفرغ",
            "تستفرغ",
        ],
    ),
    (
        "r:medical",
        3,
        [
            "lekarz*",
            "dentyst*",
            "wizyt*",
            "szpital*",
            "programare",
            "spital*",
            "consulta",
            "dentista",
            "medico",
            "موعد",
            "طبيب",
            "دكتور",
            "اسنان",
            "مستشفى",
        ],
    ),
    ("r:religious", 3, ["عيد", "الفطر", "الاضحى", "gurpurab", "gurpurb"]),
    (
        "r:bereavement",
        3,
        [
            "pogrzeb*",
            "zmarl*",
            "inmormantar*",
            "a murit",
            "decedat*",
            "enterro",
            "faleceu",
            "morreu",
            "falecimento",
            "janaz*",
            "intiqal",
            "inteqal",
            "inteqaal",
            "wafat",
            "faut ho",
            "guzar ga*",
            "poore ho",
            "pure ho",
            "pura ho",
            "death ho",
            "maut",
            "chal vas*",
            "جنازة",
            "جنازه",
            "توفي",
            "توفيت",
            "وفاة",
            "عزاء",
            "مات",
            "ماتت",
        ],
    ),
    (
        "r:holiday",
        3,
        [
            "wakacj*",
            "urlop*",
            "vacant*",
            "concediu",
            "ferias",
            "viagem",
            "chutti*",
            "سفر",
            "عطلة",
            "اجازة",
        ],
    ),
    ("r:family_event", 3, ["wesele", "slub*", "nunta", "casamento", "shaadi", "shadi", "viah"]),
    (
        "late",
        3,
        [
            "depois eu levo",
            "depois levo",
            "vou levar",
            "spozni sie",
            "spozni",
            "va intarzia",
            "intarzie",
            "der se",
            "late aayega",
            "late aayegi",
        ],
    ),
    (
        "absent",
        2,
        [
            "nie przyjdzie",
            "nie bedzie",
            "nu vine",
            "nu va veni",
            "nao vai",
            "school nahi",
            "nahi aayega",
            "nahi aayegi",
            "nahi aaega",
            "ma imanayso",
            "gelmeyecek",
        ],
    ),
    (
        "today",
        1,
        ["dzisiaj", "dzis", "azi", "astazi", "hoje", "aaj", "ajj", "maanta", "bugun", "اليوم"],
    ),
    (
        "sg:leaving_country",
        4,
        [
            "nu se mai intoarce",
            "nu mai vine",
            "ne am mutat",
            "nao vai voltar",
            "mudamos para",
            "wyjechalismy na stale",
            "przeprowadzili*",
            "wapas nahi",
            "wapis nahi",
            "لن يعود",
            "لن ترجع",
        ],
    ),
]
