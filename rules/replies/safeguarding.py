"""Risk indicators: any one sends the reply to the Designated Safeguarding Lead.

Recall matters more than anything else here, so the phrases are broad; precision comes
from a few context checks that recognise the innocent lookalikes (an injury with a clear
account of an accident, police closing a road or giving a talk in school, a child who
"isn't coming back" only until Monday).
"""

from __future__ import annotations

from collections.abc import Sequence

from .normalise import Normalised, words
from .patterns import Hit

OBJ = "him|her|them|me|us"
ADULT = (
    "partner|husband|ex|boyfriend|dad|father|stepdad|step-dad|stepfather|mum|mother|"
    "stepmum|uncle|brother|he|she"
)

SG_CUES: list[tuple[str, int, list[str]]] = [
    (
        "sg:missing",
        4,
        [
            "not|never come|came|been home",
            "did|has|have not come|been home",
            "not home since",
            "not been home",
            "not seen {OBJ} since",
            "do|does|did not know where {SUBJ} is|are|went|s",
            "no idea where {SUBJ} is|are|s",
            "not know where {SUBJ} is|are|went|s",
            "tell me where {SUBJ} is|are|s",
            "gone|went|go|is|s|been|reported|are missing",
            "missing person",
            "reported {OBJ} missing",
            "ran|run|running away",
            "runaway",
            "run off",
            "ran off",
            "stayed out all night",
            "out all night",
            "can not find {OBJ}",
            "can not get hold of {OBJ}",
            "no one has seen {OBJ}",
            "has not seen {OBJ}",
            "have not seen {OBJ}",
            "where is {SUBJ}",
            "where s {SUBJ}",
        ],
    ),
    (
        "sg:missing_school",
        4,
        [
            "dropped|took|walked|left him|her|them [off] at|to|outside|by [the] gate|"
            "gates|school|door|playground|classroom|office|entrance",
            # "She not in class??", "is he not there?": the parent thought the child was in.
            "{SUBJ} [is|s] not in class|school|there ?",
            "is {SUBJ} not in|there ?",
            "what do you mean {SUBJ} is|s|are not",
            "{SUBJ} left for school",
            # "Isla was dropped at the school gate at 8.40 by my neighbour"
            "{SUBJ} was|were dropped [off] at|to|outside|by [the] gate|gates|school|door|"
            "playground|classroom|office|entrance",
            "{SUBJ} should be in class|school",
            "{SUBJ} left with|in|on the|his|her taxi|minibus|bus",
            "saw {OBJ} get|got in|into|on the|his|her taxi|minibus|bus",
            "put {OBJ} in|into|on the|his|her taxi|minibus|bus",
            "left the house for school",
            "set off for school",
            "went to school this morning",
            "went to school as normal",
        ],
    ),
    (
        "sg:domestic_abuse",
        4,
        [
            "refuge",
            "domestic",
            "women s aid",
            "womens aid",
            "fled",
            "fleeing",
            "abus*",
            "had to leave the house|home|flat",
            "because of my partner|husband|ex|boyfriend",
            "not allowed back|near",
            "not allowed to see|contact",
            "non molestation",
            "restraining order",
            "injunction",
            "{ADULT} hit|hits|attacked|"
            "beat|beats|threatened|hurt|assaulted|strangled|choked|punched|kicked me|us",
            "scared of my|her|his partner|dad|husband|ex|boyfriend|stepdad",
            "kicked us out",
            "threatened me|us|my|the|to",
            "threatening me|us",
            # "If he sees you texting me he'll kill me": a threat said beside an opt-out,
            # where nothing else in the reply names a risk.
            "{ADULT} will|would kill|hurt|batter|beat|murder me|us",
            "{ADULT} is|s going to kill|hurt|batter|beat|murder me|us",
            "threw us out",
            "violence",
        ],
    ),
    (
        "sg:police",
        3,
        [
            "police",
            "police s",
            "cops",
            "officers came",
            "officer came",
        ],
    ),
    ("sg:arrest", 4, ["arrest*", "in custody", "locked up", "in a cell", "remanded"]),
    (
        "sg:self_harm",
        4,
        [
            "overdose*",
            "self harm*",
            "selfharm*",
            "harming|harm|hurting|cutting|cut|cuts|harmed himself|herself|themself|themselves",
            "suicid*",
            "kill himself|herself|myself|themself",
            "end it all",
            "end {POSS} life",
            "take {POSS} own life",
            "took {POSS} own life",
            "not want to be here|alive|around|live|exist|wake",
            "wants|want to die",
            "wanted to die",
            "wish {SUBJ} was|were dead",
            "better off dead",
            "no reason to live",
            "took|swallowed|taken loads|lots|handful|all|too|bunch _3 tablets|pills|paracetamol",
            "swallowed _2 tablets|pills",
            "ligature",
            "wish|wishes|wished {SUBJ} was|were|had never been born",
            "want|wants|wanted it all to stop",
            "cuts|scratches|slashes on|up|all up|across|down {POSS} arms|wrists|thighs",
        ],
    ),
    (
        "sg:leaving_country",
        4,
        [
            "moved|moving|move|relocated|relocating|emigrated|emigrating [back] [home] to {PLACE}",
            "gone|went|going|returned|returning|flown [back] [home] to {PLACE} for good|"
            "permanently|to live",
            "moved abroad",
            "moving abroad",
            "we|they|family _2 moved|moving away",
            "left the country",
            "leaving the country",
            "left the uk",
            "leaving the uk",
            "left england",
            "leaving england",
            "for good",
            "permanently",
            "not coming back",
            "never coming back",
            "not be coming back",
            "not returning",
            "not be returning",
            "never be back",
            "not come back",
            "no longer living here",
            "no longer live here",
            "do|does not know when {SUBJ}|we will come|be back",
        ],
    ),
    (
        "sg:forced_marriage",
        4,
        [
            "forced marriage",
            "forced to marry",
            "forced to get married",
            "made to marry",
            "arranged marriage",
            "marry {OBJ} off",
            "married off",
            "his|her engagement|nikah|rishta|mangni|wedding|marriage",
            "he|she is|s getting|being married",
            "he|she is|s going to be married",
            "he|she is|s engaged",
            "he|she got engaged",
            "get {OBJ} married",
            "find {OBJ} a husband|wife",
        ],
    ),
    (
        "sg:fgm",
        4,
        [
            "fgm",
            "female genital",
            "cutting ceremony",
            "get her cut",
            "khatna",
            "khitan",
            "sunna",
            # "for girls in our family it is tradition", "the ceremony for girls her age"
            "ceremony|tradition|traditional _6 girls",
            "girls _6 ceremony|tradition|traditional",
        ],
    ),
    (
        "sg:neglect",
        4,
        [
            "no|nae|nowt|nuh food in",
            "not any food in",
            "no|nae|nuh food in the house|flat|fridge|cupboard|cupboards",
            "nothing|nowt to eat",
            "nothing|nowt in the fridge|cupboard|cupboards",
            "no money for food|the meter|electric|gas|heating",
            "not eaten since",
            "not had anything to eat",
            "meter|electric|electricity|gas|leccy|lecky|lectric _2 ran|run|gone out|off",
            "no|nae|nuh gas|electric|electricity|leccy|lecky|lectric|heating|curent|current",
            "can not afford _3 meter|heating|electric|gas|food",
            "no clean clothes|uniform|school",
            "no uniform clean",
            "nothing clean to wear",
            "left {OBJ} on {POSS} own",
            "left alone",
            "home alone",
            "kids|children|they were|are|was on their|there own",
            "they is|s|been looking|lookin after they|him|her|the|baby|{POSS}",
            "they is|s|been minding|mindin|babysitting they|him|her|the|baby|{POSS}",
            "they stay|stays|stayed|staying|stopped|stopping|stops home|back [to] look|looking|"
            "lookin|mind|minding|mindin|watch|watching [after] they|him|her|baby|the|{POSS}",
            # a child minding children: "been looking after the baby ... she's 10"
            "looking|lookin|minding|mindin|watching|babysitting _8 he|she|they s|is|are [only] "
            "8|9|10|11|12|13",
            "he|she s|is [only] 8|9|10|11|12|13 _3 sensible|alright|fine|ok|okay|grown|mature",
        ],
    ),
    (
        "sg:parent_crisis",
        4,
        [
            "too|to much to drink",
            "i|we was|were|am|m drunk",
            "hungover",
            "hangover",
            "on the drink|cans|booze|vodka|whisky",
            "been drinking",
            "drinking again",
            "off {POSS}|my face",
            "using again",
            "relapsed",
            "better off without me",
            "can not go on anymore|any|like|living",
        ],
    ),
    ("sg:conflict_zone", 4, ["war zone", "warzone", "to|in|into {CONFLICT}", "the war"]),
    (
        "sg:social_services",
        4,
        [
            "social services|worker|workers _3 took|taken|removed|take|taking",
            "social services|worker|workers came for",
            "taken|put|placed|go into care",
            "in care now",
            "fostered",
            "police protection",
            "into|to|with _2 foster care|carer|carers|placement|home|parents|family",
            "emergency foster",
            "removed from my|our|the care",
            "emergency placement",
            "child protection",
        ],
    ),
    (
        "sg:threat",
        3,
        [
            "there will be trouble",
            "watch your back",
            "i know where you",
            "you will regret",
            "sort you out",
            "you will be sorry",
            "you will pay",
            "i will get you",
            # "Stop texting this number or I'll come up that school myself"
            "or i will come up|down|round|over",
            "or i will be up|down|round",
        ],
    ),
    (
        "sg_ctx:hostile",
        1,
        [
            "or else",
            "watch yourself",
            "come|coming down there",
            "sticking your nose*",
            "stick your nose*",
            "keep your nose*",
            "mind your own",
            "back off",
            "f off",
            "fuck*",
            "piss off",
            "leave him|her|us|them alone",
            "harass*",
            "none of your business",
            "nothing to do with you",
            "stay away",
        ],
    ),
    (
        "sg_ctx:third_party",
        1,
        [
            "this is {POSS} uncle|brother|cousin|boyfriend|mate|friend|aunt|auntie|neighbour|"
            "stepdad|grandad|nan",
            "i am {POSS} uncle|brother|cousin|boyfriend|mate|friend|aunt|auntie|neighbour|stepdad",
            "{POSS} uncle|brother|cousin here",
        ],
    ),
    (
        "sg_ctx:injury",
        1,
        [
            "bruis*",
            "black eye",
            "marks on",
            "mark on",
            "burn",
            "burns",
            "burn marks",
            "split lip",
            "fat lip",
            "cut lip",
            "welt*",
            "bite marks",
            "hand print*",
            "grip marks",
            "scratches on",
        ],
    ),
    (
        "sg_ctx:hurt_by",
        1,
        [
            "grabbed|hit|hits|hitting|punched|slapped|smacked|smacks|kicked|beat|beats|"
            "battered|strangled|choked|shoved|pushed|attacked|hurt|bit|burned|burnt|whacked|"
            "belted|thumped|threw|dragged|shook|throttled him|her|them|me",
            "got|gets|was|been beaten up",
            "beaten up",
        ],
    ),
    (
        "sg_ctx:accident",
        1,
        [
            "fell",
            "fall",
            "falling",
            "tripped",
            "slipped",
            "football",
            "rugby",
            "pe",
            "gym",
            "trampoline",
            "bike",
            "scooter",
            "playground",
            "park",
            "playing",
            "sport*",
            "match",
            "training",
            "accident*",
            "crashed",
            "netball",
            "hockey",
            "cricket",
            "swimming",
            "skateboard",
            "climbing",
            "ball",
            "game",
            "dancing",
            "gymnastics",
            "karate",
            "judo",
            "boxing",
            "walked into",
            "banged",
            "sparkler*",
            "firework*",
            "bonfire",
            "cooking",
            "oven",
            "bbq",
            "barbecue",
            "kettle",
            "sunburn",
            "nettle*",
            "wasp",
            "bee",
            "stung",
            "dog",
            "cat",
            "scratched by",
        ],
    ),
    (
        "sg_ctx:doubt",
        1,
        [
            "not sure",
            "not convinced",
            "not telling",
            "will not say",
            "would not say",
            "will not tell",
            "would not tell",
            "says {SUBJ}",
            # a changing account: "first he said he fell off the bed then he said his uncle did it"
            "first {SUBJ} said|says|told",
            "then {SUBJ} said|says|told",
            "now {SUBJ} says|saying",
            "changed {POSS} story",
            "story keeps changing",
            "different story",
            "claims",
            "apparently",
            "being quiet",
            "really quiet",
            "very quiet",
            "not talking",
            "do not believe",
            "does not want to talk",
            "won t talk",
        ],
    ),
    (
        "sg_ctx:police_ok",
        1,
        [
            "talk",
            "talks",
            "assembly",
            "presentation",
            "workshop",
            "careers",
            "visit*",
            "road",
            "roads",
            "traffic",
            "closed",
            "closure",
            "cordon*",
            "evacuat*",
            "taped off",
            "fire service|brigade",
            "crash",
            "nothing to do with us",
            "not for us",
            "burgl*",
            "nicked",
            "stolen",
            "broke|broken into",
            "shut",
            "statement",
            "diversion",
            "flood*",
            "crossing",
            "came in to",
            "into school",
            "to school to",
            "lesson",
        ],
    ),
    ("sg_ctx:circumcision", 1, ["circumcis*"]),
    # No power or heating for everyone (a storm, a fault, the landlord's boiler) is not neglect.
    (
        "sg_ctx:outage",
        1,
        [
            "storm",
            "power cut",
            "whole street|road|estate|building|village",
            "powergrid",
            "engineer",
            "landlord",
            "cable",
            "fault",
            "lines",
        ],
    ),
    ("sg_ctx:late", 1, ["late", "after", "later", "dentist", "appointment"]),
]

SG_MACROS = {"ADULT": ADULT}

_DIRECT = {
    "sg:missing": "missing",
    "sg:missing_school": "missing",
    "sg:domestic_abuse": "domestic_abuse",
    "sg:arrest": "police",
    "sg:self_harm": "self_harm",
    "sg:forced_marriage": "forced_marriage",
    "sg:fgm": "fgm",
    "sg:conflict_zone": "conflict_zone",
    "sg:social_services": "social_services",
    "sg:parent_crisis": "parent_crisis",
}


def assess(norm: Normalised, hits: Sequence[Hit]) -> tuple[tuple[str, ...], bool]:
    """Indicators that fired, and whether the parent believes the child is in school."""
    fired: list[str] = []
    believed_in_school = False
    kinds = {h.kind for h in hits}
    in_sentence = {(h.kind, norm.sentence[h.start]) for h in hits if h.kind.startswith("sg_ctx")}

    def _sentence_has(_norm: Normalised, _hits: Sequence[Hit], kind: str, sentence: int) -> bool:
        return (kind, sentence) in in_sentence

    for h in hits:
        if not h.kind.startswith("sg"):
            continue
        sent = norm.sentence[h.start]
        name = _DIRECT.get(h.kind)
        if name:
            if h.kind == "sg:self_harm" and h.following(norm) in ("of", "laughing"):
                continue  # "die of embarrassment", "wanted to die laughing"
            if h.kind == "sg:missing_school":
                # "dropped her at school after the dentist" is a late arrival.
                if _sentence_has(norm, hits, "sg_ctx:late", sent):
                    continue
                believed_in_school = True
            elif h.kind == "sg:missing" and norm.tokens[h.end - 1] == "missing":
                if h.following(norm) not in _MISSING_FOLLOWERS:
                    continue  # missing school, the bus or out is not a missing child
                if _thing_before(norm, h.start):
                    continue  # "his shoe went missing again", "her PE bag has gone missing"
            fired.append(name)
        elif h.kind == "sg:neglect":
            if not _sentence_has(norm, hits, "sg_ctx:outage", sent):
                fired.append("neglect")
        elif h.kind == "sg:police":
            if not _sentence_has(norm, hits, "sg_ctx:police_ok", sent):
                fired.append("police")
        elif h.kind == "sg:leaving_country":
            # "not coming back till Monday" is a return date, not a family leaving.
            nxt = h.following(norm)
            after = norm.text[norm.offsets[h.end] :] if h.end < len(norm.tokens) else ""
            temporary = nxt in _TEMPORARY
            if h.phrase in ("for good", "permanently"):
                temporary = nxt in _GOOD_NOUNS
            if not temporary or after.startswith(("to that", "to the school", "to school")):
                fired.append("leaving_country")
        elif h.kind in ("sg:threat", "sg_ctx:hostile"):
            if "sg_ctx:third_party" in kinds:
                fired.append("hostile_third_party")
            elif h.kind == "sg:threat":
                fired.append("threat")
        elif h.kind == "sg_ctx:injury":
            accident = _sentence_has(norm, hits, "sg_ctx:accident", sent)
            doubt = _sentence_has(norm, hits, "sg_ctx:doubt", sent)
            if doubt or not accident:
                fired.append("injury_unexplained")
        elif h.kind == "sg_ctx:hurt_by":
            if h.start > 0 and norm.tokens[h.start - 1] in _NON_HUMAN:
                continue
            # "hit her head at football" and "the ball hit him" are accidents; without such
            # an account, a person hurting the child is a disclosure.
            if not _sentence_has(norm, hits, "sg_ctx:accident", sent):
                fired.append("injury_unexplained")
        elif h.kind == "sg_ctx:circumcision" and any(t in _FEMALE for t in norm.tokens):
            fired.append("fgm")
    return tuple(dict.fromkeys(fired)), believed_in_school


_TEMPORARY = words("today till until tomorrow this for before after in on when tonight yet")
_FEMALE = words("her she daughter girl girls")
# "is missing" only means a missing child when nothing is being missed: "missing school",
# "missing registration" and "missing out" are not.
_MISSING_FOLLOWERS = frozenset({"", ".", ",", "!", "?", ";", ":"}) | words(
    "since from again now and but overnight all for last this i we he she they please pls "
    "yesterday today tonight"
)
_GOOD_NOUNS = words("reason reasons behaviour measure news attendance")
# What goes missing on a school morning and is not a child.
_THINGS = words(
    "shoe shoes trainer trainers boot boots coat jacket bag book books phone keys key "
    "glasses lunchbox homework tie blazer jumper kit uniform ticket card purse wallet "
    "money pass letter form cat dog hamster sock socks hat gloves charger tablet ipad "
    "laptop"
)


def _thing_before(norm: Normalised, start: int) -> bool:
    """The word before "went missing", past "has" or "had": "his shoe has gone missing"."""
    i = start - 1
    if i > 0 and norm.tokens[i] in ("has", "have", "had", "s"):
        i -= 1
    return i >= 0 and norm.tokens[i] in _THINGS


_NON_HUMAN = words("bug virus it flu sickness ball illness cold covid car bus bike door this that")
