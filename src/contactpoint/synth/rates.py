"""Every rate the synthetic population and its feeds are drawn with, in one place.

The benchmarks built on this data (identity resolution precision and recall,
search, coverage of the children hardest to reach) mean something only if a
reader can see exactly what was injected. So every share, coverage and error rate
lives here, docs/synthetic-data.md quotes them, and tests/synth holds the
generated data to them. Change a number here and the docs table with it.

Sources for the orders of magnitude (rounded, England, recent years): ONS
mid-year population estimates and births; ONS Families and Households; DfE
Children Looked After, Characteristics of Children in Need, School Census and
Elective Home Education statistics; Home Office asylum statistics; ISC census of
independent schools. The numbers are deliberately round: they are targets for a
plausible synthetic England, not statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# --- Population -----------------------------------------------------------------

AGE_WEIGHTS: Final[tuple[float, ...]] = (
    # Children of each single year of age 0..17, thousands (ONS-like, mid-2020s):
    # about 560-600 thousand births a year now, a little more in the older cohorts.
    578, 594, 605, 615, 630, 645, 660, 675, 685, 690, 695, 700, 695, 690, 680, 670, 660, 650,
)  # fmt: skip
"""Relative number of children at each age 0..17; dates of birth spread evenly over each year."""

MALE_SHARE: Final = 0.512
"""Sex ratio at birth of about 105 boys to 100 girls."""

FAMILY_BIRTHS: Final[tuple[tuple[int, float], ...]] = (
    (1, 0.44),
    (2, 0.40),
    (3, 0.12),
    (4, 0.03),
    (5, 0.01),
)
"""Maternities per family (ONS: 44% of families with dependent children have one child)."""

TWIN_BIRTH_RATE: Final = 0.015
"""Share of maternities that are twins (so about 3% of children are twins)."""

SAME_SEX_TWIN_SHARE: Final = 0.67
"""Identical twins and half of fraternal twins are the same sex."""

SHARED_TWIN_MIDDLE_NAME: Final = 0.15
"""Twins who share a middle name (the given names still differ in the first)."""

BIRTH_GAP_MIN_DAYS: Final = 300
BIRTH_GAP_MEAN_EXTRA_DAYS: Final = 800
"""Spacing of siblings: at least ~10 months, median a little under three years."""

FAMILY_TYPES: Final[tuple[tuple[str, float], ...]] = (
    ("couple", 0.705),
    ("stepfamily", 0.08),
    ("lone_mother", 0.175),
    ("lone_father", 0.02),
    ("kinship", 0.015),
    ("two_mothers", 0.005),
)
"""Who the children live with (kinship: a grandparent or aunt brings them up)."""

MARRIED_SHARE: Final = 0.62
"""Couples who are married (the rest cohabit)."""

WIFE_TAKES_NAME: Final = 0.85
"""Married mothers who took their husband's surname."""

CHILD_SURNAME_UNMARRIED: Final[tuple[tuple[str, float], ...]] = (
    ("father", 0.76),
    ("mother", 0.18),
    ("double", 0.06),
)
"""The surname an unmarried couple's children get; 'double' is hyphenated, mother's first."""

DOUBLE_SURNAME_MARRIED: Final = 0.02
"""Married couples who give their children both surnames, hyphenated."""

MIXED_ORIGIN_COUPLES: Final = 0.10
"""Couples whose two parents come from different naming traditions."""

SURNAME_CHANGE_STEPFAMILY: Final = 0.18
"""Stepfamilies whose children took the stepfather's surname (alone or hyphenated)."""

SURNAME_CHANGE_LONE_MOTHER: Final = 0.03
"""Lone mothers whose children changed to her own surname. With the stepfamilies, about
2% of families changed their children's surname within the last six years."""

SURNAME_CHANGE_WITHIN_DAYS: Final = 6 * 365

MOVED_SHARE: Final = 0.18
"""Families that moved house within the last three years (their old address lingers)."""

MOVED_WITHIN_DAYS: Final = 3 * 365
MOVED_OUT_OF_AREA: Final = 0.30
"""Of those moves, the share that crossed into another local authority."""

FLAT_SHARE: Final = 0.18
HOUSE_NAME_SHARE: Final = 0.02

MIDDLE_NAMES: Final[tuple[tuple[int, float], ...]] = ((0, 0.25), (1, 0.65), (2, 0.10))
"""How many middle names a child has."""

HYPHENATED_GIVEN: Final = {"F": 0.05, "M": 0.02}
"""English-tradition children with a compound given name (Lily-Mae, Alfie-James)."""

PREFERRED_NAME_SHARE: Final = 0.12
"""Children with a familiar form of their first name whose first name has one, who go by it."""

MIDDLE_NAME_PREFERRED: Final = 0.5
"""Boys registered Muhammad (or a spelling of it) then a second name who go by the second."""

NAME_RANK_OFFSET: Final = 8.0
"""Name weights are 1 / (rank + offset): a Zipf-like skew where common names are common."""

SURNAME_TAIL_SHARE: Final = 0.30
"""English-tradition surnames drawn from the long tail of composed toponymic names."""

NAME_ORIGINS: Final[tuple[tuple[str, float, float], ...]] = (
    # (naming tradition, share of families, chance each given name is from the English list)
    ("english", 0.585, 1.0),
    ("welsh", 0.015, 0.45),
    ("scottish", 0.025, 0.55),
    ("irish", 0.030, 0.45),
    ("south_asian_muslim", 0.075, 0.03),
    ("south_asian_hindu_sikh", 0.040, 0.15),
    ("arabic", 0.025, 0.05),
    ("west_african", 0.035, 0.55),
    ("east_african", 0.020, 0.10),
    ("polish", 0.025, 0.15),
    ("romanian_bulgarian", 0.020, 0.15),
    ("baltic", 0.008, 0.15),
    ("russian_ukrainian", 0.007, 0.10),
    ("chinese", 0.008, 0.50),
    ("southern_european", 0.020, 0.25),
    ("western_european", 0.010, 0.20),
    ("turkish_kurdish", 0.010, 0.10),
    ("afghan_iranian", 0.006, 0.05),
    ("vietnamese", 0.002, 0.20),
    ("albanian", 0.003, 0.10),
    ("filipino", 0.004, 0.50),
    ("thai", 0.001, 0.40),
)
"""Naming traditions of England's families, roughly after the 2021 Census for children."""

FEMALE_SURNAME_FORM_SHARE: Final = MappingProxyType(
    {
        "polish": 1.0,
        "baltic": 1.0,
        "russian_ukrainian": 1.0,
        "romanian_bulgarian": 1.0,
        "southern_european": 1.0,
        "south_asian_hindu_sikh": 0.7,
        "south_asian_muslim": 0.4,
    }
)
"""How often a girl carries the female form of a surname that has one (Kowalska, Kaur, Begum)."""

SPANISH_DOUBLE_SURNAME: Final = 0.15
"""Southern European children registered with two surnames (García López)."""

# --- Children the index is most likely to miss (shares of all children) ----------

UASC_SHARE: Final = 0.0005
"""Unaccompanied asylum-seeking children: about 0.05%, mostly boys aged 14-17."""

UASC_AGES: Final[tuple[tuple[int, float], ...]] = (
    (12, 0.02), (13, 0.03), (14, 0.08), (15, 0.17), (16, 0.35), (17, 0.35),
)  # fmt: skip
UASC_MALE_SHARE: Final = 0.92
UASC_DOB_UNCERTAIN: Final = 0.60
"""Their date of birth is assessed, and then usually recorded as 1 January."""

UASC_HAS_NHS_NUMBER: Final = 0.50
"""Recently arrived: half have no NHS number yet."""

UASC_LOOKED_AFTER: Final = 0.85
UASC_ORIGINS: Final[tuple[tuple[str, float], ...]] = (
    ("afghan_iranian", 0.32),
    ("east_african", 0.25),
    ("arabic", 0.15),
    ("turkish_kurdish", 0.10),
    ("albanian", 0.10),
    ("vietnamese", 0.08),
)
"""Where unaccompanied children come from: Afghanistan and Iran, Eritrea and Sudan, ..."""

UASC_CLAIMED_DOB_IN_OTHER_SOURCES: Final = 0.40
"""Where the date of birth was assessed, other sources often hold the date the child gave."""

OVERSEAS_STUDENT_SHARE: Final = 0.0025
"""Overseas pupils at English boarding schools whose parents live abroad (ages 11-17)."""

OVERSEAS_ORIGINS: Final[tuple[tuple[str, float], ...]] = (
    ("chinese", 0.45),
    ("west_african", 0.15),
    ("russian_ukrainian", 0.10),
    ("southern_european", 0.10),
    ("western_european", 0.08),
    ("arabic", 0.08),
    ("thai", 0.04),
)

TRAVELLER_FAMILY_SHARE: Final = 0.003
"""Gypsy, Roma and Traveller families (about 0.3% of children)."""

TRAVELLER_ROADSIDE: Final = 0.15
"""Traveller families on the roadside, with no fixed abode."""

TRAVELLER_ON_SITE: Final = 0.65
"""Traveller families on a site (the rest live in housing)."""

NO_FIXED_ABODE_FAMILY_SHARE: Final = 0.0005
"""Other families with no fixed abode (sofa-surfing, street homeless)."""

MISSING_SHARE: Final = 0.001
"""Children currently missing (runaways and children missing education), all aged 10-17."""

MISSING_MIN_AGE: Final = 10

YOUTH_OFFENDING_SHARE: Final = 0.0015
"""Children working with a youth offending team, all aged 10-17."""

# Social care, decided for a whole family (siblings are usually dealt with together):
LOOKED_AFTER_FAMILY_SHARE: Final = 0.0078
LOOKED_AFTER_SIBLING: Final = 0.85
"""Children in such a family who are looked after (so about 0.7% of children with UASC)."""

CHILD_PROTECTION_FAMILY_SHARE: Final = 0.004
"""Children on a child protection plan: about 0.4%."""

CHILD_IN_NEED_FAMILY_SHARE: Final = 0.025
"""Other children in need with an open social care case: about 2.5%."""

EARLY_HELP_FAMILY_SHARE: Final = 0.020
"""Children with an early help assessment and a lead professional: about 2%."""

PLACED_OUT_OF_AREA: Final = 0.40
"""Looked-after children placed outside their own local authority."""

SENSITIVE_SERVICES: Final[tuple[tuple[str, float, int], ...]] = (
    # (service type, share of children the LA works with, minimum age)
    ("camhs", 0.20, 5),
    ("sexual_health", 0.06, 13),
    ("substance_misuse", 0.05, 12),
)
"""Sensitive services the local authority records for the children it works with."""

CONSENT_TO_SHOW: Final[tuple[tuple[bool | None, float], ...]] = (
    (True, 0.45),
    (False, 0.35),
    (None, 0.20),
)
"""The child's consent to show a sensitive service: given, refused, not yet asked."""

# --- Coverage: which children each source holds ------------------------------------

CHILD_BENEFIT_COVERAGE: Final = 0.93
"""Children under 16 whose family claims child benefit."""

CHILD_BENEFIT_COVERAGE_16_17: Final = 0.78
"""Child benefit continues past 16 only in approved education or training."""

CHILD_BENEFIT_NEWBORN_DAYS: Final = 56
CHILD_BENEFIT_NEWBORN_COVERAGE: Final = 0.45
"""Claims for babies under eight weeks old are often not made yet."""

CHILD_BENEFIT_LOOKED_AFTER: Final = 0.10
"""Child benefit stops for a looked-after child; a few claims are not yet stopped."""

STATE_SCHOOL_SHARE: Final = 0.925
"""Pupils of compulsory school age (reception to year 11) in state-funded schools, which
send the pupil-level census; the rest are at independent schools (6.5%) or home
educated (1%)."""

SIXTH_FORM_IN_SCHOOL: Final = 0.40
"""Children in years 12-13 who are in a school sixth form (the rest are at college,
in work or training)."""

SCHOOL_SHARE_TRAVELLER: Final = 0.75
SCHOOL_SHARE_MISSING: Final = 0.50
SCHOOL_SHARE_NO_FIXED_ABODE: Final = 0.80
SCHOOL_SHARE_UASC_UNDER_16: Final = 0.50
SCHOOL_SHARE_UASC_16_17: Final = 0.20
SIBLINGS_SAME_PRIMARY: Final = 0.90
HOME_EDUCATED_OF_OTHERS: Final = 0.13
"""Of compulsory-age children not in a state school, the share home educated (the rest
are at independent schools)."""

SCHOOL_KEPT_AFTER_LOCAL_MOVE: Final = 0.60
"""Children who moved within their local authority and stayed at the same school."""

PDS_COVERAGE: Final = 0.995
"""Children with an NHS number, so on the Personal Demographics Service (the rest were
born abroad and never registered)."""

GP_REGISTERED: Final = 0.98
"""Children with an NHS number who are registered with a GP practice."""

PDS_COVERAGE_OVERSEAS_STUDENT: Final = 0.75
"""Overseas boarders registered with the school's GP."""

PDS_RECORDS_NO_FIXED_ABODE: Final = 0.50
"""Children of no fixed abode whom PDS records as such; the rest keep the last known address
(as child benefit and schools do; the local authority records no fixed abode)."""

HEALTH_VISITOR_UNDER_5: Final = 0.80
"""Under-fives whose NHS record names a health visitor."""

LA_COVERAGE: Final = MappingProxyType(
    {
        "looked_after": 1.0,
        "child_protection_plan": 1.0,
        "child_in_need": 1.0,
        "early_help": 1.0,
        "youth_offending": 1.0,
        "unaccompanied_asylum_seeking": 1.0,
        "missing": 1.0,
        "no_fixed_abode": 1.0,
        "traveller": 0.35,
        "overseas_student": 0.50,
    }
)
"""Of each group, the share a local authority holds a record for."""

LA_SCHOOL_LISTED: Final = 0.50
"""Local authority records that also name the child's school."""

EARLY_HELP_LEAD_PROFESSIONAL: Final = 0.70
"""Early help cases with a named lead professional (social care cases always have one)."""

LA_RECORD_LEFT_BEHIND: Final = 0.30
"""Children known to an LA who moved to another: the old LA's record is still there."""

# --- Duplicate records within one source -----------------------------------------

DUPLICATE_RECORD: Final = MappingProxyType(
    {"child-benefit": 0.001, "school-census": 0.003, "nhs-pds": 0.0015, "local-authority": 0.006}
)
"""Children a source holds twice under two record ids (dual registration, a second claim,
a PDS duplicate; a duplicate in PDS carries a second NHS number)."""


# --- Errors ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoiseRates:
    """The error profile of one source. Each rate is per line where the error can apply.

    Conditional rates say so: ``variant_spelling`` applies only to names with another
    spelling, ``stale_address`` only to children who moved, and so on.
    """

    typo_given: float
    """A keyboard slip in a given name: a neighbouring key, a dropped, doubled or swapped letter."""
    typo_family: float
    ocr: float
    """A scanning confusion (rn/m, cl/d, li/h, vv/w, e/c...) in a name: paper claim forms."""
    nickname_given: float
    """The familiar form typed in place of the legal first name (Bill for William); of
    children whose first name has one."""
    variant_spelling: float
    """Another spelling of a name (Mohammed/Muhammad); of names that have one."""
    names_swapped: float
    """Given and family names entered the wrong way round."""
    middle_names_dropped: float
    """Only the first given name kept; of children with middle names."""
    compound_surname_simplified: float
    """A hyphenated or two-part surname cut to one part or re-punctuated."""
    diacritics_dropped: float
    """Zoë to Zoe, Łukasz to Lukasz; of lines whose names have diacritics."""
    punctuation: float
    """O'Brien to OBrien or O Brien; of names with an apostrophe."""
    case: float
    """Names in capitals (legacy systems) or lower case."""
    double_space: float
    """An inner double space between names."""
    dob_day_month_swapped: float
    """Day and month transposed; of dates where that makes another valid past date."""
    dob_typo: float
    """One day or one year out."""
    gender_unknown: float
    address_missing: float
    postcode_missing: float
    stale_address: float
    """The address before the last move; of children who moved in the last three years."""
    old_surname: float
    """The surname before the last change; of children whose surname changed."""
    former_names_listed: float
    """Of children whose surname changed, lines that list the former name."""
    preferred_name_listed: float
    """Of children who go by a preferred name, lines that record it."""
    nhs_number_omitted: float
    """Of children with an NHS number, lines that leave it out. Only nhs-pds and
    local-authority carry NHS numbers at all; PDS never leaves it out."""
    upn_listed: float
    """Of children with a UPN, lines that carry it. Only school-census (always) and
    local-authority carry UPNs."""


NOISE: Final = MappingProxyType(
    {
        "child-benefit": NoiseRates(
            typo_given=0.006,
            typo_family=0.005,
            ocr=0.004,
            nickname_given=0.004,
            variant_spelling=0.02,
            names_swapped=0.002,
            middle_names_dropped=0.05,
            compound_surname_simplified=0.15,
            diacritics_dropped=0.40,
            punctuation=0.10,
            case=0.10,
            double_space=0.01,
            dob_day_month_swapped=0.003,
            dob_typo=0.002,
            gender_unknown=0.002,
            address_missing=0.005,
            postcode_missing=0.01,
            stale_address=0.15,
            old_surname=0.30,
            former_names_listed=0.20,
            preferred_name_listed=0.0,
            nhs_number_omitted=0.0,
            upn_listed=0.0,
        ),
        "school-census": NoiseRates(
            typo_given=0.008,
            typo_family=0.007,
            ocr=0.0,
            nickname_given=0.03,
            variant_spelling=0.03,
            names_swapped=0.002,
            middle_names_dropped=0.08,
            compound_surname_simplified=0.10,
            diacritics_dropped=0.10,
            punctuation=0.05,
            case=0.02,
            double_space=0.01,
            dob_day_month_swapped=0.003,
            dob_typo=0.002,
            gender_unknown=0.001,
            address_missing=0.01,
            postcode_missing=0.005,
            stale_address=0.25,
            old_surname=0.15,
            former_names_listed=0.30,
            preferred_name_listed=0.80,
            nhs_number_omitted=0.0,
            upn_listed=1.0,
        ),
        "nhs-pds": NoiseRates(
            typo_given=0.004,
            typo_family=0.003,
            ocr=0.001,
            nickname_given=0.003,
            variant_spelling=0.015,
            names_swapped=0.001,
            middle_names_dropped=0.03,
            compound_surname_simplified=0.12,
            diacritics_dropped=0.30,
            punctuation=0.08,
            case=0.03,
            double_space=0.005,
            dob_day_month_swapped=0.001,
            dob_typo=0.001,
            gender_unknown=0.001,
            address_missing=0.005,
            postcode_missing=0.005,
            stale_address=0.35,
            old_surname=0.40,
            former_names_listed=0.50,
            preferred_name_listed=0.10,
            nhs_number_omitted=0.0,
            upn_listed=0.0,
        ),
        "local-authority": NoiseRates(
            typo_given=0.012,
            typo_family=0.010,
            ocr=0.002,
            nickname_given=0.04,
            variant_spelling=0.05,
            names_swapped=0.004,
            middle_names_dropped=0.40,
            compound_surname_simplified=0.20,
            diacritics_dropped=0.25,
            punctuation=0.10,
            case=0.05,
            double_space=0.02,
            dob_day_month_swapped=0.005,
            dob_typo=0.004,
            gender_unknown=0.01,
            address_missing=0.04,
            postcode_missing=0.03,
            stale_address=0.10,
            old_surname=0.10,
            former_names_listed=0.60,
            preferred_name_listed=0.60,
            nhs_number_omitted=0.25,
            upn_listed=0.50,
        ),
    }
)
"""Error profile of each source, keyed by the feed's source name."""

SOURCES: Final[tuple[str, ...]] = ("child-benefit", "school-census", "nhs-pds", "local-authority")
