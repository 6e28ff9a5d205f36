"""Key safety at the command line: never a fresh key over data, never the wrong key."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from tests.cli.conftest import (
    NHS_A,
    NHS_B,
    Installation,
    Result,
    child,
    line,
    write_feed,
)


def test_missing_keyring_over_existing_data_is_refused(with_data: Installation) -> None:
    install = with_data
    backup = install.workdir / "keyring-backup.json"
    shutil.move(install.key_file, backup)
    snapshot = install.snapshot()

    feed = write_feed(
        install.workdir / "next.jsonl",
        [line("SC-0003", child(given_names="Noah", date_of_birth="2016-02-02", nhs_number=None))],
    )
    ingest, _ = install.ingest(feed, expect_ok=False)
    assert ingest.returncode != 0
    assert str(install.key_file) in ingest.stderr
    assert "restore" in ingest.stderr.lower()

    init = install.run("init")
    assert init.returncode != 0
    assert "restore the keyring" in init.stderr.lower()
    assert "Created a new keyring" not in init.output
    assert not install.key_file.exists(), "init made a fresh key over existing data"
    assert install.snapshot() == snapshot

    # Restored, everything works again.
    shutil.move(backup, install.key_file)
    _, report = install.ingest(feed)
    assert report["created"] == 1


def test_lost_keyring_before_any_data_never_breaks_the_audit_chain(
    sqlite_initialised: Installation,
) -> None:
    sqlite_install = sqlite_initialised
    sqlite_install.key_file.unlink()

    init = sqlite_install.run("init")

    if init.returncode == 0:
        verify = sqlite_install.run("audit", "verify")
        assert verify.returncode == 0, verify.describe()
    else:
        assert "restore" in init.stderr.lower()


def use_other_keyring(install: Installation, other_keyring: bytes) -> None:
    """Replace the installation's keyring with another installation's (mode kept 0600)."""
    assert install.key_file.read_bytes() != other_keyring
    install.key_file.write_bytes(other_keyring)
    install.key_file.chmod(0o600)


def assert_wrong_key_refused(result: Result) -> None:
    assert result.returncode != 0, result.describe()
    assert "keyring" in result.output.lower(), result.describe()


def test_wrong_keyring_init_is_refused(with_data: Installation, other_keyring: bytes) -> None:
    install = with_data
    use_other_keyring(install, other_keyring)
    snapshot = install.snapshot()

    result = install.run("init")

    assert_wrong_key_refused(result)
    assert "wrong keyring" in result.stderr
    assert install.snapshot() == snapshot


WRONG_KEY_BUG = (
    "src bug: open_runtime (runtime.py) never checks the keyring against the database "
    "(only init calls check_keyring_opens), so with another installation's keyring this "
    "command succeeds and writes under the wrong keys: a new data key wrapped by the wrong "
    "KEK, blind-index tokens under the wrong index key, audit entries under the wrong "
    "audit key (breaking the chain)"
)


def test_wrong_keyring_ingest_is_refused(with_data: Installation, other_keyring: bytes) -> None:
    install = with_data
    use_other_keyring(install, other_keyring)
    snapshot = install.snapshot()
    feed = write_feed(
        install.workdir / "next.jsonl",
        [line("SC-0003", child(given_names="Noah", date_of_birth="2016-02-02", nhs_number=None))],
    )

    result, _ = install.ingest(feed, expect_ok=False)

    assert_wrong_key_refused(result)
    assert install.snapshot() == snapshot


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("linkage", "export", "--out", "links.csv"), None),
        (
            ("users", "add", "--username", "new.user", "--role", "auditor", "--organisation", "X"),
            "a long enough password\n",
        ),
    ],
    ids=["linkage-export", "users-add"],
)
def test_wrong_keyring_other_commands_are_refused(
    sqlite_with_data: Installation,
    other_keyring: bytes,
    args: tuple[str, ...],
    stdin: str | None,
) -> None:
    install = sqlite_with_data
    use_other_keyring(install, other_keyring)
    snapshot = install.snapshot()

    result = install.run(*args, stdin=stdin)

    assert_wrong_key_refused(result)
    assert install.snapshot() == snapshot


def test_wrong_keyring_audit_verify_says_the_key_is_wrong(
    sqlite_with_data: Installation, other_keyring: bytes
) -> None:
    use_other_keyring(sqlite_with_data, other_keyring)

    result = sqlite_with_data.run("audit", "verify")

    assert_wrong_key_refused(result)
    assert "altered" not in result.output


@pytest.mark.parametrize("mode", [0o640, 0o604], ids=oct)
def test_keyring_readable_by_others_is_refused(sqlite_with_data: Installation, mode: int) -> None:
    sqlite_install = sqlite_with_data
    sqlite_install.key_file.chmod(mode)
    snapshot = sqlite_install.snapshot()
    feed = write_feed(sqlite_install.workdir / "next.jsonl", [line("SC-0003")])

    for result in (sqlite_install.ingest(feed, expect_ok=False)[0], sqlite_install.run("init")):
        assert result.returncode != 0, result.describe()
        assert f"chmod 600 {sqlite_install.key_file}" in result.stderr
    assert sqlite_install.snapshot() == snapshot
    assert stat.S_IMODE(sqlite_install.key_file.stat().st_mode) == mode


def keyring_json(install: Installation) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(install.key_file.read_text(encoding="utf-8"))
    return loaded


def assert_private(install: Installation) -> None:
    assert stat.S_IMODE(install.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(install.key_file.parent.stat().st_mode) == 0o700
    leftovers = [p.name for p in install.key_file.parent.iterdir() if p != install.key_file]
    assert leftovers == [], f"temporary key files left behind: {leftovers}"


def test_keys_rotate_then_ingest_and_export_still_work(with_data: Installation) -> None:
    install = with_data
    assert_private(install)
    before = keyring_json(install)
    assert before["active_kek"] == 1

    rotate = install.ok("keys", "rotate")
    assert "version 2 is active" in rotate.stdout
    assert_private(install)
    after = keyring_json(install)
    assert after["active_kek"] == 2
    assert isinstance(after["kek"], dict)
    assert set(after["kek"]) == {"1", "2"}
    assert after["index_key"] == before["index_key"]
    assert after["audit_key"] == before["audit_key"]

    # Linking needs the old records decrypted through their re-wrapped data keys.
    second = write_feed(
        install.workdir / "second.jsonl", [line("GP-0001", child(nhs_number=NHS_A, address=None))]
    )
    _, report = install.ingest(second)
    assert report["linked"] == 1

    retire = install.ok("keys", "rotate", "--retire")
    assert "version 3 is active" in retire.stdout
    assert "Retired versions: [1, 2]" in retire.stdout
    assert_private(install)
    retired = keyring_json(install)
    assert isinstance(retired["kek"], dict)
    assert set(retired["kek"]) == {"3"}

    third = write_feed(
        install.workdir / "third.jsonl",
        [
            line(
                "HV-0001",
                child(nhs_number=NHS_B, given_names="Oliver", gender="male", address=None),
            )
        ],
    )
    _, report = install.ingest(third)
    assert report["linked"] == 1
    links = {r["source_record_id"]: r["child_id"] for r in install.export()}
    assert set(links) == {"SC-0001", "SC-0002", "GP-0001", "HV-0001"}
    assert links["GP-0001"] == links["SC-0001"]
    assert links["HV-0001"] == links["SC-0002"]
    assert_private(install)
    verify = install.ok("audit", "verify")
    assert "Audit chain intact" in verify.stdout
