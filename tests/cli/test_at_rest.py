"""Whoever copies the database gets no names, dates of birth, postcodes or NHS numbers.

For SQLite the bytes of the database file and its -wal/-shm files are searched
once the command has exited; for PostgreSQL, ``pg_dump`` of the whole database
(plain and ``--inserts``), where bytea appears hex-encoded, so the hex form of
each value is searched too.
"""

from __future__ import annotations

import unicodedata

from contactpoint.identity.normalise import normalise_name
from tests.cli.conftest import (
    Installation,
    child,
    line,
    pg_dump,
    write_feed,
)

GIVEN = "Zoë-Élodie"
FAMILY = "Ó Súilleabháin-Featherstonehaugh"
FORMER = "Wojciechowska"
PREFERRED = "Elodie-Mai"
CARER = "Saoirse Ní Bhriain"
CARER_PHONE = "0113 496 0731"
PRACTITIONER = "Jaswinder Sandhu"
GIVEN_2 = "Bartholomew"
FAMILY_2 = "Abernethy-Quayle"
DOB = "2014-03-07"
DOB_2 = "2011-12-25"
NHS = "9434765919"
NHS_2 = "4010232137"
POSTCODE = "LS1 4AB"
POSTCODE_2 = "BS7 8EE"
UPN = "A12345678901B"


def personal_lines() -> list[str]:
    return [
        line(
            "SECRET-0001",
            child(
                given_names=GIVEN,
                family_name=FAMILY,
                former_family_names=[FORMER],
                preferred_name=PREFERRED,
                date_of_birth=DOB,
                nhs_number="943 476 5919",  # as a feed might write it; stored normalised
                upn=UPN,
                address={"lines": ["12 Wellington Terrace"], "town": "Leeds", "postcode": "ls14ab"},
            ),
            carers=[{"name": CARER, "relationship": "mother", "phone": CARER_PHONE}],
            services=[
                {
                    "type": "school",
                    "organisation": "Leeds Park Primary",
                    "practitioner": {"name": PRACTITIONER, "role": "Head teacher"},
                }
            ],
        ),
        line(
            "SECRET-0002",
            child(
                given_names=GIVEN_2,
                family_name=FAMILY_2,
                date_of_birth=DOB_2,
                gender="male",
                nhs_number=NHS_2,
                address={"lines": ["7 Gloucester Road"], "town": "Bristol", "postcode": POSTCODE_2},
            ),
        ),
        # A second record about the first child, so linking decrypted and compared it.
        line("SECRET-0003", child(given_names=GIVEN, family_name=FAMILY, nhs_number=NHS)),
    ]


def _forms(value: str) -> set[str]:
    forms = {value, value.upper(), value.lower(), value.casefold()}
    forms |= {unicodedata.normalize(f, v) for f in ("NFC", "NFD") for v in set(forms)}
    return forms


def forbidden_strings() -> set[str]:
    strings: set[str] = set()
    for name in (GIVEN, FAMILY, FORMER, PREFERRED, CARER, PRACTITIONER, GIVEN_2, FAMILY_2):
        strings |= _forms(name)
        # Normalised forms (as the blind index hashes them) must not be kept either.
        strings |= {normalise_name(name), normalise_name(name).replace(" ", "")}
    strings |= {"Súilleabháin", "Featherstonehaugh", "Élodie", "zoe elodie"}
    for iso in (DOB, DOB_2):
        year, month, day = iso.split("-")
        strings |= {iso, f"{year}{month}{day}", f"{day}/{month}/{year}", f"{day}{month}{year}"}
    for postcode in (POSTCODE, POSTCODE_2):
        strings |= {postcode, postcode.replace(" ", ""), postcode.lower()}
        strings.add(postcode.replace(" ", "").lower())
    strings |= {NHS, NHS_2, "943 476 5919", "401 023 2137", UPN, CARER_PHONE}
    return {s for s in strings if len(s) >= 6}


def leaked_in(data: bytes, *, hex_too: bool = False) -> list[str]:
    leaked = []
    for value in sorted(forbidden_strings()):
        encoded = value.encode("utf-8")
        if encoded in data:
            leaked.append(value)
        if hex_too and encoded.hex().encode("ascii") in data.lower():
            leaked.append(f"{value} (hex)")
    return leaked


def test_search_finds_what_is_there() -> None:
    """The search itself works: it finds each value, raw and hex-encoded."""
    for value in forbidden_strings():
        assert value in leaked_in(f"xx{value}yy".encode())
        assert f"{value} (hex)" in leaked_in(b"\\x" + value.encode().hex().encode(), hex_too=True)
    assert leaked_in(b"nothing personal here") == []
    assert {"Zoë-Élodie", "Zoe\u0308-E\u0301lodie", "LS14AB", "943 476 5919", "07/03/2014"} <= (
        forbidden_strings()
    )


def ingest_personal_data(install: Installation) -> str:
    feed = write_feed(install.workdir / "personal.jsonl", personal_lines())
    result, report = install.ingest(feed)
    assert report["accepted"] == 3
    assert report["linked"] == 1
    assert install.stored_ids() == {"SECRET-0001", "SECRET-0002", "SECRET-0003"}
    users = install.ok(
        "users",
        "add",
        "--username",
        "auditor.one",
        "--role",
        "auditor",
        "--organisation",
        "ContactPoint assurance",
        stdin="a password long enough\n",
    )
    return result.output + users.output


def test_sqlite_files_hold_no_personal_data_in_clear(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    output = ingest_personal_data(sqlite_install)
    files = sorted(sqlite_install.home.glob("contactpoint.db*"))
    assert sqlite_install.sqlite_file in files
    data = b"".join(path.read_bytes() for path in files)
    # The search is looking at the right bytes: identifiers are held in clear.
    assert b"SECRET-0001" in data
    assert b"school-census" in data

    assert leaked_in(data) == []
    assert leaked_in(output.encode("utf-8")) == []


def test_pg_dump_holds_no_personal_data_in_clear(pg_initialised: Installation) -> None:
    pg_install = pg_initialised
    output = ingest_personal_data(pg_install)
    url = pg_install.database_url_for_pg_dump()
    for options in ((), ("--inserts",)):
        dump = pg_dump(url, *options).encode("utf-8")
        assert b"SECRET-0001" in dump
        assert b"source_records" in dump
        assert leaked_in(dump, hex_too=True) == [], options
    assert leaked_in(output.encode("utf-8")) == []
