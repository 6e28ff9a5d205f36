"""The search benchmark's truth: what counts as the right answer to each kind of query."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import make_url

from search import Population, Query, coinciding_children, judge, over_socket


def population(tmp_path: Path) -> Population:
    """Three people; the index holds P1 as child C1 (two records) and P2 as C2."""
    synth = tmp_path / "synth"
    synth.mkdir()
    people = [
        {"person_id": "P1", "given_names": ["Harry", "James"], "family_name": "Thomas",
         "date_of_birth": "2019-04-17"},
        {"person_id": "P2", "given_names": ["Isla"], "family_name": "Hughes",
         "date_of_birth": "2025-10-21"},
        {"person_id": "P3", "given_names": ["Harry"], "family_name": "Jones",
         "date_of_birth": "2019-04-17"},
    ]  # fmt: skip
    (synth / "people.jsonl").write_text(
        "".join(json.dumps(p) + "\n" for p in people), encoding="utf-8"
    )
    (synth / "truth.csv").write_text(
        "source,source_record_id,person_id\nnhs,1,P1\nschool,7,P1\nnhs,2,P2\nnhs,3,P3\n",
        encoding="utf-8",
    )
    (tmp_path / "links.csv").write_text(
        "source,source_record_id,child_id\nnhs,1,C1\nschool,7,C1\nnhs,2,C2\n", encoding="utf-8"
    )
    return Population(tmp_path, "postgresql://unused", tmp_path / "home", 3, 2026)


def test_a_made_up_query_can_name_a_real_child(tmp_path: Path) -> None:
    """Details of several children combined sometimes are exactly a real child's given
    name, family name and date of birth; that child is then the right answer."""
    bodies = [
        {"given_name": "harry", "family_name": "THOMAS", "date_of_birth": "2019-04-17"},
        {"given_name": "Harry", "family_name": "Hughes", "date_of_birth": "2019-04-17"},
    ]
    found = coinciding_children(population(tmp_path), bodies)
    assert found == {("harry", "thomas", "2019-04-17"): {"C1"}}


def test_returning_a_coinciding_child_is_right_and_any_other_is_wrong() -> None:
    made_up = Query("not_in_index", {}, frozenset(), coinciding=frozenset({"C1"}))
    match = {"result": "match", "child": {"contactpoint_id": "C1"}}
    assert judge(made_up, 200, match) == ("match", True, False)
    other = {"result": "match", "child": {"contactpoint_id": "C9"}}
    assert judge(made_up, 200, other) == ("match", False, True)
    assert judge(made_up, 200, {"result": "no_unique_match"}) == ("no_unique_match", True, False)
    plain = Query("not_in_index", {}, frozenset())
    assert judge(plain, 200, match) == ("match", False, True)


def test_a_linkage_load_kept_for_search_is_found_by_search_reuse(tmp_path: Path) -> None:
    from linkage import Synthetic, keep_for_search

    links = tmp_path / "links-postgresql.csv"
    links.write_text("source,source_record_id,child_id\n", encoding="utf-8")
    synthetic = Synthetic(tmp_path / "synth", 1_000, {}, 1.0, {}, {}, seed=7)
    kept = tmp_path / "kept"
    keep_for_search(kept, synthetic, "postgresql://localhost/cp_bench_x", links, 61.23)

    population = Population.load(kept)
    assert population.database_url == "postgresql://localhost/cp_bench_x"
    assert population.home == kept / "home"
    assert (population.children, population.seed, population.load_seconds) == (1_000, 7, 61.2)
    assert population.links.read_text(encoding="utf-8") == links.read_text(encoding="utf-8")


def test_the_server_reaches_a_database_on_this_machine_through_its_socket(tmp_path: Path) -> None:
    (tmp_path / ".s.PGSQL.5432").touch()
    local = over_socket("postgresql+psycopg://postgres:pw@127.0.0.1/cp_x?sslmode=disable", tmp_path)
    url = make_url(local)
    assert (url.host, url.port, url.database, url.password) == (None, 5432, "cp_x", "pw")
    assert dict(url.query) == {"host": str(tmp_path), "sslmode": "disable"}


def test_the_server_keeps_tcp_for_another_machine_a_missing_socket_or_none_asked(
    tmp_path: Path,
) -> None:
    (tmp_path / ".s.PGSQL.5432").touch()
    remote = "postgresql+psycopg://postgres@db.example:5432/cp_x"
    other_port = "postgresql+psycopg://postgres@127.0.0.1:5433/cp_x"
    assert over_socket(remote, tmp_path) == remote
    assert over_socket(other_port, tmp_path) == other_port
    assert over_socket(other_port.replace("5433", "5432"), None) == other_port.replace(
        "5433", "5432"
    )
