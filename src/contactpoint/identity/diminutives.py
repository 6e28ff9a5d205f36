"""Short forms of given names in everyday use in England that the ``nicknames``
dataset, compiled from American usage, does not know.

Hand-written for ContactPoint from common British, Irish, Welsh, Polish and
Arabic usage (Olly for Oliver, Livvy for Olivia, Alfie for Alfred, Gosia for
Małgorzata, Kuba for Jakub, Mo for Muhammad), not taken from the synthetic
generator's lists. Names are in normal form (``normalise_name``).

Each short form is related only to the formal names listed beside it, never
through them to each other: Charlie is a short form of both Charles and
Charlotte, but that does not make Charles and Charlotte one name, so twins
given those names stay apart.
"""

from __future__ import annotations

from typing import Final

DIMINUTIVES: Final[dict[str, tuple[str, ...]]] = {
    # boys
    "alfie": ("alfred",),
    "archie": ("archibald",),
    "bertie": ("albert", "herbert", "bertram"),
    "billy": ("william",),
    "charlie": ("charles", "charlotte"),
    "danny": ("daniel",),
    "eddie": ("edward", "edmund"),
    "freddie": ("frederick", "alfred"),
    "freddy": ("frederick", "alfred"),
    "gus": ("angus", "augustus"),
    "jake": ("jacob",),
    "jamie": ("james",),
    "jim": ("james",),
    "jimmy": ("james",),
    "joe": ("joseph",),
    "josh": ("joshua",),
    "kit": ("christopher",),
    "matty": ("matthew",),
    "max": ("maximilian", "maxwell"),
    "mo": ("mohammed", "mohammad", "mohamed", "muhammad", "muhammed", "mohamad"),
    "nat": ("nathan", "nathaniel", "natalie", "natasha"),
    "ned": ("edward", "edmund"),
    "olly": ("oliver",),
    "ollie": ("oliver",),
    "paddy": ("patrick",),
    "robbie": ("robert",),
    "seb": ("sebastian",),
    "stan": ("stanley",),
    "teddy": ("edward", "theodore"),
    "theo": ("theodore",),
    "tommy": ("thomas",),
    "zac": ("zachary", "zakaria", "zakariya", "zachariah"),
    "zach": ("zachary", "zachariah"),
    "zack": ("zachary", "zakaria", "zakariya"),
    "zak": ("zachary", "zakaria", "zakariya", "zakariyya", "zachariah"),
    "dai": ("david",),
    # girls
    "abbie": ("abigail",),
    "abby": ("abigail",),
    "annie": ("anna", "anne", "annabel", "annabelle"),
    "bella": ("isabella", "arabella", "isabelle", "annabella"),
    "cassie": ("cassandra",),
    "ellie": ("eleanor", "elena", "ellen", "elinor"),
    "evie": ("evelyn", "eve"),
    "flo": ("florence",),
    "flossie": ("florence",),
    "frankie": ("francesca", "frances", "francis"),
    "gracie": ("grace",),
    "hattie": ("harriet",),
    "issy": ("isabel", "isabella", "isabelle", "isobel"),
    "izzy": ("isabel", "isabella", "isabelle", "isobel"),
    "jess": ("jessica",),
    "jessie": ("jessica",),
    "josie": ("josephine",),
    "kate": ("katherine", "catherine", "kathryn", "katharine"),
    "katie": ("katherine", "catherine", "kathryn", "katharine"),
    "lexi": ("alexa", "alexandra", "alexis"),
    "lexie": ("alexa", "alexandra", "alexis"),
    "libby": ("elizabeth", "liberty"),
    "liv": ("olivia",),
    "livvy": ("olivia",),
    "livvie": ("olivia",),
    "lizzie": ("elizabeth",),
    "lottie": ("charlotte",),
    "maddie": ("madison", "madeleine", "madeline"),
    "maddy": ("madison", "madeleine", "madeline"),
    "millie": ("amelia", "camilla", "mildred"),
    "molly": ("mary",),
    "nell": ("eleanor", "helen", "ellen"),
    "nellie": ("eleanor", "helen", "ellen"),
    "pippa": ("philippa",),
    "rosie": ("rose", "rosalind", "rosemary", "rosalie"),
    "sophie": ("sophia",),
    "tilly": ("matilda",),
    "tillie": ("matilda",),
    "vicky": ("victoria",),
    "vikki": ("victoria",),
    # Polish
    "basia": ("barbara",),
    "bartek": ("bartlomiej",),
    "gosia": ("malgorzata",),
    "kasia": ("katarzyna",),
    "krzys": ("krzysztof",),
    "kuba": ("jakub",),
    "maciek": ("maciej",),
    "magda": ("magdalena",),
    "ola": ("aleksandra",),
    "tomek": ("tomasz",),
    "wojtek": ("wojciech",),
    "zosia": ("zofia",),
    # Russian and Ukrainian
    "sasha": ("alexander", "alexandra", "aleksandr", "oleksandr", "oleksandra"),
    "misha": ("mikhail", "mykhailo"),
    "dima": ("dmitri", "dmitry"),
}


def _pairs() -> frozenset[tuple[str, str]]:
    pairs = set()
    for short, formal_names in DIMINUTIVES.items():
        for formal in formal_names:
            pairs.add((short, formal))
            pairs.add((formal, short))
    return frozenset(pairs)


PAIRS: Final = _pairs()
"""(a, b) for every short form and each of its formal names, both ways round."""
