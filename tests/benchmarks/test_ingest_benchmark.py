"""``benchmarks/ingest.py --into DIR`` refuses a directory linkage.py did not keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import BenchmarkError, copy_of_kept_index

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


@pytest.mark.parametrize("kept", [None, "{}", '{"database_url": "postgresql://x/y"}'])
def test_a_directory_not_kept_by_linkage_is_refused_with_advice(
    tmp_path: Path, kept: str | None
) -> None:
    if kept is not None:
        (tmp_path / "search-bench.json").write_text(kept, encoding="utf-8")
    with (
        pytest.raises(BenchmarkError, match="--keep-for-search"),
        copy_of_kept_index(NOWHERE, tmp_path, tmp_path),
    ):
        pass
