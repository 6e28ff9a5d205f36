"""The mistakes real systems make when they write a child down.

Each source copies the true child into a :class:`ChildView` and passes it through
:func:`apply_noise` with its own rates (``rates.NOISE``). Every error applied is
named in the returned labels, which the writer records in ``noise.csv``, so a
benchmark can say not only how many links it missed but which kinds of error
defeated it. NHS numbers and UPNs are never corrupted here: a feed would reject
an invalid one, so the realistic failure is leaving them out, not a typo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from contactpoint.synth.draws import choice, index
from contactpoint.synth.names import NameBank, fold_diacritics, has_diacritics
from contactpoint.synth.places import Address
from contactpoint.synth.rates import NoiseRates

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Letters next to each letter on a UK QWERTY keyboard (same row and the rows beside)."""
    position = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    near: dict[str, str] = {}
    for ch, (r, c) in position.items():
        near[ch] = "".join(
            other
            for other, (r2, c2) in position.items()
            if other != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1
        )
    return near


KEYBOARD_NEIGHBOURS = _neighbours()

OCR_CONFUSIONS: tuple[tuple[str, str], ...] = (
    ("rn", "m"),
    ("m", "rn"),
    ("cl", "d"),
    ("d", "cl"),
    ("li", "h"),
    ("h", "li"),
    ("vv", "w"),
    ("w", "vv"),
    ("e", "c"),
    ("c", "e"),
    ("l", "I"),
    ("I", "l"),
    ("a", "o"),
    ("o", "a"),
    ("u", "v"),
    ("n", "ri"),
)
"""What a scanner misreads on a handwritten or faxed form."""


@lru_cache(maxsize=65536)
def ocr_targets(text: str) -> tuple[int, ...]:
    """Indexes into OCR_CONFUSIONS that can apply to this text."""
    return tuple(i for i, (seen, _) in enumerate(OCR_CONFUSIONS) if seen in text)


def keyboard_typo(rng: random.Random, text: str) -> str:
    """One slip of the fingers: a neighbouring key, a dropped, doubled or swapped letter."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text
    for _ in range(8):
        i = choice(rng, letters)
        ch = text[i]
        roll = rng.random()
        if roll < 0.5:
            near = KEYBOARD_NEIGHBOURS.get(ch.lower())
            if not near:
                continue
            sub = choice(rng, near)
            result = text[:i] + (sub.upper() if ch.isupper() else sub) + text[i + 1 :]
        elif roll < 0.7:
            if len(letters) < 3:
                continue
            result = text[:i] + text[i + 1 :]
        elif roll < 0.85:
            result = text[:i] + ch + text[i:]
        else:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if not nxt.isalpha() or nxt == ch or ch.isupper() or nxt.isupper():
                continue
            result = text[:i] + nxt + ch + text[i + 2 :]
        if result != text and result.strip() == result and "  " not in result:
            return result
    return text


def ocr_confusion(rng: random.Random, text: str) -> str:
    targets = ocr_targets(text)
    if not targets:
        return text
    seen, read = OCR_CONFUSIONS[choice(rng, targets)]
    starts = [i for i in range(len(text)) if text.startswith(seen, i)]
    i = choice(rng, starts)
    return text[:i] + read + text[i + len(seen) :]


def swap_day_month(day: date, today: date) -> date | None:
    """The date with day and month transposed, if that is another valid date not after today."""
    if day.day > 12 or day.day == day.month:
        return None
    swapped = date(day.year, day.day, day.month)
    return swapped if swapped <= today else None


def dob_slip(rng: random.Random, day: date, today: date) -> date:
    """One day or one year out (never after today)."""
    options = [
        day.toordinal() - 1,
        day.toordinal() + 1,
    ]
    try:
        options.append(day.replace(year=day.year - 1).toordinal())
        options.append(day.replace(year=day.year + 1).toordinal())
    except ValueError:
        pass
    valid = [o for o in options if o <= today.toordinal()]
    return date.fromordinal(choice(rng, valid))


def simplify_compound(rng: random.Random, surname: str) -> str:
    """A two-part surname as a system with one surname field keeps it."""
    for separator in ("-", " "):
        if separator in surname:
            first, _, rest = surname.partition(separator)
            roll = rng.random()
            if roll < 0.4:
                return rest if rng.random() < 0.5 else first
            if separator == "-":
                return f"{first} {rest}" if roll < 0.8 else f"{first}{rest}"
            return f"{first}-{rest}" if roll < 0.8 else f"{first}{rest}"
    return surname


def repunctuate(rng: random.Random, name: str) -> str:
    """O'Brien as OBrien, O Brien or with a typographic apostrophe."""
    roll = rng.random()
    if roll < 0.45:
        return name.replace("'", "")
    if roll < 0.8:
        return name.replace("'", " ")
    return name.replace("'", "\u2019")


@dataclass(slots=True)
class ChildView:
    """One source's copy of the child's identifying details, before it is written out."""

    given: list[str]
    family: str
    preferred: str | None
    former: list[str]
    dob: date
    gender: str
    address: Address | None
    no_fixed_abode: bool
    double_space: bool = False
    labels: list[str] = field(default_factory=list)


def apply_noise(
    view: ChildView,
    rates: NoiseRates,
    rng: random.Random,
    names: NameBank,
    today: date,
    *,
    old_surname: str | None,
    old_address: Address | None,
) -> None:
    """Apply one source's errors to the view in place, naming each in ``view.labels``.

    The order is fixed (staleness, then name substitutions, then character-level
    slips, then dates and missing fields) so that each label describes a visible
    difference from the truth.
    """
    labels = view.labels
    random_ = rng.random
    if old_surname is not None and random_() < rates.old_surname:
        view.family = old_surname
        labels.append("old_surname")
    if old_address is not None and not view.no_fixed_abode and random_() < rates.stale_address:
        view.address = old_address
        labels.append("stale_address")

    nicks = names.nicknames.get(view.given[0])
    if nicks and random_() < rates.nickname_given:
        view.given[0] = choice(rng, nicks)
        labels.append("nickname_given")
    given_variants = names.variants.get(view.given[0])
    family_variants = names.variants.get(view.family)
    if (given_variants or family_variants) and random_() < rates.variant_spelling:
        if given_variants and (not family_variants or rng.random() < 0.5):
            view.given[0] = choice(rng, given_variants)
        elif family_variants:
            view.family = choice(rng, family_variants)
        labels.append("variant_spelling")
    if len(view.given) > 1 and random_() < rates.middle_names_dropped:
        del view.given[1:]
        labels.append("middle_names_dropped")
    if ("-" in view.family or " " in view.family) and random_() < rates.compound_surname_simplified:
        simplified = simplify_compound(rng, view.family)
        if simplified != view.family:
            view.family = simplified
            labels.append("compound_surname_simplified")

    accented = has_diacritics(view.family) or any(has_diacritics(g) for g in view.given)
    if not accented and view.preferred is not None:
        accented = has_diacritics(view.preferred)
    if not accented and view.former:
        accented = any(has_diacritics(f) for f in view.former)
    if accented and random_() < rates.diacritics_dropped:
        view.given = [fold_diacritics(g) for g in view.given]
        view.family = fold_diacritics(view.family)
        if view.preferred is not None:
            view.preferred = fold_diacritics(view.preferred)
        view.former = [fold_diacritics(f) for f in view.former]
        labels.append("diacritics_dropped")
    if "'" in view.family and random_() < rates.punctuation:
        view.family = repunctuate(rng, view.family)
        labels.append("punctuation")

    if random_() < rates.typo_given:
        i = index(rng, len(view.given))
        slipped = keyboard_typo(rng, view.given[i])
        if slipped != view.given[i]:
            view.given[i] = slipped
            labels.append("typo_given")
    if random_() < rates.typo_family:
        slipped = keyboard_typo(rng, view.family)
        if slipped != view.family:
            view.family = slipped
            labels.append("typo_family")
    if rates.ocr and random_() < rates.ocr:
        if rng.random() < 0.5 and ocr_targets(view.family):
            view.family = ocr_confusion(rng, view.family)
            labels.append("ocr")
        else:
            i = index(rng, len(view.given))
            if ocr_targets(view.given[i]):
                view.given[i] = ocr_confusion(rng, view.given[i])
                labels.append("ocr")
    if random_() < rates.names_swapped:
        joined = " ".join(view.given)
        view.given, view.family = [view.family], joined
        labels.append("names_swapped")
    if random_() < rates.case:
        roll = rng.random()
        if roll < 0.6:
            view.family = view.family.upper()
        elif roll < 0.9:
            view.family = view.family.upper()
            view.given = [g.upper() for g in view.given]
        else:
            view.family = view.family.lower()
            view.given = [g.lower() for g in view.given]
        labels.append("case")
    if (len(view.given) > 1 or " " in view.given[0]) and random_() < rates.double_space:
        view.double_space = True
        labels.append("double_space")

    swapped = swap_day_month(view.dob, today)
    if swapped is not None and random_() < rates.dob_day_month_swapped:
        view.dob = swapped
        labels.append("dob_day_month_swapped")
    elif random_() < rates.dob_typo:
        view.dob = dob_slip(rng, view.dob, today)
        labels.append("dob_typo")
    if random_() < rates.gender_unknown:
        view.gender = "unknown"
        labels.append("gender_unknown")
    if view.address is not None:
        if random_() < rates.address_missing:
            view.address = None
            labels.append("address_missing")
        elif view.address.postcode is not None and random_() < rates.postcode_missing:
            a = view.address
            view.address = Address(a.lines, a.town, None, a.la_code)
            labels.append("postcode_missing")


def given_names_text(view: ChildView) -> str:
    """The given names as the source writes them (an inner double space where labelled)."""
    if not view.double_space:
        return " ".join(view.given)
    if len(view.given) > 1:
        return view.given[0] + "  " + " ".join(view.given[1:])
    return view.given[0].replace(" ", "  ", 1)
