"""The second process of a two-process run: ``python -m contactpoint.synth.worker``.

It generates a range of blocks into part 1's temporary files (see writer.py),
printing the number of children done as it goes and, last, its line counts as
JSON, for the first process to join into the final files.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path


def main(argv: list[str]) -> int:
    from contactpoint.synth.writer import PROGRESS_EVERY, generate

    out_dir, children, seed, as_of, first, stop = argv

    def report(done: int) -> None:
        if done % (10 * PROGRESS_EVERY) < PROGRESS_EVERY:
            print(done, flush=True)

    counts = generate(
        Path(out_dir),
        int(children),
        int(seed),
        date.fromisoformat(as_of),
        range(int(first), int(stop)),
        1,
        report,
    )
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
