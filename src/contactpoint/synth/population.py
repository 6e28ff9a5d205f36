"""The true population: households of children, generated one at a time.

This is the ground truth the feeds are noisy copies of. It is generated family
by family (never the whole population at once, so eleven million children fit
in bounded memory), and it decides everything that is a fact about a child:
who they are, where they live and lived, who cares for them, which school and
practice they attend, which organisations know them. The feeds (``sources.py``)
then decide only how each organisation writes that down.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar

from contactpoint.synth import rates
from contactpoint.synth.dates import Calendar
from contactpoint.synth.draws import between, choice, index
from contactpoint.synth.identifiers import DUPLICATE_NHS_START, NhsNumbers, Upns
from contactpoint.synth.institutions import Directory, Institution
from contactpoint.synth.names import NameBank, fold_diacritics
from contactpoint.synth.places import Address, LocalAuthority, Places

T = TypeVar("T")

MUHAMMAD = frozenset({"Muhammad", "Mohammed", "Mohammad", "Mohamed", "Muhammed"})
_NOT_IN_EMAIL = str.maketrans("", "", "'’- ")
CIRCUMSTANCE_ORDER = (
    "unaccompanied_asylum_seeking",
    "missing",
    "looked_after",
    "child_protection_plan",
    "overseas_student",
    "traveller",
)


@dataclass(slots=True, eq=False)
class Carer:
    given: str
    family: str
    relationship: str
    parental_responsibility: bool
    address: Address | None = None
    """None when the carer lives with the child."""
    phone: str | None = None
    email: str | None = None

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


@dataclass(slots=True, eq=False)
class Child:
    """Everything true about one child, as of the reference day (dates are ordinals)."""

    person_id: str
    family_id: str
    sex: str
    given_names: list[str]
    family_name: str
    date_of_birth: int
    origin: str
    la: LocalAuthority
    """The local authority responsible for the child (a looked-after child may live elsewhere)."""
    address: Address | None
    previous_address: Address | None = None
    moved_on: int | None = None
    former_family_names: list[str] = field(default_factory=list)
    surname_changed_on: int | None = None
    preferred_name: str | None = None
    dob_uncertain: bool = False
    claimed_dob: int | None = None
    nhs_number: str | None = None
    upn: str | None = None
    twin_of: str | None = None
    no_fixed_abode: bool = False
    circumstances: list[str] = field(default_factory=list)
    social_care: str | None = None
    social_care_since: int | None = None
    youth_offending_since: int | None = None
    sensitive: list[tuple[str, bool | None, int]] = field(default_factory=list)
    education: str = "under_school_age"
    school: Institution | None = None
    school_start: int | None = None
    gp: Institution | None = None
    gp_since: int | None = None
    health_visitor: Institution | None = None
    carers: list[Carer] = field(default_factory=list)
    claimant: Carer | None = None
    """The child benefit claimant; None when no claim is in payment."""
    la_known: bool = False
    """Whether the local authority holds a record of the child."""

    @property
    def gender(self) -> str:
        return "female" if self.sex == "F" else "male"


@dataclass(slots=True, eq=False)
class Household:
    family_id: str
    kind: str
    """'family', 'unaccompanied_asylum_seeking' or 'overseas_student'."""
    children: list[Child]


def _cumulative(pairs: Sequence[tuple[T, float]]) -> tuple[tuple[T, ...], tuple[float, ...]]:
    return tuple(p[0] for p in pairs), tuple(accumulate(p[1] for p in pairs))


def _draw(rng: random.Random, table: tuple[tuple[T, ...], tuple[float, ...]]) -> T:
    items, cumulative = table
    return items[bisect_right(cumulative, rng.random() * cumulative[-1])]


_FAMILY_BIRTHS = _cumulative(rates.FAMILY_BIRTHS)
_FAMILY_TYPES = _cumulative(rates.FAMILY_TYPES)
_MIDDLE_NAMES = _cumulative(rates.MIDDLE_NAMES)
_UNMARRIED_SURNAME = _cumulative(rates.CHILD_SURNAME_UNMARRIED)
_CONSENT = _cumulative(rates.CONSENT_TO_SHOW)
_UASC_AGES = _cumulative(rates.UASC_AGES)
_UASC_ORIGINS = _cumulative(rates.UASC_ORIGINS)
_OVERSEAS_ORIGINS = _cumulative(rates.OVERSEAS_ORIGINS)
_SOCIAL_CARE = _cumulative(
    [
        ("looked_after", rates.LOOKED_AFTER_FAMILY_SHARE),
        ("child_protection_plan", rates.CHILD_PROTECTION_FAMILY_SHARE),
        ("child_in_need", rates.CHILD_IN_NEED_FAMILY_SHARE),
        ("early_help", rates.EARLY_HELP_FAMILY_SHARE),
        (
            None,
            1.0
            - rates.LOOKED_AFTER_FAMILY_SHARE
            - rates.CHILD_PROTECTION_FAMILY_SHARE
            - rates.CHILD_IN_NEED_FAMILY_SHARE
            - rates.EARLY_HELP_FAMILY_SHARE,
        ),
    ]
)
_SHARE_AGED_10_PLUS = sum(rates.AGE_WEIGHTS[10:]) / sum(rates.AGE_WEIGHTS)


def _gap(rng: random.Random) -> int:
    return rates.BIRTH_GAP_MIN_DAYS + int(rng.expovariate(1.0 / rates.BIRTH_GAP_MEAN_EXTRA_DAYS))


def _sibling_dates(
    rng: random.Random, calendar: Calendar, anchor_table: tuple[tuple[int, ...], tuple[float, ...]]
) -> list[int]:
    """Birth dates of one family's maternities, oldest first, within ages 0..17.

    One birth (the anchor) is placed by the age structure, the others before and
    after it at realistic spacings; siblings who would be adults or not yet born
    are not children of the index and are dropped.
    """
    births = _draw(rng, _FAMILY_BIRTHS)
    age = _draw(rng, anchor_table)
    low, high = calendar.age_bounds[age]
    anchor = between(rng, low, high)
    position = index(rng, births)
    dates = [anchor]
    day = anchor
    for _ in range(position):
        day -= _gap(rng)
        dates.append(day)
    day = anchor
    for _ in range(births - 1 - position):
        day += _gap(rng)
        dates.append(day)
    earliest, today = calendar.earliest_dob, calendar.today
    return sorted(d for d in dates if earliest <= d <= today)


@lru_cache(maxsize=8)
def calibrate_anchor_ages(as_of: date) -> tuple[tuple[tuple[int, ...], tuple[float, ...]], float]:
    """Anchor-age weights that make the children's ages follow ``rates.AGE_WEIGHTS``.

    Siblings spread out from the anchor and those beyond 0..17 are dropped, which
    thins both ends of the age range; so the anchor's distribution is corrected
    by simulating which ages each anchor age yields (a fixed-seed simulation,
    independent of the run's seed) and solving for weights by iteration. Also
    returns the mean number of children per ordinary family. Cached per reference day.
    """
    calendar = Calendar(as_of)
    rng = random.Random("contactpoint-age-calibration")  # noqa: S311 - fixed simulation, not security
    ages = tuple(range(18))
    lows = [calendar.age_bounds[a][0] for a in reversed(ages)]
    per_anchor = 6000
    yields = [[0.0] * 18 for _ in ages]
    for anchor_age in ages:
        fixed = ((anchor_age,), (1.0,))
        for _ in range(per_anchor):
            for dob in _sibling_dates(rng, calendar, fixed):
                age = 17 - (bisect_right(lows, dob) - 1)
                yields[anchor_age][age] += 1.0 / per_anchor
    target = [w / sum(rates.AGE_WEIGHTS) for w in rates.AGE_WEIGHTS]
    weights = list(target)
    for _ in range(60):
        produced = [sum(weights[a] * yields[a][b] for a in ages) for b in ages]
        total = sum(produced)
        weights = [
            max(1e-6, w * t / (p / total))
            for w, t, p in zip(weights, target, produced, strict=True)
        ]
    mean_births = sum(weights[a] * sum(yields[a]) for a in ages) / sum(weights)
    table = _cumulative(list(zip(ages, weights, strict=True)))
    return table, mean_births * (1.0 + rates.TWIN_BIRTH_RATE)


BLOCK_CHILDREN = 10_000
"""Children are generated in blocks of this many, each from its own seeded generators
and its own ranges of identifiers, so blocks are independent: any process can make
any block and the bytes are the same (see writer.py)."""

NHS_PER_BLOCK = 12_000
"""NHS number counters each block may use (about 11 are needed per 10 numbers issued)."""

MAX_CHILDREN = DUPLICATE_NHS_START // NHS_PER_BLOCK * BLOCK_CHILDREN


def block_count(children: int) -> int:
    return -(-children // BLOCK_CHILDREN)


class Population:
    """Generates households, block by block, until exactly ``children`` children exist."""

    def __init__(
        self,
        children: int,
        seed: int,
        as_of: date,
        names: NameBank,
        places: Places,
        directory: Directory,
    ) -> None:
        if children > MAX_CHILDREN:
            raise ValueError(f"at most {MAX_CHILDREN:,} children can be generated")
        self.total = children
        self.seed = seed
        self.calendar = Calendar(as_of)
        self.names = names
        self.places = places
        self.directory = directory
        self.rng = random.Random(f"{seed}:population:0")  # noqa: S311 - synthetic data
        self.nhs_numbers = NhsNumbers(random.Random(f"{seed}:nhs"))  # noqa: S311 - synthetic data
        self.upns = Upns(random.Random(f"{seed}:upn"))  # noqa: S311 - synthetic data
        self.anchor_ages, mean_children = calibrate_anchor_ages(as_of)
        special = rates.UASC_SHARE + rates.OVERSEAS_STUDENT_SHARE
        scale = mean_children / (1.0 - special + special * mean_children)
        self.p_uasc = rates.UASC_SHARE * scale
        self.p_overseas = rates.OVERSEAS_STUDENT_SHARE * scale
        self.p_missing = rates.MISSING_SHARE / _SHARE_AGED_10_PLUS
        self.p_youth_offending = rates.YOUTH_OFFENDING_SHARE / _SHARE_AGED_10_PLUS
        self._lows = [self.calendar.age_bounds[a][0] for a in reversed(range(18))]
        self._people = 0
        self._families = 0

    # --- small helpers -------------------------------------------------------------

    def age(self, dob: int) -> int:
        return 17 - (bisect_right(self._lows, dob) - 1)

    def _days_ago(self, low: int, high: int, not_before: int) -> int:
        return max(not_before, self.calendar.today - between(self.rng, low, high))

    def _person_id(self) -> str:
        self._people += 1
        return f"P{self._people:09d}"

    def _family_id(self) -> str:
        self._families += 1
        return f"F{self._families:09d}"

    def _email(self, given: str, family: str) -> str | None:
        if self.rng.random() >= 0.4:
            return None
        local = f"{given}.{family}".lower()
        if not local.isascii():
            local = fold_diacritics(local)
        return f"{local.translate(_NOT_IN_EMAIL)}{index(self.rng, 100)}@example.com"

    def _carer(
        self,
        given: str,
        family: str,
        relationship: str,
        responsibility: bool,
        address: Address | None = None,
    ) -> Carer:
        rng = self.rng
        phone = self.places.mobile(rng) if rng.random() < 0.9 else None
        return Carer(
            given, family, relationship, responsibility, address, phone, self._email(given, family)
        )

    def _other_home(self, la: LocalAuthority) -> Address:
        """Where a parent who lives apart lives: usually nearby, sometimes far away."""
        rng = self.rng
        return self.places.home(rng, la if rng.random() < 0.7 else self.places.draw_la(rng))

    def _given_names(
        self, origin: str, sex: str, taken: set[str], english_share: float | None = None
    ) -> list[str]:
        rng, names = self.rng, self.names

        def draw(r: random.Random, g: str, s: str) -> str:
            if english_share is None:
                return names.given_name(r, g, s)
            if r.random() < english_share:
                return names.given_name(r, "english", s)
            return names.given[(g, s)].draw(r)

        first = draw(rng, origin, sex)
        for _ in range(20):
            if first not in taken:
                break
            first = draw(rng, origin, sex)
        given = [first]
        middles = _draw(rng, _MIDDLE_NAMES)
        if sex == "M" and first in MUHAMMAD and middles == 0:
            middles = 1
        for _ in range(middles):
            middle = draw(rng, origin, sex)
            if middle not in given:
                given.append(middle)
        return given

    def _preferred(self, given: list[str]) -> str | None:
        rng = self.rng
        if given[0] in MUHAMMAD and len(given) > 1 and rng.random() < rates.MIDDLE_NAME_PREFERRED:
            return given[1]
        nicks = self.names.nicknames.get(given[0])
        if nicks and rng.random() < rates.PREFERRED_NAME_SHARE:
            return choice(rng, nicks)
        return None

    # --- households ----------------------------------------------------------------

    def households(self) -> Iterator[Household]:
        """Every household of the population, block after block."""
        for block in range(block_count(self.total)):
            yield from self.block(block)

    def block(self, block: int) -> Iterator[Household]:
        """The households of one block: children ``block * BLOCK_CHILDREN + 1`` onwards."""
        first = block * BLOCK_CHILDREN
        remaining = min(BLOCK_CHILDREN, self.total - first)
        self.rng = random.Random(f"{self.seed}:population:{block}")  # noqa: S311 - synthetic data
        self.nhs_numbers.restart(block * NHS_PER_BLOCK, (block + 1) * NHS_PER_BLOCK)
        self.upns.restart(first, first + BLOCK_CHILDREN)
        self._people = self._families = first
        while remaining > 0:
            roll = self.rng.random()
            if roll < self.p_uasc:
                household = self._uasc()
            elif roll < self.p_uasc + self.p_overseas:
                household = self._overseas_student()
            else:
                household = self._family(remaining)
            remaining -= len(household.children)
            yield household

    def _family(self, remaining: int) -> Household:
        rng, names, places, calendar = self.rng, self.names, self.places, self.calendar
        family_id = self._family_id()
        traveller = rng.random() < rates.TRAVELLER_FAMILY_SHARE
        homeless = not traveller and rng.random() < rates.NO_FIXED_ABODE_FAMILY_SHARE
        if traveller:
            roma = rng.random() < 0.15
            origin = (
                "romanian_bulgarian" if roma else ("irish" if rng.random() < 0.35 else "english")
            )
            surname_group = "romanian_bulgarian" if roma else "traveller"
            mother_origin = mother_group = origin
            mother_group = surname_group
        else:
            origin = surname_group = names.draw_origin(rng)
            mother_origin = (
                names.draw_origin(rng) if rng.random() < rates.MIXED_ORIGIN_COUPLES else origin
            )
            mother_group = mother_origin
        family_type = _draw(rng, _FAMILY_TYPES)

        father_base = names.surname(rng, surname_group)
        mother_maiden_base = names.surname(rng, mother_group)
        married = rng.random() < rates.MARRIED_SHARE and family_type != "two_mothers"
        if family_type == "two_mothers":
            choice = rng.random()
            child_base = (
                father_base if choice < 0.6 else mother_maiden_base if choice < 0.8 else None
            )
            child_group = surname_group if choice < 0.6 else mother_group
        elif married:
            double = rng.random() < rates.DOUBLE_SURNAME_MARRIED
            child_base, child_group = (None, "") if double else (father_base, surname_group)
        else:
            which = _draw(rng, _UNMARRIED_SURNAME)
            if which == "father":
                child_base, child_group = father_base, surname_group
            elif which == "mother":
                child_base, child_group = mother_maiden_base, mother_group
            else:
                child_base, child_group = None, ""
        if child_base is None:
            child_base = (
                f"{mother_maiden_base}-{father_base}"
                if mother_maiden_base != father_base and " " not in mother_maiden_base + father_base
                else father_base
            )
            child_group = "" if "-" in child_base else surname_group

        mother_given = names.adult_given_name(rng, mother_origin, "F")
        father_given = names.adult_given_name(rng, origin, "M")
        mother_maiden = names.surname_for_sex(rng, mother_group, mother_maiden_base, True)
        mother_married = names.surname_for_sex(rng, surname_group, father_base, True)
        takes_name = married and rng.random() < rates.WIFE_TAKES_NAME
        mother_surname = mother_married if takes_name else mother_maiden

        # Where they live.
        la = places.draw_la(rng)
        previous: Address | None = None
        moved_on: int | None = None
        address: Address | None
        no_fixed_abode = False
        if traveller and rng.random() < rates.TRAVELLER_ON_SITE + rates.TRAVELLER_ROADSIDE:
            address = places.traveller_site(rng, la)
            if rng.random() < rates.TRAVELLER_ROADSIDE / (
                rates.TRAVELLER_ON_SITE + rates.TRAVELLER_ROADSIDE
            ):
                previous, address, no_fixed_abode = address, None, True
                moved_on = self._days_ago(7, 365, 0)
        else:
            address = places.home(rng, la)
        if homeless:
            previous, address, no_fixed_abode = address, None, True
            moved_on = self._days_ago(7, 365, 0)
        elif address is not None and rng.random() < rates.MOVED_SHARE:
            old_la = places.draw_la(rng) if rng.random() < rates.MOVED_OUT_OF_AREA else la
            previous = places.home(rng, old_la)
            moved_on = self._days_ago(7, rates.MOVED_WITHIN_DAYS, 0)

        # Surname changes (remarriage, a lone mother reverting).
        new_base: str | None = None
        new_group = surname_group
        changed_on: int | None = None
        step_surname_base = (
            names.surname(rng, mother_origin) if family_type == "stepfamily" else None
        )
        if (
            family_type == "stepfamily"
            and step_surname_base
            and rng.random() < rates.SURNAME_CHANGE_STEPFAMILY
        ):
            new_base = (
                step_surname_base if rng.random() < 0.7 else f"{child_base}-{step_surname_base}"
            )
            new_group = mother_origin if "-" not in new_base else ""
        elif family_type == "lone_mother" and rng.random() < rates.SURNAME_CHANGE_LONE_MOTHER:
            new_base, new_group = mother_maiden_base, mother_group
        if new_base is not None and (
            new_base == child_base or (" " in new_base and "-" in new_base)
        ):
            new_base = None
        if new_base is not None:
            changed_on = self._days_ago(30, rates.SURNAME_CHANGE_WITHIN_DAYS, 0)

        # Carers.
        carers: list[Carer] = []
        claimant: Carer | None = None
        if family_type == "couple":
            carers = [
                self._carer(mother_given, mother_surname, "mother", True),
                self._carer(
                    father_given,
                    names.surname_for_sex(rng, surname_group, father_base, False),
                    "father",
                    True,
                ),
            ]
        elif family_type == "stepfamily":
            step_given = names.adult_given_name(rng, mother_origin, "M")
            step_surname_base = step_surname_base or names.surname(rng, mother_origin)
            mother_now = (
                names.surname_for_sex(rng, mother_origin, step_surname_base, True)
                if rng.random() < 0.5
                else mother_maiden
            )
            carers = [
                self._carer(mother_given, mother_now, "mother", True),
                self._carer(step_given, step_surname_base, "stepfather", False),
            ]
            if rng.random() < 0.7:
                carers.append(
                    self._carer(father_given, father_base, "father", True, self._other_home(la))
                )
        elif family_type == "lone_mother":
            mother_now = mother_maiden if rng.random() < 0.6 else mother_surname
            carers = [self._carer(mother_given, mother_now, "mother", True)]
            if rng.random() < 0.55:
                carers.append(
                    self._carer(father_given, father_base, "father", True, self._other_home(la))
                )
        elif family_type == "lone_father":
            carers = [self._carer(father_given, father_base, "father", True)]
            if rng.random() < 0.5:
                carers.append(
                    self._carer(mother_given, mother_surname, "mother", True, self._other_home(la))
                )
        elif family_type == "kinship":
            maternal = rng.random() < 0.6
            gran_given = names.adult_given_name(rng, mother_origin if maternal else origin, "F")
            gran_family = mother_maiden if maternal else mother_married
            carers = [self._carer(gran_given, gran_family, "grandmother", rng.random() < 0.4)]
            if rng.random() < 0.5:
                carers.append(
                    self._carer(mother_given, mother_surname, "mother", True, self._other_home(la))
                )
        else:  # two mothers
            second_given = names.adult_given_name(rng, origin, "F")
            second_family = names.surname_for_sex(rng, surname_group, father_base, True)
            carers = [
                self._carer(mother_given, mother_maiden, "mother", True),
                self._carer(second_given, second_family, "mother", True),
            ]
        claim = rng.random() < rates.CHILD_BENEFIT_COVERAGE
        if claim:
            claimant = carers[0]

        social_care = _draw(rng, _SOCIAL_CARE)
        care_since = None
        if social_care is not None:
            span = {"looked_after": 5 * 365, "child_protection_plan": 540}.get(social_care, 730)
            care_since = self._days_ago(14, span, 0)

        # Children.
        births = _sibling_dates(rng, calendar, self.anchor_ages)
        if not births:
            births = [between(rng, *calendar.age_bounds[_draw(rng, self.anchor_ages)])]
        family_dates: list[tuple[int, bool]] = []
        for dob in births:
            if rng.random() < rates.TWIN_BIRTH_RATE:
                family_dates += [(dob, True), (dob, True)]
            else:
                family_dates.append((dob, False))
        family_dates = family_dates[:remaining]
        if len(family_dates) == 1:
            family_dates = [(family_dates[0][0], False)]
        elif (
            len(family_dates) >= 2
            and family_dates[-1][1]
            and family_dates[-2][0] != family_dates[-1][0]
        ):
            family_dates[-1] = (family_dates[-1][0], False)

        children: list[Child] = []
        taken: set[str] = set()
        primary: Institution | None = None
        twin_sex: str | None = None
        girls_forms: dict[str, str] = {}

        def surname_of(base: str, group: str, female: bool) -> str:
            """A family decides once whether its girls carry the female form (Kaur, Begum)."""
            if not female or not group:
                return base
            if base not in girls_forms:
                girls_forms[base] = names.surname_for_sex(rng, group, base, True)
            return girls_forms[base]

        for position, (dob, is_twin) in enumerate(family_dates):
            first_twin = is_twin and (
                position + 1 < len(family_dates) and family_dates[position + 1][0] == dob
            )
            if is_twin and not first_twin and twin_sex is not None:
                sex = (
                    twin_sex
                    if rng.random() < rates.SAME_SEX_TWIN_SHARE
                    else ("M" if twin_sex == "F" else "F")
                )
            else:
                sex = "M" if rng.random() < rates.MALE_SHARE else "F"
            twin_sex = sex if first_twin else None
            given = self._given_names(origin, sex, taken)
            if is_twin and not first_twin and rng.random() < rates.SHARED_TWIN_MIDDLE_NAME:
                sibling = children[-1].given_names
                if len(sibling) > 1 and len(given) >= 1 and sibling[1] != given[0]:
                    given = [given[0], sibling[1]]
            taken.add(given[0])
            born_before_change = changed_on is not None and dob < changed_on
            if new_base is not None:
                base, group = new_base, new_group
            else:
                base, group = child_base, child_group
            female = sex == "F"
            family_name = surname_of(base, group, female)
            child = Child(
                person_id=self._person_id(),
                family_id=family_id,
                sex=sex,
                given_names=given,
                family_name=family_name,
                date_of_birth=dob,
                origin=origin,
                la=la,
                address=address,
                no_fixed_abode=no_fixed_abode,
            )
            if new_base is not None and born_before_change:
                old = surname_of(child_base, child_group, female)
                if old != family_name:
                    child.former_family_names = [old]
                    child.surname_changed_on = changed_on
            if previous is not None and moved_on is not None and dob < moved_on:
                child.previous_address, child.moved_on = previous, moved_on
            if is_twin and not first_twin:
                twin = children[-1]
                twin.twin_of, child.twin_of = child.person_id, twin.person_id
            child.preferred_name = self._preferred(given)
            child.carers = carers
            if traveller:
                child.circumstances.append("traveller")
            self._social_care(child, social_care, care_since, carers)
            self._child_benefit(child, claimant)
            primary = self._education(child, primary, traveller)
            self._health(child)
            self._local_authority(child, traveller)
            children.append(child)
        return Household(family_id, "family", children)

    # --- per-child facts -------------------------------------------------------------

    def _social_care(
        self, child: Child, status: str | None, since: int | None, family_carers: list[Carer]
    ) -> None:
        rng = self.rng
        age = self.age(child.date_of_birth)
        if age >= rates.MISSING_MIN_AGE and rng.random() < self.p_missing:
            child.circumstances.append("missing")
            if status is None:
                status, since = "child_in_need", self._days_ago(1, 120, child.date_of_birth)
        if status == "looked_after" and rng.random() >= rates.LOOKED_AFTER_SIBLING:
            status = "child_in_need"
        if status is None or since is None:
            return
        since = max(since, child.date_of_birth + 1)
        since = min(since, self.calendar.today)
        child.social_care, child.social_care_since = status, since
        if status == "looked_after":
            child.circumstances.append("looked_after")
            self._place_in_care(child, since, family_carers)
        elif status == "child_protection_plan":
            child.circumstances.append("child_protection_plan")
        if age >= 10 and rng.random() < self.p_youth_offending:
            child.youth_offending_since = self._days_ago(14, 540, child.date_of_birth + 3653)

    def _place_in_care(self, child: Child, since: int, family_carers: list[Carer]) -> None:
        """A looked-after child lives with foster carers; the family home becomes the old one."""
        rng, places, names = self.rng, self.places, self.names
        placement_la = places.draw_la(rng) if rng.random() < rates.PLACED_OUT_OF_AREA else child.la
        home = child.address or child.previous_address
        child.address = places.home(rng, placement_la)
        child.no_fixed_abode = False
        child.previous_address, child.moved_on = home, since
        group = names.draw_origin(rng)
        foster_family = names.surname(rng, group)
        fosterers = [
            self._carer(
                names.adult_given_name(rng, group, "F"),
                names.surname_for_sex(rng, group, foster_family, True),
                "foster carer",
                False,
            )
        ]
        if rng.random() < 0.6:
            fosterers.append(
                self._carer(
                    names.adult_given_name(rng, group, "M"), foster_family, "foster carer", False
                )
            )
        parents = [
            Carer(
                c.given,
                c.family,
                c.relationship,
                c.parental_responsibility,
                c.address or home,
                c.phone,
                c.email,
            )
            for c in family_carers
            if c.parental_responsibility
        ]
        child.carers = fosterers + parents

    def _child_benefit(self, child: Child, claimant: Carer | None) -> None:
        rng = self.rng
        if claimant is None or (
            "looked_after" in child.circumstances
            and rng.random() >= rates.CHILD_BENEFIT_LOOKED_AFTER
        ):
            return
        age_days = self.calendar.today - child.date_of_birth
        if (
            age_days < rates.CHILD_BENEFIT_NEWBORN_DAYS
            and rng.random() >= rates.CHILD_BENEFIT_NEWBORN_COVERAGE
        ):
            return
        if self.age(child.date_of_birth) >= 16 and rng.random() >= (
            rates.CHILD_BENEFIT_COVERAGE_16_17 / rates.CHILD_BENEFIT_COVERAGE
        ):
            return
        child.claimant = claimant

    def _education(
        self, child: Child, primary: Institution | None, traveller: bool
    ) -> Institution | None:
        """Decide the child's education; returns the family's primary school for the siblings."""
        rng, calendar = self.rng, self.calendar
        year = calendar.year_group(child.date_of_birth)
        if year < 0:
            child.education = "under_school_age"
            return primary
        share = rates.STATE_SCHOOL_SHARE if year <= 11 else rates.SIXTH_FORM_IN_SCHOOL
        if traveller:
            share *= rates.SCHOOL_SHARE_TRAVELLER
        if "missing" in child.circumstances:
            share *= rates.SCHOOL_SHARE_MISSING
        if child.no_fixed_abode:
            share *= rates.SCHOOL_SHARE_NO_FIXED_ABODE
        if rng.random() >= share:
            if year > 11:
                child.education = "college_or_training"
            elif "missing" in child.circumstances or child.no_fixed_abode or traveller:
                child.education = "missing_education"
            else:
                child.education = (
                    "home_educated"
                    if rng.random() < rates.HOME_EDUCATED_OF_OTHERS
                    else "independent_school"
                )
            return primary
        home = child.address or child.previous_address
        school_la = (
            self.places.by_code[home.la_code] if home is not None and home.la_code else child.la
        )
        if year <= 6:
            if (
                primary is None
                or primary.la_code != school_la.code
                or rng.random() >= rates.SIBLINGS_SAME_PRIMARY
            ):
                primary = self.directory.pick(rng, school_la, "primary")
            school = primary
            start = calendar.september(calendar.cohort(child.date_of_birth) + 5)
        else:
            school = self.directory.pick(rng, school_la, "secondary")
            start = calendar.september(calendar.cohort(child.date_of_birth) + 12)
        self._enrol(child, school, start, year)
        return primary

    def _enrol(self, child: Child, school: Institution, start: int, year: int) -> None:
        rng, calendar = self.rng, self.calendar
        child.education = "state_school"
        child.school = school
        first_school = school
        reception = calendar.cohort(child.date_of_birth) + 5
        moved = child.moved_on
        if moved is not None and moved > start:
            old = child.previous_address
            out_of_area = old is not None and old.la_code != (
                child.address.la_code if child.address else ""
            )
            if out_of_area or rng.random() >= rates.SCHOOL_KEPT_AFTER_LOCAL_MOVE:
                start = moved
            if (
                out_of_area
                and old is not None
                and old.la_code
                and moved > calendar.september(reception)
            ):
                first_school = self.directory.pick(rng, self.places.by_code[old.la_code], "primary")
        child.school_start = min(start, calendar.today)
        child.upn = self.upns.issue(first_school.la_code, reception)

    def _health(self, child: Child) -> None:
        rng = self.rng
        if rng.random() >= rates.PDS_COVERAGE:
            return
        child.nhs_number = self.nhs_numbers.issue()
        self._register_gp(child)
        if self.age(child.date_of_birth) < 5 and rng.random() < rates.HEALTH_VISITOR_UNDER_5:
            home = child.address or child.previous_address
            la = (
                self.places.by_code[home.la_code] if home is not None and home.la_code else child.la
            )
            child.health_visitor = self.directory.pick(rng, la, "health_visitor")

    def _register_gp(self, child: Child) -> None:
        rng, calendar = self.rng, self.calendar
        if rng.random() >= rates.GP_REGISTERED:
            return
        home = child.address or child.previous_address
        la = self.places.by_code[home.la_code] if home is not None and home.la_code else child.la
        child.gp = self.directory.pick(rng, la, "gp")
        since = child.date_of_birth + between(rng, 14, 56)
        if child.moved_on is not None and child.moved_on > since and rng.random() < 0.7:
            since = child.moved_on + between(rng, 0, 60)
        child.gp_since = min(since, calendar.today)

    def _local_authority(self, child: Child, traveller: bool) -> None:
        rng = self.rng
        age = self.age(child.date_of_birth)
        if age >= 10 and child.social_care is None and rng.random() < self.p_youth_offending:
            child.youth_offending_since = self._days_ago(14, 540, child.date_of_birth + 3653)
        known = (
            child.social_care is not None
            or child.youth_offending_since is not None
            or child.no_fixed_abode
            or "missing" in child.circumstances
            or "unaccompanied_asylum_seeking" in child.circumstances
        )
        if not known and traveller:
            known = rng.random() < rates.LA_COVERAGE["traveller"]
        if not known and "overseas_student" in child.circumstances:
            known = rng.random() < rates.LA_COVERAGE["overseas_student"]
        child.la_known = known
        if not known:
            return
        for service, share, min_age in rates.SENSITIVE_SERVICES:
            if age >= min_age and rng.random() < share:
                consent = _draw(rng, _CONSENT)
                child.sensitive.append(
                    (service, consent, self._days_ago(7, 540, child.date_of_birth))
                )
        child.circumstances.sort(key=CIRCUMSTANCE_ORDER.index)

    # --- single-child households -------------------------------------------------------

    def _single_dob(self, ages: tuple[tuple[int, ...], tuple[float, ...]]) -> int:
        return between(self.rng, *self.calendar.age_bounds[_draw(self.rng, ages)])

    def _uasc(self) -> Household:
        """An unaccompanied asylum-seeking child: arrived alone, often with an assessed age."""
        rng, names, places, calendar = self.rng, self.names, self.places, self.calendar
        family_id = self._family_id()
        origin = _draw(rng, _UASC_ORIGINS)
        sex = "M" if rng.random() < rates.UASC_MALE_SHARE else "F"
        stated = self._single_dob(_UASC_AGES)
        dob, uncertain, claimed = stated, False, None
        if rng.random() < rates.UASC_DOB_UNCERTAIN:
            born = date.fromordinal(stated)
            assessed = date(born.year, 1, 1).toordinal()
            if assessed < calendar.earliest_dob:
                assessed = date(born.year + 1, 1, 1).toordinal()
            dob, uncertain = assessed, True
            claimed_day = date.fromordinal(stated)
            younger = between(rng, 0, 1)
            try:
                claimed = claimed_day.replace(year=claimed_day.year + younger).toordinal()
            except ValueError:
                claimed = claimed_day.replace(year=claimed_day.year + younger, day=28).toordinal()
            claimed = min(claimed, calendar.today)
            if claimed == dob:
                claimed = None
        la = places.draw_la(rng)
        surname = names.surname_for_sex(rng, origin, names.surname(rng, origin), sex == "F")
        child = Child(
            person_id=self._person_id(),
            family_id=family_id,
            sex=sex,
            given_names=self._given_names(origin, sex, set(), english_share=0.0),
            family_name=surname,
            date_of_birth=dob,
            origin=origin,
            la=la,
            address=places.home(rng, la),
            dob_uncertain=uncertain,
            claimed_dob=claimed,
        )
        child.circumstances.append("unaccompanied_asylum_seeking")
        arrived = self._days_ago(14, 3 * 365, child.date_of_birth + 1)
        if rng.random() < rates.UASC_LOOKED_AFTER:
            child.social_care, child.social_care_since = "looked_after", arrived
            child.circumstances.append("looked_after")
            group = names.draw_origin(rng)
            child.carers = [
                self._carer(
                    names.adult_given_name(rng, group, "F"),
                    names.surname_for_sex(rng, group, names.surname(rng, group), True),
                    "foster carer",
                    False,
                )
            ]
        else:
            child.social_care, child.social_care_since = "child_in_need", arrived
            _, worker_given, worker_family = self.directory.person_name(rng, full=True)
            child.carers = [self._carer(worker_given, worker_family, "key worker", False)]
        year = calendar.year_group(child.date_of_birth)
        share = (
            rates.SCHOOL_SHARE_UASC_UNDER_16
            if self.age(dob) < 16
            else rates.SCHOOL_SHARE_UASC_16_17
        )
        if 0 <= year <= 13 and rng.random() < share:
            school = self.directory.pick(rng, la, "secondary" if year >= 7 else "primary")
            self._enrol_late(child, school, arrived)
        else:
            child.education = "not_enrolled"
        if rng.random() < rates.UASC_HAS_NHS_NUMBER:
            child.nhs_number = self.nhs_numbers.issue()
            child.gp = self.directory.pick(rng, la, "gp")
            child.gp_since = min(arrived + between(rng, 0, 60), calendar.today)
        self._local_authority(child, traveller=False)
        return Household(family_id, "unaccompanied_asylum_seeking", [child])

    def _enrol_late(self, child: Child, school: Institution, arrived: int) -> None:
        child.education = "state_school"
        child.school = school
        child.school_start = min(arrived + between(self.rng, 14, 90), self.calendar.today)
        year = date.fromordinal(child.school_start).year
        child.upn = self.upns.issue(school.la_code, year)

    def _overseas_student(self) -> Household:
        """A boarder from abroad: parents overseas, a guardian in England, no claim here."""
        rng, names, places, calendar = self.rng, self.names, self.places, self.calendar
        family_id = self._family_id()
        origin = _draw(rng, _OVERSEAS_ORIGINS)
        sex = "M" if rng.random() < rates.MALE_SHARE else "F"
        ages = _cumulative([(a, rates.AGE_WEIGHTS[a]) for a in range(11, 18)])
        dob = self._single_dob(ages)
        la = places.draw_la(rng)
        school = self.directory.pick(rng, la, "boarding")
        campus = places.home(rng, la)
        address = Address((school.name, campus.lines[-1]), campus.town, campus.postcode, la.code)
        base = names.surname(rng, origin)
        child = Child(
            person_id=self._person_id(),
            family_id=family_id,
            sex=sex,
            given_names=self._given_names(origin, sex, set()),
            family_name=names.surname_for_sex(rng, origin, base, sex == "F"),
            date_of_birth=dob,
            origin=origin,
            la=la,
            address=address,
        )
        child.circumstances.append("overseas_student")
        abroad = places.overseas(rng)
        _, guardian_given, guardian_family = self.directory.person_name(rng, full=True)
        child.carers = [
            self._carer(
                names.adult_given_name(rng, origin, "F"),
                names.surname_for_sex(rng, origin, base, True),
                "mother",
                True,
                abroad,
            ),
            self._carer(names.adult_given_name(rng, origin, "M"), base, "father", True, abroad),
            self._carer(
                guardian_given, guardian_family, "educational guardian", False, places.home(rng, la)
            ),
        ]
        child.education = "independent_boarding"
        child.school = school
        child.school_start = min(
            calendar.september(
                calendar.academic_year - between(rng, 0, max(0, self.age(dob) - 11))
            ),
            calendar.today,
        )
        if rng.random() < rates.PDS_COVERAGE_OVERSEAS_STUDENT:
            child.nhs_number = self.nhs_numbers.issue()
            child.gp = self.directory.pick(rng, la, "gp")
            child.gp_since = min(child.school_start + between(rng, 0, 30), calendar.today)
        self._local_authority(child, traveller=False)
        return Household(family_id, "overseas_student", [child])


def _iso(day: int | None) -> str | None:
    return None if day is None else date.fromordinal(day).isoformat()


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"lines": list(address.lines), "town": address.town, "postcode": address.postcode}


def truth_record(child: Child) -> dict[str, Any]:
    """The person-level ground truth written to ``people.jsonl``."""
    school = child.school
    return {
        "person_id": child.person_id,
        "family_id": child.family_id,
        "given_names": child.given_names,
        "family_name": child.family_name,
        "former_family_names": child.former_family_names,
        "surname_changed_on": _iso(child.surname_changed_on),
        "preferred_name": child.preferred_name,
        "date_of_birth": _iso(child.date_of_birth),
        "dob_uncertain": child.dob_uncertain,
        "claimed_date_of_birth": _iso(child.claimed_dob),
        "gender": child.gender,
        "nhs_number": child.nhs_number,
        "upn": child.upn,
        "twin": child.twin_of is not None,
        "twin_person_id": child.twin_of,
        "name_origin": child.origin,
        "circumstances": child.circumstances,
        "no_fixed_abode": child.no_fixed_abode,
        "la_code": child.la.code,
        "la_name": child.la.name,
        "address": _address(child.address),
        "previous_address": _address(child.previous_address),
        "moved_on": _iso(child.moved_on),
        "carers": [
            {
                "name": c.name,
                "relationship": c.relationship,
                "parental_responsibility": c.parental_responsibility,
                "lives_with_child": c.address is None,
            }
            for c in child.carers
        ],
        "education": child.education,
        "school": None
        if school is None
        else {"name": school.name, "organisation_id": school.organisation_id},
        "school_start": _iso(child.school_start),
        "gp": None
        if child.gp is None
        else {"name": child.gp.name, "organisation_id": child.gp.organisation_id},
        "social_care": child.social_care,
        "social_care_since": _iso(child.social_care_since),
        "youth_offending": child.youth_offending_since is not None,
        "sensitive_services": [
            {"type": kind, "consent_to_show": consent} for kind, consent, _ in child.sensitive
        ],
        "child_benefit_claimed": child.claimant is not None,
        "known_to_local_authority": child.la_known,
    }
