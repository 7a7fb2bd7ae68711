"""The words parents use, grouped by what they mean, and fuzzy repair of misspellings.

Kinds: "r:<reason>" are reasons for an absence (see `REASON_CODE`); the rest are grammar
that the classifier reads around them (lateness, requests, negated or unrealised plans,
time references, opt-outs).  Weights: 3 a word that names the reason on its own
("tonsillitis", "funeral"), 2 a strong hint, 1 a weak hint that only counts when nothing
better is said.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .languages import FOREIGN_CUES
from .normalise import words
from .patterns import Matcher
from .safeguarding import SG_CUES, SG_MACROS

REASON_CODE: dict[str, str] = {
    "illness": "I",
    "medical": "M",
    "religious": "R",
    "bereavement": "C",
    "holiday": "G",
    "traveller": "T",
    "interview": "J1",
    "la_transport": "Y1",
    "travel_disruption": "Y2",
    "excluded": "E",
    "family_event": "O",
    "day_out": "O",
    "overslept": "O",
    "tired": "O",
    "transport": "O",
    "weather": "O",
    "caring": "O",
    "parent_ill": "O",
    "refusal": "O",
    "moving_house": "O",
    "pet": "O",
    "other_parent": "O",
    "translating": "O",
    "work": "O",
    "head_lice": "O",
    "uniform": "O",
    "other": "O",
    "doubted_illness": "O",
}
AUTHORISED = frozenset({"I", "M", "R", "C", "T", "J1", "Y1", "Y2"})

DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
REL = (
    "mum|dad|nan|grandad|grandparents|grandparent|aunt|auntie|aunty|uncle|cousin|brother|"
    "sister|partner|husband|wife|father|mother|stepdad|stepmum|fiance|fiancee|"
    "grandmother|grandfather|son|daughter|baby|niece|nephew|gran|nanna|great"
)
ELDER = (
    "mum|dad|da|nan|grandad|grandparents|grandparent|aunt|auntie|aunty|uncle|partner|husband|"
    "wife|father|mother|stepdad|stepmum|grandmother|grandfather|gran|nanna|ba|bapu|dada|dadi|"
    "nani|nana"
)
BODY = (
    "head|arm|arms|leg|legs|ankle|knee|wrist|back|foot|hand|finger|toe|shoulder|neck|"
    "face|eye|nose|tooth|teeth|elbow|hip|collarbone|collar|thumb|ribs|rib"
)
CONFLICT = "syria|afghanistan|yemen|sudan|somalia|libya|gaza|palestine|ukraine|iraq"
PLACES_1 = sorted(
    words(
        "pakistan india bangladesh poland romania bulgaria lithuania latvia estonia slovakia "
        "czechia hungary albania kosovo serbia croatia bosnia slovenia macedonia moldova ukraine "
        "russia nigeria ghana kenya somalia ethiopia eritrea sudan egypt morocco algeria tunisia "
        "libya turkey turkiye cyprus greece spain portugal france paris italy rome germany "
        "austria switzerland netherlands holland amsterdam belgium ireland dublin jamaica "
        "barbados trinidad tobago grenada caribbean america usa florida orlando canada mexico "
        "dubai uae saudi mecca makkah madinah medina qatar doha kuwait oman bahrain iran iraq "
        "syria lebanon yemen afghanistan kurdistan palestine gaza china beijing vietnam thailand "
        "bangkok philippines malaysia singapore indonesia bali nepal australia zealand africa "
        "zimbabwe zambia uganda tanzania congo cameroon gambia senegal lagos abuja accra nairobi "
        "lahore karachi islamabad rawalpindi mirpur kashmir punjab delhi mumbai gujarat kerala "
        "goa dhaka sylhet kabul tenerife lanzarote majorca mallorca ibiza menorca benidorm "
        "canaries fuerteventura madrid barcelona malaga alicante algarve lisbon porto krakow "
        "warsaw wroclaw gdansk poznan bucharest iasi cluj istanbul antalya dalaman bodrum "
        "marmaris crete corfu rhodes zante malta sharm hurghada europe asia lapland iceland "
        "norway sweden denmark finland brazil argentina peru colombia cuba japan korea egypt "
        "kurdistan eritrea"
    )
)
PLACES_N = [
    "new york",
    "sri lanka",
    "south africa",
    "new zealand",
    "saudi arabia",
    "hong kong",
    "sierra leone",
    "gran canaria",
    "costa del sol",
    "costa brava",
    "the states",
    "the us",
    "the usa",
    "north cyprus",
    "the canaries",
    "south sudan",
]

MACROS = {
    "SUBJ": "he|she|they",
    "OBJ": "him|her|them",
    "POSS": "his|her|their",
    "REL": REL,
    # The grown-ups of a family: "my son was admitted" is the child, "me da was" is not.
    "ELDER": ELDER,
    "BODY": BODY,
    "DAY": DAYS,
    "MONTH": MONTHS,
    "CONFLICT": CONFLICT,
    # "may" is far more often the verb than the month.
    "FMONTH": MONTHS.replace("may|", ""),
    "PLACE": "|".join(PLACES_1),
    "LAT": "transport|taxi|taxis|minibus|cab|escort|coach",
    "PET": "dog|cat|pet|puppy|kitten|hamster|rabbit|bunny|guinea|horse|pony|budgie|"
    "parrot|fish|tortoise|gerbil",
    **SG_MACROS,
}


def _p(text: str) -> list[str]:
    # Alternatives may wrap across lines: "a|b|\n c" is one word slot.
    text = re.sub(r"\|\s+", "|", text)
    return [" ".join(p.split()) for p in text.split(";") if p.strip()]


REASONS: list[tuple[str, int, list[str]]] = [
    (
        "r:illness",
        3,
        _p("""
        sick; sickness; vomit*; vommit*; vomming; throwing up; threw up; thrown up; puking;
        puked; d&v; diarr*; diahor*; diarh*; temperature; temperatures; temp; temps; fever*;
        poorly; unwell; ill; illness; not well; not feeling well; not very well; not too well;
        not so well; not been well; not feeling great; not feeling good; not feeling 100;
        under the weather; flu; influenza; covid; coronavirus; tonsil*; chickenpox; chicken pox;
        pox; measles; mumps; scarlet fever; glandular fever; hand [,] foot [,] and mouth;
        slapped cheek; noro*; rotavirus; bug; virus; viral; infection; infected; antibiotic*;
        earache; ear ache; sore ear*; sore throat; strep*; croup; croupy; bronchiolitis;
        bronchitis; pneumonia; asthma*; wheez*; seizure*; epilep*; migraine*; headache*;
        head ache; tummy ache; tummy pain*; tummy hurts; stomach ache; stomach pain*;
        stomach hurts; belly ache; bad stomach; bad tummy; upset stomach; upset tummy;
        poorly tummy; dodgy tummy; dodgy stomach; period pain*; cramps; conjunctivitis;
        pink eye; impetigo; eczema; hives; allergic reaction; hayfever; hay fever; cough*;
        chesty; runny nose; snotty; snuffly; sniffles; sneez*; blocked nose; sinus*;
        laryngitis; lost {POSS} voice; toothache; tooth ache; abscess; broke {POSS} {BODY};
        broken {POSS} {BODY}; broken {BODY}; fractur*; sprain*; twisted {POSS} {BODY};
        concussion; concussed; operation; appendic*; tonsils out; admitted; children s ward;
        on the ward; kept {OBJ} in; kept in overnight; discharged; panic attack*;
        mental health; depress*; not well enough; too ill; too poorly; too unwell;
        feeling rough; feeling rotten; proper rough; achy; aching; aches; shiver*;
        burning up; dizzy; faint*; nosebleed*; nose bleed*; off {POSS} food; not eating;
        will not eat; dehydrat*; nause*; feeling sick; feels sick; stomach bug; tummy bug;
        sickness bug; sick bug; bug going round; worms; threadworm*; constipat*; uti;
        water infection; chest infection; ear infection; eye infection; bad chest; rsv;
        shingles; whooping cough; glue ear; hernia; feverish; nauseous; flu like;
        lurgy; lurgi; rash; spots; swollen; blister*; ulcer*; injured; injury; injuries;
        crutches; stitches; d and v; d v; squits; the runs; full of cold; full of a cold;
        bad with|wi {POSS} belly|tummy|stomach|chest|ear|ears|throat|eye|eyes|head|asthma;
        bad ear; bad ears; bad belly; bad throat; barking cough; not weel; no weel; boak*;
        spewin*; spewing; chucking up; chuckin up; bringing up; being sick"""),
    ),
    (
        "r:illness",
        2,
        _p("""
        a|bad|stinking|heavy|nasty|horrible|streaming|chesty|head|awful|terrible|rotten|
        little|another|this|the|summer|winter|streaming|cough|got cold|colds;
        a&e; hospital admission; rushed in; rushed to hospital; ambulance; paramedics;
        {SUBJ} is|s in [the] hospital; still in [the] hospital; kept in [the] hospital;
        admitted; been in hospital overnight;
        calpol; nurofen; paracetamol; ibuprofen; medicine; medication; inhaler; diabet*;
        blood sugar*; ketones; hypo; in pain; hurt {POSS} {BODY}; hurts; hurting;
        recovering; recovery; had|having surgery; {POSS} surgery; after surgery; {POSS} op;
        panic; lethargic; run down; not right; not herself; not himself; banged {POSS} head;
        bumped {POSS} head; fell off; fell over; fell down; sore; pain; pains; woke up with;
        snapped {POSS} {BODY}; chipped {POSS} tooth; knocked {POSS} tooth; cast; stomach;
        tummy; cut {POSS} {BODY}; bump on {POSS} head; heaving; badly with|wi"""),
    ),
    (
        "r:illness",
        2,
        _p(
            "off with anxiety|stress|depression; {POSS} anxiety; bad anxiety; "
            "anxiety attack*; anxiety is|has"
        ),
    ),
    (
        "r:illness",
        1,
        _p(
            "anxiety; anxious; struggling; rough; rotten; wiped out; washed out; "
            "drained; off colour; quiet; grumpy; clingy"
        ),
    ),
    (
        "r:medical",
        3,
        _p("""
        dentist*; dental; orthodont*; ortho; optician*; optometrist*; eye test; eye clinic;
        eye hospital; eye appointment; hearing test; audiology; audiologist; appointment*;
        clinic; check up; checkup; scan; mri; xray; ultrasound; ecg; eeg; blood test*; bloods;
        jab; jabs; vaccin*; immunis*; immuniz*; booster; injection*; therapy; therapist;
        physio*; speech and language; occupational therapy; paediatrician; pediatrician;
        paediatric*; paeds; consultant; specialist; outpatient*; teeth out; tooth out;
        extraction; a filling; fillings; brace; braces; assessment; grommets; podiatr*;
        chiropod*; dermatolog*; ent; cardiolog*; neurolog*; urolog*; allergy test;
        peanut challenge; food challenge; camhs appointment; at camhs; see the doctor|gp|nurse;
        seeing the doctor|gp|nurse; at the doctors|doctor|gp|surgery|dentist;
        to the doctors|doctor|gp|dentist; taking {OBJ} to the doctors|doctor|gp|hospital;
        doctors at; gp at; nurse appointment; health visitor; development centre;
        hearing aid*; ear clinic; fracture clinic; follow up"""),
    ),
    ("r:medical", 1, _p("camhs; doctor; doctors; gp; hospital; surgery; nurse; medical; glasses")),
    (
        "r:religious",
        3,
        _p("""
        eid*; diwali; deepavali; divali; vaisakhi; baisakhi; visakhi; gurpurab; gurpurb;
        guru nanak*; gurdwara; gurudwara; gurdwara; mandir; yom kippur; kippur; rosh hashan*;
        sukkot; succot; sukkos; passover; pesach; shavuot; simchat torah; ashura; majlis;
        muharram; navratri; navaratri; holi; janmashtami; dussehra; durga puja; puja; pooja;
        orthodox christmas; orthodox easter; our christmas; ethiopian christmas;
        coptic christmas; religious; holy day; day of obligation; ascension day;
        ash wednesday; lailat*; laylat*; mawlid; milad*; shul; synagogue; akhand path;
        hola mohalla; bandi chhor; chhath; onam; pongal; ugadi; vesak; wesak"""),
    ),
    (
        "r:religious",
        2,
        _p("at church; to church; mosque; masjid; temple; good friday; prayers; mass"),
    ),
    ("r:religious", 1, _p("church; ramadan; fasting; festival")),
    (
        "r:bereavement",
        3,
        _p("""
        funeral*; passed away; passed on; pass away; died; dies; death; bereave*; burial;
        buried; cremation; crematorium; lost {POSS} [great] {REL}; we lost; lost our [great]
        {REL}; lost my [great] {REL}; no longer with us; grieving; grief; memorial"""),
    ),
    ("r:bereavement", 1, _p("dead; sad news; mourning; loss; rip")),
    (
        "mask",
        9,
        _p("""
        sick of; sick and tired; sick leave; homesick; phone died; battery died; phone is dead;
        battery is dead; dead tired; dead excited; car|cars|motor|motors|van|engine died;
        car|motor|van s died; car|motor|van is|s dead; cold weather; the cold weather;
        so cold; too cold; freezing cold; cold outside; it s cold; is cold; the cold snap;
        straight away; right away; away from; school trip; dead keen; in the cold;
        away with|for work; away on business|a course|a work"""),
    ),
    (
        "r:holiday",
        3,
        _p("""
        holiday*; holliday*; hols; vacation; abroad; out of the country; overseas; disneyland;
        disney; disneyworld; center parcs; centre parcs; butlins; haven; caravan; camping;
        glamping; cruise; ski; skiing; ski trip; last minute deal; cheap flights;
        all inclusive; package holiday; term time; pay the|your|a|any fine|fines;
        get fined; be fined; fined; penalty notice; trip abroad; in|to|from|at {PLACE};
        visiting family|relatives|grandparents|{REL} in|abroad|back home"""),
    ),
    (
        "r:holiday",
        2,
        _p(
            "flew; fly; flying; flight*; airport; plane; passport; "
            "visiting family; visiting relatives; visiting grandparents; "
            "away with; away for; {PLACE}; visiting {REL}"
        ),
    ),
    ("r:holiday", 1, _p("travelling; travel; trip; away")),
    (
        "r:family_event",
        3,
        _p("""
        wedding*; weding; birthday; christening; baptism; naming ceremony;
        citizenship ceremony; graduation; anniversary; engagement party; party; mehndi;
        mehendi; nikah; walima; shaadi; shadi; barat; baraat; bar mitzvah; bat mitzvah;
        communion; family do; family occasion; family event; family celebration;
        family gathering; family visiting; family staying; family over; family are over;
        visitors; guests; reunion; celebration; celebrations"""),
    ),
    ("r:family_event", 1, _p("celebrat*; family")),
    (
        "r:day_out",
        3,
        _p("""
        day out; day trip; trip to; seaside; beach; the coast; zoo; safari; theme park;
        alton towers; legoland; thorpe park; drayton manor; flamingo land; chessington;
        blackpool; pleasure beach; cinema; bowling; soft play; girly day; girls day;
        boys day; mummy day; spa; pamper; concert; gig; a|the|dance show; panto; theatre;
        musical; football match; at the match; to the match; shopping; shops; go shopping;
        prom dress; dress shopping; new shoes; haircut; hair cut; hair done;
        hair appointment; hairdresser*; barber*; braid*; nails; nail appointment; eyebrows;
        lashes; tattoo; photo shoot; photoshoot; modelling; audition; filming; trial; races;
        day off; the day off; a day off; duvet day; mental health day; lie in; weather s nice;
        nice weather; sunny; sunshine"""),
    ),
    (
        "r:overslept",
        3,
        _p("""
        overslept; over slept; oversleep; slept in; sleep in; slept through; alarm;
        woke up late; woke late; late night; got back late; back really late; back late;
        not ready; was not ready; could not wake"""),
    ),
    (
        "r:tired",
        2,
        _p(
            "tired; exhausted; knackered; bad night; no sleep; not slept; "
            "did not sleep; needs a rest; let {OBJ} sleep; shattered; to rest; "
            "have a rest; resting; needs rest"
        ),
    ),
    (
        "r:transport",
        3,
        _p("""
        car broke down; car has broken down; car s broken down; broken down; broke down;
        car would not start; car will not start; car is not starting; flat tyre; puncture;
        car trouble; car problems; no car; car is in the garage; car in the garage;
        car|cars|motor|motors|van|engine died; car|motor|van s died; car|motor|van is|s dead;
        flat battery; battery is|s|went flat;
        missed the|{POSS}|our bus|train; bus did not come|turn; bus never came|turned|showed;
        bus was full; bus drove past; drove straight past; drove past; no buses; bus was late;
        train cancelled; train was cancelled; no way of getting {OBJ}; can not get {OBJ} in|to;
        no petrol; traffic"""),
    ),
    (
        "r:transport",
        1,
        _p("do not drive; can not drive; no car; no lift"),
    ),
    (
        "r:la_transport",
        4,
        _p("""
        {LAT} _3 did|has|have|had not come|turn|turned|arrive|arrived|show|shown|pick|picked|
        collect|collected|run|ran|been;
        {LAT} never came|turned|arrived|showed|picked|collected|come;
        {LAT} _2 not running; {LAT} _2 cancelled|broke|broken; {LAT} _2 no show; {LAT} let us down;
        {LAT} is|was|s not running|coming; no {LAT}; school bus _3 did|has not come|turn|arrive;
        school bus never came|turned; passenger assistant; transport team;
        {LAT} _3 failed to arrive|turn|come|show|collect; {LAT} not come|came|arrive|arrived|
        turned|showed; {LAT} _6 did not arrive|come|turn|show; {LAT} _5 never came|come|
        arrived|turned|showed"""),
    ),
    (
        "r:travel_disruption",
        4,
        _p("""
        road|roads _5 closed|shut|blocked|flooded|impassable; closed the _2 road|roads;
        snowed in; snowed up; snowed right in; nothing is|s running|moving; no buses or taxis; no buses running;
        no buses are|were running;
        not even the bus|buses; snow plough|plow; snowplough; the plough;
        road closure*; major incident; evacuat*; landslide; all buses cancelled;
        police have closed; bridge closed; we are cut off; is cut off; cut off by; no trains;
        trains are not running;
        buses are not running; buses not running; buses _3 cancelled|stopped;
        snow|snowed|snowing|flood|flooded|floods|ice|icy|storm _10 no buses|trains|bus;
        no buses|trains|bus _10 snow|snowed|snowing|flood|flooded|floods|ice|icy|storm;
        lane|lanes|hill|bank|pass|tunnel|tunnels|motorway|roads|road _2 shut|closed|blocked;
        closed|shut|close the _2 hill|bank|lane|lanes|pass|tunnel|tunnels;
        closed|shut _3 snow|ice|flood*|storm*|fog;
        snow|snowed|snowing|flood|flooded|floods|storm _8 closed|shut|blocked;
        no|nee buses|bus|trains _2 running|runnin|going|coming|comin|getting|moving;
        buses|bus|trains|metro|tram|trams _2 not|aint|ay|int|isnt|arent running|runnin;
        all the buses stop|stopped; turning people|cars|everyone|traffic back;
        shut|closed|blocked _2 road|roads|bridge|lane;
        bridge _3 shut|closed; nothing|nowt is|s moving|running|getting through;
        can not get through"""),
    ),
    ("r:travel_disruption", 2, _p("flood*")),
    (
        "r:weather",
        3,
        _p("""
        snow*; icy; ice rink; iced up; frost*; storm*; windy; gale*; rain; raining; weather;
        too hot; heatwave; the heat; slippy; black ice; fog; foggy; blizzard"""),
    ),
    (
        "r:caring",
        3,
        _p("""
        look after; looking after; looked after; care for; caring for; no one to; no one else;
        no childcare; childcare; babysit*; child minder; childminder; no one can;
        had to take {POSS} brother|sister; at|in the hospital with {POSS}|my {REL};
        in hospital with {POSS}|my {REL}; with my|{POSS} {REL} in|at [the] hospital;
        my {REL} is|s|has|was in|into hospital; {POSS} {REL} is|s|has|was in|into hospital;
        my {REL} has been taken; my {REL} s been taken;
        my|our|me|{POSS} {ELDER} _2 rushed|admitted|collapsed;
        my|our|me|{POSS} {ELDER} had a fall; my|our|me|{POSS} {ELDER} _3 into|in hospital;
        my {REL} was taken; {REL} taken into hospital; my {REL} is|s ill|poorly|sick|unwell;
        my {REL} is very ill|poorly|sick|unwell; help with the baby; with {POSS} nan;
        my appointment; my own appointment; i have a|an appointment; i have got a|an
        appointment; my hospital|doctors|dentist|gp appointment; i have an interview;
        my interview; i have got an interview; {POSS} sister|brother s|s appointment;
        come with us;
        coming with us; come with me; coming with me; tag along; had to come with;
        nobody can take; no one can take; can not do two|both; two drop offs; school run*;
        can not do the school|drop|pick; can not get {OBJ} to|into school"""),
    ),
    (
        "r:translating",
        3,
        _p(
            "translat*; interpret*; housing office; job centre; jobcentre; "
            "home office; visa; immigration; council office; solicitor*; "
            "court; benefits office"
        ),
    ),
    (
        "r:parent_ill",
        4,
        _p("""
        i am ill|sick|poorly|unwell; i am not well; i have been ill|sick|poorly|unwell;
        it s me that s|is ill|sick|poorly; me that s ill|sick|poorly;
        ill|sick|poorly not her|him|them; i can not get out of bed; i have not been well;
        i have got a|the bug|flu|covid|migraine|virus; i have a|the bug|flu|covid|migraine;
        i am in hospital; i am having an operation; i have had an operation; mum is ill|
        poorly|sick|unwell|in; mum s ill|poorly|sick|unwell|in; dad is ill|poorly|sick|unwell;
        i was sick; i am not well; i am really poorly; i m poorly"""),
    ),
    (
        "r:refusal",
        3,
        _p("""
        refus*; will not go; would not go; will not get up|out|dressed|in; would not get;
        does not want to go|come; did not want to go|come; not want to go|come;
        point blank; tantrum; kicking off; school refus*; anxious about going|coming|school;
        anxiety about going|coming|school; scared to go; scared of going; worried about going;
        picking on; picked on; bully*; bullied; hates school; hates it; does not like school;
        will not go in; would not go in; will not get in the car|van;
        would not get in the car|van; does not want to be at school"""),
    ),
    ("r:refusal", 1, _p("meltdown")),
    (
        "doubt",
        3,
        _p("""
        trying it on; try it on; putting it on; put it on; faking; fake; pretending;
        swinging the lead; i think {SUBJ} is|s fine|ok|alright|trying|faking;
        seems fine; seems ok; not convinced; do not believe {OBJ}; making it up; skiving;
        bunking; not really ill; not that ill; not really poorly; not that poorly"""),
    ),
    ("r:head_lice", 3, _p("nits; nit; head lice; lice; nitty")),
    ("r:uniform", 3, _p("uniform; no clean; wrong stuff; school shoes; pe kit; wrong clothes")),
    (
        "r:pet",
        3,
        _p(
            "{PET} _3 died|dead|passed|put|sleep|killed|missing; {PET} _3 ran|run over; "
            "put down; put to sleep; vets; vet"
        ),
    ),
    (
        "r:moving_house",
        3,
        _p(
            "moving house; moved house; house move; moving day; "
            "moving home; moving flat; new house; new flat; moving in"
        ),
    ),
    (
        "r:other_parent",
        3,
        _p("""
        {POSS}|the dad|mum|father|mother has|did|
        had not brought|taken|dropped {OBJ}; he|she has not brought|taken {OBJ};
        he|she did not bring|take {OBJ}; not brought {OBJ} in; contact weekend; ask him not me;
        ask her not me"""),
    ),
    ("r:other_parent", 1, _p("at {POSS} dad|mum s|house; at dad|mum s")),
    (
        "r:work",
        2,
        _p(
            "helping {POSS} dad|mum|uncle|grandad|nan|family; helping us|out|me; "
            "helping with; lambing; harvest; the farm; family business; "
            "working with; work with {POSS}"
        ),
    ),
    (
        "r:other",
        3,
        _p(
            "family reasons; personal reasons; family matters; family issues; "
            "family emergency; family problems; personal matters; family stuff; "
            "personal issues; something came up; family crisis"
        ),
    ),
    ("r:other", 2, _p("staying with|at {POSS} {REL}; gone to stay; went to stay")),
    (
        "r:other",
        1,
        _p(
            "emergency; stayed home; staying home; at home; packing; pack; buy; "
            "buying; bought; treat"
        ),
    ),
    (
        "r:traveller",
        4,
        _p(
            "the fair; with the fair; fairground; fairs; circus; showm*; "
            "traveller*; traveler*; gypsy; bargee*"
        ),
    ),
    ("r:interview", 4, _p("interview*")),
    (
        "r:excluded",
        4,
        _p("suspended; suspension; excluded; exclusion; exclude*; internal exclusion"),
    ),
]

GRAMMAR: list[tuple[str, int, list[str]]] = [
    (
        "late",
        3,
        _p("""
        on [the|our|my|his|her|their] way; be there in|by|at|for|about|around|asap|soon|
        shortly|as|before|after|when|once; be in by|at|about|around|after|later|soon|
        shortly|before|this; be in school by|for|at|after|later|this;
        bring|bringing|take|taking|drop|dropping|have {OBJ} [straight] [back] in|into
        after|later|at|for|by|about|around|this|now|soon|when|once|before|as|asap|shortly|
        straight|at|afterwards;
        bring|bringing|drop|dropping|take|taking {OBJ} [in] [to] [school] [straight] after|
        later|at|by|about|around|afterwards|when|once|as|asap|shortly|this;
        drop|dropping {OBJ} off [at|to] [school] after|later|at|by|about|around|this|now|
        soon|when|once|as|asap|in;
        bring|bringing {OBJ} [straight] in; bringing {OBJ} now; driving|drive|run|running {OBJ} in;
        walking through|into|in;
        just arrived; pulling up; nearly there; almost there; be with you; running late;
        running behind; will be late; be a bit late; be late; going to be late;
        coming in later|late|after|at|for|by|about|around; come in later|late|after;
        be coming in; in later; late in; sorry late;
        be in for about|around|lunch|dinner|afternoon|registration|half|quarter|#;
        be in after; in for lunch; in after lunch; in after dinner;
        in this afternoon; for the afternoon; for this afternoon; in for the afternoon;
        be there soon; be there shortly; be there asap; be there in; be there for;
        will be in soon; we are here; here now; at the gate|gates;
        leaving the house now; heading in now; on route to school; en route to school;
        be in as soon as; in as soon as [we|i] can; get {OBJ} there|in for|by|at|asap|soon;
        get {OBJ} to school for|by|asap|soon; minutes late|away|behind;
        in # mins|min|minutes; we late; we are late; we re late"""),
    ),
    (
        "absent",
        2,
        _p("""
        will not be in; not be in; not coming in; not coming to school; not going to school;
        not going in; not in today; not in school; not attending; not be attending;
        be off; is off; s off; off today; off school; off sick; stay|staying|stayed|stays
        [at] home|off|in; keep|keeping|kept|keeps {OBJ} [at] home|off|in|off; let|letting
        {OBJ} stay; day off; at home; home today; home with me; not make it; not making it;
        absent; not come in; not be coming; not able to come|attend; unable to attend|come;
        be away; away today; not be at school; not coming; not going; won t be in;
        will not be attending; will not make it; not be able to; not coming back; off all;
        no be in"""),
    ),
    (
        "request",
        3,
        _p("""
        can|could|may {SUBJ}|i|we have|take|get|go|miss|leave|finish|be|attend|book|come;
        is|would it be ok|okay|alright|possible|fine|allowed; is that ok|okay|alright|fine|
        allowed; would like to request|take|ask|apply; request*; permission; leave of absence;
        absence form; leave form; holiday form; form for leave|the|absence|holiday; apply for;
        authoris*; authoriz*; ask for time|leave|permission; can i request|ask|take|pick|
        collect|get; can {SUBJ} be excused; would it be possible; is it ok;
        hope that is ok; let me know if that is ok; am i allowed; are we allowed"""),
    ),
    (
        "leave_obj",
        1,
        _p("""
        off; time off; leave; out of school; take {OBJ} out; taking {OBJ} out; pick {OBJ} up;
        collect {OBJ}; finish early|at; leave early|at; miss; the day; days; absent; excused"""),
    ),
    (
        "past",
        1,
        _p(
            "yesterday; last week; last {DAY}; at the weekend; over the weekend; "
            "on saturday|sunday; earlier this week; ago; last time; the other day; "
            "was yesterday; last term"
        ),
    ),
    (
        "future",
        1,
        _p(
            "tomorrow; next; {DAY}; {FMONTH}; later this week; this coming; "
            "upcoming; in a few; the matinee; nearer the time; in advance; "
            "coming up"
        ),
    ),
    (
        "today",
        1,
        _p(
            "today; this morning; this afternoon; now; at the moment; right now; "
            "currently; all day; straight after; tonight"
        ),
    ),
    (
        "hypo",
        3,
        _p("""
        trying to get; try to get; try and get; can not get through; can not get an|a
        appointment; could not get; waiting for; waiting to hear; need to book; needs to see;
        going to ring|call|phone; will ring|call|phone; if; no appointment*; hoping to get;
        see if; may need; might need; might have to; next available; not until"""),
    ),
    (
        "cancelled",
        3,
        _p("cancel*; postponed; rearranged; rescheduled; called off; did not happen"),
    ),
    (
        "optout",
        5,
        _p("""
        unsubscribe; unsub; opt out; opt me out; stop texting|messaging|sending|contacting|
        txting|texts|text|messages|msgs|emailing|calling|ringing|these|this|sendin|textin|
        txtin|messagin; stop _2 texting|messaging|sending|contacting|sendin|textin;
        remove _2 number|me|details; take _2 number off|out; take me|us off _2 texts|
        messages|list|system; take this mobile|phone off; do not text|message|
        contact me; no more texts|messages; delete _2 number"""),
    ),
    (
        "meta",
        2,
        _p("""
        who is this; who s this; who are you; wrong number; wrong person; call me; ring me;
        phone me; will ring|call|phone; i will explain; explain later; already told|emailed|
        rang|called|phoned|spoke|informed|messaged|let|sent|reported; rang this morning;
        left a message; speak to {POSS} dad|mum; not my week; ask {POSS} dad|mum; noted;
        ok; okay; yes; yeah; yep; no; nope; thanks; thank you; received; got it; will do;
        at work; driving; busy; what; huh; sorry what; i rang; i called; i phoned; i emailed;
        message; email"""),
    ),
    (
        "child_author",
        1,
        _p("""
        it s me; this is me; my mum|dad said|says|told|knows|is|let|lets; i will not be in;
        i am not coming in|to; i can not come in; i do not feel well|good; i feel sick|ill|
        poorly|rough|unwell; i am ill|sick|poorly|unwell; i am not well; please tell miss|mrs|mr|
        sir; tell miss|mrs|mr|sir; can you tell miss|mrs|mr|sir"""),
    ),
    (
        "went_home",
        1,
        _p(
            "turned round|around; brought {OBJ} home|back; took {OBJ} home|back; "
            "taken {OBJ} home|back; sent home; went home; came home; go home"
        ),
    ),
    (
        "collective",
        1,
        _p(
            "both; all 3|three|2|two|4|four|of them; the kids; the children; "
            "the boys; the girls; twins; all of them"
        ),
    ),
]


def _all_tables() -> list[tuple[str, int, list[str]]]:
    places = [
        ("r:holiday", 3, [f"in|to|from|at {p}" for p in PLACES_N]),
        ("r:holiday", 2, PLACES_N),
        (
            "sg:leaving_country",
            4,
            [f"moved|moving|relocated|emigrated [back] to {p}" for p in PLACES_N],
        ),
    ]
    return [*REASONS, *GRAMMAR, *SG_CUES, *FOREIGN_CUES, *places]


MATCHER = Matcher(_all_tables(), MACROS)

# Canonical spellings that misspellings and autocorrect are repaired to.  Kept to words of
# six letters or more: shorter words have too many real-word neighbours to guess safely.
FUZZY_TARGETS: tuple[str, ...] = tuple(
    sorted(
        words("""
    temperature appointment appointments tonsillitis chickenpox conjunctivitis diarrhoea
    vomiting vomited sickness poorly unwell headache migraine stomach orthodontist
    orthodontics dentist dentists optician opticians hospital doctors funeral wedding
    holiday holidays infection antibiotics paracetamol impetigo eczema asthma
    temperatures fever feverish coughing cough coughs sneezing earache toothache
    glandular scarlet measles norovirus covid influenza bronchiolitis bronchitis
    pneumonia conjunctivitis tonsils sprained fractured concussion operation
    appendicitis admitted physiotherapy therapy paediatrician consultant vaccination
    vaccinations injection assessment outpatients clinic passed grandad grandma
    christening birthday religious mosque gurdwara synagogue diwali vaisakhi
    overslept refusing refused refuses bullied unsubscribe suspended excluded interview
    transport minibus traveller chesty bereavement cremation grieving stomachache
    tummyache nauseous dehydrated exhausted seizure epilepsy diabetes allergic hayfever
    hives laryngitis sinusitis croup shingles threadworms constipated check-up
    ultrasound bloods jabs physio speech optometrist audiology paediatrics
""")
    )
)

_FUZZY_BUCKETS: dict[str, tuple[str, ...]] = {}
for _t in FUZZY_TARGETS:
    _FUZZY_BUCKETS[_t[0]] = (*_FUZZY_BUCKETS.get(_t[0], ()), _t)

# Common words that sit one typo from a target and must be left alone.
COMMON = words("""
    fright flights friday father mother sister brother cousins couple second seconds
    school should shouldn little better letter matter bitter sitter settle single
    things thinks thanks though through thought taught caught bought brought enough
    anyway always almost already around across before behind between during
    morning evening tonight tomorrow today yesterday afternoon weekend
    really pretty bright mighty nights lights sights fights rights tights
    please pleased hoping having saying seeing coming going doing making taking
    dropping picking sending keeping getting putting sitting letting setting
    struggling starving stomachs wanted wanting waiting working walking talking
    worried worries sorted sorting started starting stopped stopping passes passed
    parents parent family families friend friends friends' office offices
    messages message emailed texted called calling phoned phoning ringing rang
    nursery college academy teacher teachers classes lesson lessons
    mental health weather sunday monday tuesday wednesday thursday saturday
    coughed tonight holding holdall hotter hollow wedded weeding wending
    clinical clinics hospice hostel hostile dentistry dentures
""")


@lru_cache(maxsize=8192)
def correct(token: str) -> str | None:
    """The vocabulary word a misspelt token most likely stands for, or None."""
    if len(token) < 6 or not token.isalpha() or token in COMMON:
        return None
    bucket = _FUZZY_BUCKETS.get(token[0])
    if not bucket:
        return None
    limit = 1 if len(token) < 9 else 2
    found = process.extractOne(token, bucket, scorer=OSA.distance, score_cutoff=limit)
    if found is None or found[0] == token:
        return None
    return found[0]


# Autocorrect turns "sick" into "sock" and "bug" into "big": real words, so they are only
# repaired inside the frames where the illness word is expected.
_FRAMES: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    (
        "sick",
        words("been being was feels feel feeling felt off is"),
        words("twice everywhere again all"),
    ),
    ("bug", words("tummy stomach sickness vomiting winter"), words("going thats")),
    (
        "cough",
        words("bad nasty horrible chesty dry tickly awful terrible hacking barking"),
        frozenset(),
    ),
)


_FRAME_BEFORE = frozenset(w for _t, before, _a in _FRAMES for w in before)
_FRAME_AFTER = frozenset(w for _t, _b, after in _FRAMES for w in after)


def repair_frames(tokens: list[str]) -> set[int]:
    changed: set[int] = set()
    # Only positions next to a frame word can need repair; find those first.
    spots = {i + 1 for i, t in enumerate(tokens) if t in _FRAME_BEFORE}
    spots |= {j for i, t in enumerate(tokens) if t in _FRAME_AFTER for j in range(i - 3, i)}
    for i in sorted(spots):
        if i < 0 or i >= len(tokens):
            continue
        tok = tokens[i]
        if len(tok) < 3 or len(tok) > 5 or not tok.isalpha():
            continue
        prev = tokens[i - 1] if i > 0 else ""
        for target, before, after in _FRAMES:
            if tok == target or len(tok) != len(target):
                continue
            if not (prev in before or any(t in after for t in tokens[i + 1 : i + 4])):
                continue
            if OSA.distance(tok, target, score_cutoff=1) <= 1:
                tokens[i] = target
                changed.add(i)
                break
    return changed


def is_known(token: str) -> bool:
    return token in MATCHER.literals or token in COMMON
