"""The buffered random bytes: never handed out twice, across refills, threads and forks."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from contactpoint import entropy


def test_bytes_are_never_repeated_across_refills() -> None:
    drawn = [entropy.random_bytes(12) for _ in range(3 * entropy.REFILL_BYTES // 12)]
    assert all(len(d) == 12 for d in drawn)
    assert len(set(drawn)) == len(drawn)


def test_a_large_draw_comes_whole() -> None:
    assert len(entropy.random_bytes(entropy.REFILL_BYTES + 1)) == entropy.REFILL_BYTES + 1


def test_each_thread_draws_its_own_bytes() -> None:
    drawn: list[bytes] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [entropy.random_bytes(16) for _ in range(2000)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == len(drawn) == 8000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_repeats_its_parents_bytes() -> None:
    entropy.random_bytes(1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, entropy.random_bytes(16))
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    assert child != entropy.random_bytes(16)


def test_bits_are_in_range_and_uuids_are_version_4() -> None:
    values = [entropy.random_bits(55) for _ in range(2000)]
    assert all(0 <= v < 2**55 for v in values)
    assert max(values) >= 2**54, "the top bit is used"
    ids = {entropy.random_uuid() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)
