"""Writing a synthetic England to disk: four feeds, the ground truth, the injected errors.

Streaming throughout: children are generated in blocks of 10,000 and each
block's lines are written before the next is made, so memory does not grow with
the population. Each block's lines are shuffled within their feed, so that the
order of one feed says nothing about the order of another (a linker must not be
able to cheat by line number). Files are written under temporary names and
renamed when complete, so a directory never holds a half-written feed that
looks whole.

Blocks are independent (each has its own seeded generators and identifier
ranges), so a large run splits them between two processes, one per core, and
joins their files in block order: the bytes are the same however the work was
split.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TextIO

from contactpoint.synth import rates
from contactpoint.synth.institutions import Directory
from contactpoint.synth.names import name_bank
from contactpoint.synth.places import places
from contactpoint.synth.population import Population, block_count, truth_record
from contactpoint.synth.sources import FeedRecord, Sources, encode

TRUTH_FILE = "truth.csv"
PEOPLE_FILE = "people.jsonl"
NOISE_FILE = "noise.csv"
TRUTH_HEADER = "source,source_record_id,person_id\n"
NOISE_HEADER = "source,source_record_id,noise\n"
PROGRESS_EVERY = 1000
PARALLEL_FROM = 40_000
"""Below this many children a second process costs more to start than it saves."""

_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What a run wrote: how many children, how many lines per source, which files."""

    children: int
    lines: dict[str, int]
    paths: tuple[Path, ...]
    seconds: float

    @property
    def children_per_second(self) -> float:
        return self.children / self.seconds if self.seconds > 0 else float("inf")


def feed_file(source: str) -> str:
    return f"{source}.jsonl"


def _partial(out_dir: Path, name: str, part: int | None = None) -> Path:
    suffix = "" if part is None else f".{part}"
    return out_dir / f".{name}{suffix}.partial"


def _open(path: Path) -> TextIO:
    return open(path, "w", encoding="utf-8", newline="\n", buffering=_BUFFER_BYTES)


def generate(
    out_dir: Path,
    children: int,
    seed: int,
    reference: date,
    blocks: range,
    part: int,
    progress: Callable[[int], None] | None,
) -> dict[str, int]:
    """Generate the given blocks of the population into this part's temporary files."""
    names, where = name_bank(), places()
    directory = Directory(seed, children, where, names)
    population = Population(children, seed, reference, names, where, directory)
    sources = Sources(seed, reference, names, where, directory)
    handles: dict[str, TextIO] = {}
    counts = dict.fromkeys(rates.SOURCES, 0)
    try:
        for name in [feed_file(s) for s in rates.SOURCES] + [PEOPLE_FILE]:
            handles[name] = _open(_partial(out_dir, name, part))
        for source in rates.SOURCES:
            for kind in ("truth", "noise"):
                handles[f"{kind}.{source}"] = _open(_partial(out_dir, f"{kind}.{source}", part))
        people = handles[PEOPLE_FILE]
        done = 0
        next_report = PROGRESS_EVERY
        for block in blocks:
            sources.start_block(block)
            pending: dict[str, list[FeedRecord]] = {s: [] for s in rates.SOURCES}
            for household in population.block(block):
                for child in household.children:
                    people.write(encode(truth_record(child)) + "\n")
                    for record in sources.records(child):
                        pending[record.source].append(record)
                done += len(household.children)
                if progress is not None and done >= next_report:
                    progress(done)
                    next_report = (done // PROGRESS_EVERY + 1) * PROGRESS_EVERY
            for source, records in pending.items():
                random.Random(f"{seed}:shuffle:{source}:{block}").shuffle(records)  # noqa: S311
                _write(records, handles, source)
                counts[source] += len(records)
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def _write(records: list[FeedRecord], handles: dict[str, TextIO], source: str) -> None:
    feed = handles[feed_file(source)]
    truth = handles[f"truth.{source}"]
    noise = handles[f"noise.{source}"]
    feed.write("".join(record.line + "\n" for record in records))
    truth.write("".join(f"{r.source},{r.record_id},{r.person_id}\n" for r in records))
    noise.write("".join(f"{r.source},{r.record_id},{r.labels}\n" for r in records))


def _workers(requested: int | None, children: int) -> int:
    """Two processes for a large run on a machine with two cores; the output is the same."""
    if requested is not None:
        if requested not in (1, 2):
            raise ValueError("workers must be 1 or 2")
        return requested
    return 2 if children >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1


def _join(out_dir: Path, name: str, parts: int, header: str = "") -> None:
    """One file from the parts' pieces, in block order (a plain rename when there is one)."""
    target = _partial(out_dir, name)
    if parts == 1 and not header:
        os.replace(_partial(out_dir, name, 0), target)
        return
    with open(target, "wb") as joined:
        joined.write(header.encode("utf-8"))
        for part in range(parts):
            piece = _partial(out_dir, name, part)
            with open(piece, "rb") as handle:
                shutil.copyfileobj(handle, joined, _BUFFER_BYTES)
            piece.unlink()


def _join_by_source(out_dir: Path, name: str, kind: str, parts: int, header: str) -> None:
    """truth.csv or noise.csv: the sources in order, each source's parts in block order."""
    with open(_partial(out_dir, name), "wb") as joined:
        joined.write(header.encode("utf-8"))
        for source in rates.SOURCES:
            for part in range(parts):
                piece = _partial(out_dir, f"{kind}.{source}", part)
                with open(piece, "rb") as handle:
                    shutil.copyfileobj(handle, joined, _BUFFER_BYTES)
                piece.unlink()


def _all_partials(out_dir: Path) -> list[Path]:
    names = [feed_file(s) for s in rates.SOURCES] + [PEOPLE_FILE, TRUTH_FILE, NOISE_FILE]
    names += [f"{kind}.{s}" for kind in ("truth", "noise") for s in rates.SOURCES]
    return [_partial(out_dir, name, part) for name in names for part in (None, 0, 1)]


def write_synthetic_feeds(
    out_dir: Path,
    children: int,
    seed: int = 1,
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> SynthSummary:
    """Write a synthetic population of ``children`` children and its feeds into ``out_dir``.

    The same (children, seed, as_of) always gives the same bytes. ``as_of`` is the
    reference "today": ages are counted to it and no date in the output is after
    it (default: today's date, read once here). ``progress`` is called with the
    number of children generated so far, about every thousand children.
    ``workers`` (1 or 2; default: 2 for large runs on a machine with two cores)
    changes only the speed, never the output.
    """
    if children < 0:
        raise ValueError("children must be zero or more")
    reference = as_of if as_of is not None else date.today()  # noqa: DTZ011 - the one default
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    blocks = block_count(children)
    parts = 2 if _workers(workers, children) == 2 and blocks >= 2 else 1
    try:
        if parts == 1:
            counts = generate(out_dir, children, seed, reference, range(blocks), 0, progress)
        else:
            counts = _generate_in_two(out_dir, children, seed, reference, blocks, progress)
        for name in [feed_file(s) for s in rates.SOURCES] + [PEOPLE_FILE]:
            _join(out_dir, name, parts)
        _join_by_source(out_dir, TRUTH_FILE, "truth", parts, TRUTH_HEADER)
        _join_by_source(out_dir, NOISE_FILE, "noise", parts, NOISE_HEADER)
    except BaseException:
        for path in _all_partials(out_dir):
            path.unlink(missing_ok=True)
        raise
    finals = [out_dir / feed_file(s) for s in rates.SOURCES]
    finals += [out_dir / TRUTH_FILE, out_dir / PEOPLE_FILE, out_dir / NOISE_FILE]
    for final in finals:
        os.replace(_partial(out_dir, final.name), final)
    if progress is not None:
        progress(children)
    return SynthSummary(
        children=children,
        lines=counts,
        paths=tuple(finals),
        seconds=time.perf_counter() - started,
    )


class _SecondProcess:
    """The other half of the blocks, in ``python -m contactpoint.synth.worker``.

    A plain subprocess rather than ``multiprocessing``: spawning re-runs the
    caller's main script (breaking callers without a ``__main__`` guard), and
    forking a process that has threads (a progress bar's) can deadlock.
    """

    def __init__(
        self, out_dir: Path, children: int, seed: int, reference: date, blocks: range
    ) -> None:
        import contactpoint

        source_root = str(Path(contactpoint.__file__).resolve().parents[1])
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (source_root, environment.get("PYTHONPATH", "")) if p
        )
        command = [
            sys.executable, "-m", "contactpoint.synth.worker", str(out_dir), str(children),
            str(seed), reference.isoformat(), str(blocks.start), str(blocks.stop),
        ]  # fmt: skip
        self.done = 0
        self.counts: dict[str, int] | None = None
        self._process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
        )
        self._errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        """Progress lines (a count) and, last, the line counts as JSON."""
        if stream is None:
            return
        for line in stream:
            if line.startswith("{"):
                self.counts = {str(k): int(v) for k, v in json.loads(line).items()}
            elif line.strip().isdigit():
                self.done = int(line)

    def _drain(self, stream: IO[str] | None) -> None:
        if stream is not None:
            self._errors.extend(stream)

    def finish(self) -> dict[str, int]:
        code = self._process.wait()
        for reader in self._readers:
            reader.join()
        if code != 0 or self.counts is None:
            last = "".join(self._errors).strip().splitlines()[-1:] or [f"exit code {code}"]
            raise RuntimeError(f"the second synthetic-data process failed: {last[0]}")
        return self.counts

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()


def _generate_in_two(
    out_dir: Path,
    children: int,
    seed: int,
    reference: date,
    blocks: int,
    progress: Callable[[int], None] | None,
) -> dict[str, int]:
    """This process makes the first half of the blocks while a second makes the rest."""
    middle = (blocks + 1) // 2
    second = _SecondProcess(out_dir, children, seed, reference, range(middle, blocks))

    def report(done: int) -> None:
        if progress is not None:
            progress(done + second.done)

    try:
        counts = generate(out_dir, children, seed, reference, range(middle), 0, report)
        others = second.finish()
    except BaseException:
        second.stop()
        raise
    return {source: counts[source] + others[source] for source in rates.SOURCES}
