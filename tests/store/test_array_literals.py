"""Ids sent to PostgreSQL as one array literal come back as the same values, and a
string holding the literal's own punctuation stays one element."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from contactpoint.store.bulk import array_literal, text_array_literal


def test_uuids_and_integers_come_back_as_sent(pg_engine: Engine) -> None:
    ids = [uuid.uuid4() for _ in range(50)]
    numbers = [0, -7, 2**31 - 1, 12345]
    with pg_engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        assert raw.execute("SELECT %s::uuid[]", (array_literal(ids),)).fetchone() == (ids,)
        got = raw.execute("SELECT %s::integer[]", (array_literal(numbers),)).fetchone()
        assert got == (numbers,)
        assert raw.execute("SELECT %s::uuid[]", (array_literal([]),)).fetchone() == ([],)


def test_each_string_is_one_element_whatever_it_holds(pg_engine: Engine) -> None:
    awkward = ["a,b", "{c}", 'say "hi"', "back\\slash", "NULL", " spaced ", ""]
    with pg_engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        got = raw.execute("SELECT %s::varchar[]", (text_array_literal(awkward),)).fetchone()
        assert got == (awkward,)
    assert text_array_literal(["ABCD-EFGH-JKLM"]) == '{"ABCD-EFGH-JKLM"}'
