"""Two writers at once: every line lands once and the audit chain stays one chain."""

from __future__ import annotations

import subprocess

from tests.cli.conftest import CONTACTPOINT, Installation, distinct_child, line, write_feed


def test_concurrent_ingests_keep_one_verifiable_chain(initialised: Installation) -> None:
    install = initialised
    feeds = []
    for worker in range(2):
        lines = [line(f"W{worker}-{i:04d}", distinct_child(worker * 1000 + i)) for i in range(1200)]
        feeds.append(write_feed(install.workdir / f"w{worker}.jsonl", lines))
    processes = [
        subprocess.Popen(
            [
                str(CONTACTPOINT),
                "ingest",
                "--source",
                f"feed-{n}",
                str(feed),
                "--report",
                str(install.workdir / f"r{n}.json"),
            ],
            env=install.env,
            cwd=install.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, feed in enumerate(feeds)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
        assert "Traceback" not in out + err
    assert len(install.stored_ids()) == 2400
    verify = install.ok("audit", "verify")
    assert "Audit chain intact" in verify.stdout
