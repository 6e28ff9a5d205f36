"""The four source feeds: how each organisation writes a true child down.

Coverage is decided in the population (which organisations know the child);
here each source renders its own view of the child, with its own fields, its own
error profile and its own record ids, as one JSON line in the shape of
``contactpoint.feeds.schema.FeedLine``. Each source draws from its own seeded
generator, so changing one source's rates leaves the others' bytes unchanged.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

from contactpoint.synth import rates
from contactpoint.synth.identifiers import DUPLICATE_NHS_START, NhsNumbers, RecordIds
from contactpoint.synth.institutions import Directory, Institution
from contactpoint.synth.names import NameBank, fold_diacritics
from contactpoint.synth.noise import ChildView, apply_noise, given_names_text
from contactpoint.synth.places import LocalAuthority, Places
from contactpoint.synth.population import Carer, Child

CHILD_BENEFIT = "child-benefit"
SCHOOL_CENSUS = "school-census"
NHS_PDS = "nhs-pds"
LOCAL_AUTHORITY = "local-authority"

IDS_PER_BLOCK = 20_000
"""Record id counters per source per block of 10,000 children (at most ~10,070 are used)."""

DUPLICATE_NHS_PER_BLOCK = 500
"""NHS number counters per block for duplicate PDS records (about 17 are used)."""

encode: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Exactly ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, without re-creating
the encoder for every line."""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    source: str
    record_id: str
    person_id: str
    line: str
    labels: str
    """The errors and quirks of this line, ';'-separated (empty when it is a faithful copy)."""


@dataclass(slots=True)
class _Line:
    """One line before it is numbered and written: its parts, already in feed shape."""

    child: dict[str, Any]
    labels: list[str]
    carers: list[dict[str, Any]] | None = None
    services: str | None = None
    """The services array as JSON text (often assembled from cached fragments)."""
    la_code: str | None = None
    """For local authority lines, the authority whose record id this is."""


def _iso(day: int | None) -> str | None:
    return None if day is None else date.fromordinal(day).isoformat()


def _practitioner(institution: Institution) -> dict[str, Any]:
    contact = institution.contact
    out: dict[str, Any] = {"name": contact.name, "role": contact.role, "phone": contact.phone}
    if contact.email:
        out["email"] = contact.email
    return out


class Sources:
    """Renders each child's lines in every source that holds the child."""

    def __init__(
        self,
        seed: int,
        as_of: date,
        names: NameBank,
        places: Places,
        directory: Directory,
    ) -> None:
        self.today = as_of
        self.names = names
        self.places = places
        self.directory = directory
        self.seed = seed
        self._fragments: dict[tuple[str, int], str] = {}
        self.duplicate_nhs_numbers = NhsNumbers(
            random.Random(f"{seed}:nhs")  # noqa: S311 - synthetic data, not security
        )
        self.rng: dict[str, random.Random] = {}
        id_rng = random.Random(f"{seed}:record-ids")  # noqa: S311 - synthetic data, not security
        self.ids = {
            CHILD_BENEFIT: RecordIds(id_rng, "CB-"),
            SCHOOL_CENSUS: RecordIds(id_rng, "SC-"),
            NHS_PDS: RecordIds(id_rng, "PDS-"),
            LOCAL_AUTHORITY: RecordIds(id_rng, "LA", width=8),
        }

    def start_block(self, block: int) -> None:
        """Fresh generators and identifier ranges for one block of children (population.py)."""
        self.rng = {
            source: random.Random(f"{self.seed}:{source}:{block}")  # noqa: S311 - synthetic data
            for source in rates.SOURCES
        }
        for ids in self.ids.values():
            ids.restart(block * IDS_PER_BLOCK, (block + 1) * IDS_PER_BLOCK)
        start = DUPLICATE_NHS_START + block * DUPLICATE_NHS_PER_BLOCK
        self.duplicate_nhs_numbers.restart(start, start + DUPLICATE_NHS_PER_BLOCK)

    def records(self, child: Child) -> list[FeedRecord]:
        out: list[FeedRecord] = []
        if child.claimant is not None:
            self._twice(out, CHILD_BENEFIT, child, self._child_benefit)
        if child.education == "state_school" and child.school is not None:
            self._twice(out, SCHOOL_CENSUS, child, self._school_census)
        if child.nhs_number is not None:
            self._twice(out, NHS_PDS, child, self._pds)
        if child.la_known:
            self._twice(out, LOCAL_AUTHORITY, child, self._local_authority)
            self._left_behind(out, child)
        return out

    def _twice(
        self,
        out: list[FeedRecord],
        source: str,
        child: Child,
        render: Callable[[Child, bool], _Line],
    ) -> None:
        """The source's record of the child, and now and then a duplicate record of it."""
        out.append(self._record(source, child, render(child, False)))
        if self.rng[source].random() < rates.DUPLICATE_RECORD[source]:
            line = render(child, True)
            line.labels.insert(0, "duplicate")
            out.append(self._record(source, child, line))

    def _record(self, source: str, child: Child, line: _Line) -> FeedRecord:
        """Number the line and write it as JSON, keys in the order of the contract."""
        if line.la_code is not None:
            record_id = self.ids[source].issue(f"LA{line.la_code}-")
        else:
            record_id = self.ids[source].issue()
        parts = ['{"source_record_id":"', record_id, '","child":', encode(line.child)]
        if line.carers:
            parts += [',"carers":', encode(line.carers)]
        if line.services:
            parts += [',"services":', line.services]
        parts.append("}")
        return FeedRecord(source, record_id, child.person_id, "".join(parts), ";".join(line.labels))

    def _service_with_start(self, kind: str, institution: Institution, start: int | None) -> str:
        """A school or GP entry as JSON: all but the start date is cached per institution."""
        key = (kind, id(institution))
        prefix = self._fragments.get(key)
        if prefix is None:
            entry = {
                "type": kind,
                "organisation": institution.name,
                "organisation_id": institution.organisation_id,
                "practitioner": _practitioner(institution),
            }
            prefix = encode(entry)[:-1] + ',"start_date":'
            self._fragments[key] = prefix
        return f'{prefix}"{_iso(start)}"}}' if start is not None else f"{prefix}null}}"

    def _service(self, kind: str, institution: Institution) -> str:
        key = (kind, id(institution))
        fragment = self._fragments.get(key)
        if fragment is None:
            entry = {
                "type": kind,
                "organisation": institution.name,
                "practitioner": _practitioner(institution),
            }
            fragment = encode(entry)
            self._fragments[key] = fragment
        return fragment

    # --- the child block shared by every source ------------------------------------

    def _child_block(
        self,
        source: str,
        child: Child,
        *,
        nhs: bool,
        upn: bool,
        circumstances: bool,
        nfa_recorded: bool,
        use_claimed_dob: bool,
    ) -> tuple[dict[str, Any], list[str]]:
        rng = self.rng[source]
        profile = rates.NOISE[source]
        dob = child.date_of_birth
        labels: list[str] = []
        disputed = use_claimed_dob and child.claimed_dob is not None
        if disputed and rng.random() < rates.UASC_CLAIMED_DOB_IN_OTHER_SOURCES:
            dob = child.claimed_dob or dob
            labels.append("dob_disputed")
        address = child.address
        no_fixed_abode = False
        if child.no_fixed_abode:
            if nfa_recorded:
                no_fixed_abode = True
            else:
                address = child.previous_address
                labels.append("last_known_address")
        view = ChildView(
            given=list(child.given_names),
            family=child.family_name,
            preferred=child.preferred_name,
            former=list(child.former_family_names),
            dob=date.fromordinal(dob),
            gender=child.gender,
            address=address,
            no_fixed_abode=no_fixed_abode,
            labels=labels,
        )
        apply_noise(
            view,
            profile,
            rng,
            self.names,
            self.today,
            old_surname=child.former_family_names[-1] if child.former_family_names else None,
            old_address=None if child.no_fixed_abode else child.previous_address,
        )
        block: dict[str, Any] = {"given_names": given_names_text(view), "family_name": view.family}
        if (
            view.former
            and "old_surname" not in labels
            and rng.random() < profile.former_names_listed
        ):
            block["former_family_names"] = view.former
        if view.preferred is not None and rng.random() < profile.preferred_name_listed:
            block["preferred_name"] = view.preferred
        block["date_of_birth"] = view.dob.isoformat()
        block["gender"] = view.gender
        if nhs and child.nhs_number is not None:
            if profile.nhs_number_omitted and rng.random() < profile.nhs_number_omitted:
                labels.append("nhs_number_omitted")
            else:
                block["nhs_number"] = child.nhs_number
        if upn and child.upn is not None and rng.random() < profile.upn_listed:
            block["upn"] = child.upn
        if view.no_fixed_abode:
            block["no_fixed_abode"] = True
        elif view.address is not None:
            block["address"] = view.address.feed()
        if circumstances and child.circumstances:
            block["circumstances"] = list(child.circumstances)
        return block, labels

    def _carers(
        self, carers: list[Carer], labels: list[str], *, limit: int, addresses: bool
    ) -> list[dict[str, Any]]:
        fold = "diacritics_dropped" in labels
        out: list[dict[str, Any]] = []
        for carer in carers[:limit]:
            entry: dict[str, Any] = {
                "name": fold_diacritics(carer.name) if fold else carer.name,
                "relationship": carer.relationship,
                "parental_responsibility": carer.parental_responsibility,
            }
            if addresses and carer.address is not None:
                entry["address"] = carer.address.feed()
            if carer.phone:
                entry["phone"] = carer.phone
            if carer.email:
                entry["email"] = carer.email
            out.append(entry)
        return out

    # --- the four sources -------------------------------------------------------------

    def _child_benefit(self, child: Child, duplicate: bool) -> _Line:
        """HMRC's claim: the claimant, the child's legal names, the claim address."""
        block, labels = self._child_block(
            CHILD_BENEFIT, child, nhs=False, upn=False, circumstances=False,
            nfa_recorded=False, use_claimed_dob=False,
        )  # fmt: skip
        claimant = child.claimant
        if duplicate:
            others = [c for c in child.carers if c.parental_responsibility and c is not claimant]
            if others:
                claimant = others[0]
        if claimant is None:
            raise ValueError("a child benefit line needs a claimant")
        return _Line(block, labels, self._carers([claimant], labels, limit=1, addresses=True))

    def _school_census(self, child: Child, duplicate: bool) -> _Line:
        """The school's return: UPN, preferred name, parental contacts, the school."""
        block, labels = self._child_block(
            SCHOOL_CENSUS, child, nhs=False, upn=True, circumstances=False,
            nfa_recorded=False, use_claimed_dob=True,
        )  # fmt: skip
        school = child.school
        if school is None:
            raise ValueError("a school census line needs a school")
        start = child.school_start
        if duplicate:
            la = self.places.by_code[school.la_code]
            phase = "secondary" if school.establishment >= 4000 else "primary"
            school = self.directory.pick(self.rng[SCHOOL_CENSUS], la, phase)
        return _Line(
            block,
            labels,
            self._carers(child.carers, labels, limit=2, addresses=False),
            f"[{self._service_with_start('school', school, start)}]",
        )

    def _pds(self, child: Child, duplicate: bool) -> _Line:
        """The NHS record: NHS number, registered GP, health visitor for the under-fives."""
        block, labels = self._child_block(
            NHS_PDS, child, nhs=True, upn=False, circumstances=False,
            nfa_recorded=self.rng[NHS_PDS].random() < rates.PDS_RECORDS_NO_FIXED_ABODE,
            use_claimed_dob=True,
        )  # fmt: skip
        if duplicate:
            block["nhs_number"] = self.duplicate_nhs_numbers.issue()
        services: list[str] = []
        if child.gp is not None:
            services.append(self._service_with_start("gp", child.gp, child.gp_since))
        if child.health_visitor is not None:
            services.append(self._service("health_visitor", child.health_visitor))
        return _Line(block, labels, services=f"[{','.join(services)}]" if services else None)

    def _local_authority(self, child: Child, duplicate: bool) -> _Line:
        """Children's services: circumstances, social care, lead professional, sensitive ones."""
        rng = self.rng[LOCAL_AUTHORITY]
        block, labels = self._child_block(
            LOCAL_AUTHORITY, child, nhs=True, upn=True, circumstances=True,
            nfa_recorded=True, use_claimed_dob=False,
        )  # fmt: skip
        return _Line(
            block,
            labels,
            self._carers(child.carers, labels, limit=6, addresses=True),
            encode(self._la_services(child, rng)),
            child.la.code,
        )

    def _la_services(
        self, child: Child, rng: random.Random, ended: int | None = None
    ) -> list[dict[str, Any]]:
        la = child.la
        directory = self.directory
        services: list[dict[str, Any]] = []

        def add(kind: str, institution: Institution, since: int | None, **flags: Any) -> None:
            entry: dict[str, Any] = {"type": kind, "organisation": institution.name}
            if institution.organisation_id:
                entry["organisation_id"] = institution.organisation_id
            entry["practitioner"] = _practitioner(institution)
            if since is not None:
                if ended is not None:
                    since = min(since, ended)
                entry["start_date"] = _iso(since)
            if ended is not None:
                entry["end_date"] = _iso(ended)
            entry.update(flags)
            services.append(entry)

        status = child.social_care
        if status in ("looked_after", "child_protection_plan", "child_in_need"):
            add("social_care", directory.pick(rng, la, "social_worker"), child.social_care_since,
                lead_professional=True, assessment=True)  # fmt: skip
        elif status == "early_help":
            lead = rng.random() < rates.EARLY_HELP_LEAD_PROFESSIONAL
            add("other", directory.pick(rng, la, "family_worker"), child.social_care_since,
                lead_professional=lead, assessment=True)  # fmt: skip
        if child.youth_offending_since is not None:
            officer = directory.pick(rng, la, "yot_officer")
            add(
                "youth_offending",
                officer,
                child.youth_offending_since,
                lead_professional=not status,
            )
        for kind, consent, since in child.sensitive:
            add(kind, directory.pick(rng, la, kind), since, sensitive=True, consent_to_show=consent)
        if not services:
            if "traveller" in child.circumstances:
                team = f"{la.name} Traveller Education Service"
            elif "overseas_student" in child.circumstances:
                team = f"{la.name} Private Fostering Team"
            else:
                team = f"{la.name} Housing Options"
            worker = directory.pick(rng, la, "family_worker")
            services.append(
                {"type": "other", "organisation": team, "practitioner": _practitioner(worker)}
            )
        if child.school is not None and ended is None and rng.random() < rates.LA_SCHOOL_LISTED:
            services.append(
                {
                    "type": "school",
                    "organisation": child.school.name,
                    "organisation_id": child.school.organisation_id,
                    "start_date": _iso(child.school_start),
                }
            )
        return services

    def _left_behind(self, out: list[FeedRecord], child: Child) -> None:
        """The authority a family moved away from may still hold the child, at the old address."""
        old = child.previous_address
        if old is None or child.moved_on is None or not old.la_code or old.la_code == child.la.code:
            return
        if child.no_fixed_abode or "looked_after" in child.circumstances:
            return
        rng = self.rng[LOCAL_AUTHORITY]
        if rng.random() >= rates.LA_RECORD_LEFT_BEHIND:
            return
        block, labels = self._child_block(
            LOCAL_AUTHORITY, child, nhs=True, upn=True, circumstances=True,
            nfa_recorded=True, use_claimed_dob=False,
        )  # fmt: skip
        block.pop("no_fixed_abode", None)
        block["address"] = old.feed()
        labels = [lab for lab in labels if lab not in _ADDRESS_LABELS]
        old_la = self.places.by_code[old.la_code]
        moved_child = _with_la(child, old_la)
        services = encode(self._la_services(moved_child, rng, ended=child.moved_on))
        line = _Line(block, ["left_behind_record", *labels], None, services, old_la.code)
        out.append(self._record(LOCAL_AUTHORITY, child, line))


_ADDRESS_LABELS = frozenset({"stale_address", "address_missing", "postcode_missing"})


def _with_la(child: Child, la: LocalAuthority) -> Child:
    """A shallow copy of the child as the old authority knew it."""
    clone = copy(child)
    clone.la = la
    return clone
