"""``contactpoint demo`` and ``contactpoint synth`` from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONTACTPOINT = str(Path(sys.executable).parent / "contactpoint")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTPOINT_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [CONTACTPOINT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_builds_a_populated_installation_with_accounts(tmp_path: Path) -> None:
    result = run("demo", "--children", "200", "--home", "demo", "--no-serve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for source in ("nhs-pds", "child-benefit", "school-census", "local-authority"):
        assert re.search(rf"{source}\.jsonl from {source}: \d+ lines; accepted \d+", result.stdout)
    assert "rejected 0." in result.stdout
    assert not re.search(r"rejected [1-9]", result.stdout)
    for role in ("practitioner", "emergency", "la_admin", "auditor", "feed"):
        assert role in result.stdout
    assert "Children to search for (made up)" in result.stdout
    assert "a child with a GP and a school" in result.stdout
    assert "Open http://localhost:8000/" in result.stdout
    home = tmp_path / "demo"
    assert (home / "keys" / "keyring.json").stat().st_mode & 0o777 == 0o600
    env_home = {"CONTACTPOINT_HOME": str(home)}
    verify = subprocess.run(
        [CONTACTPOINT, "audit", "verify"],
        env={**os.environ, **env_home},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


def test_demo_recreates_its_own_directory_but_refuses_another(tmp_path: Path) -> None:
    assert (
        run("demo", "--children", "50", "--home", "d", "--no-serve", cwd=tmp_path).returncode == 0
    )
    again = run("demo", "--children", "50", "--home", "d", "--no-serve", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    refused = run("demo", "--children", "50", "--home", "precious", "--no-serve", cwd=tmp_path)
    assert refused.returncode == 2
    assert "not a demo directory" in refused.stderr
    assert (precious / "data.txt").read_text() == "keep me"


def test_synth_writes_feeds_and_truth(tmp_path: Path) -> None:
    result = run(
        "synth",
        "--children",
        "100",
        "--out",
        "feeds",
        "--seed",
        "7",
        "--as-of",
        "2026-01-01",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    names = {p.name for p in (tmp_path / "feeds").iterdir()}
    assert {"nhs-pds.jsonl", "child-benefit.jsonl", "truth.csv"} <= names
    bad = run("synth", "--children", "10", "--out", "f2", "--as-of", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--as-of" in bad.stderr
