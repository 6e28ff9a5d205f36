"""Console output shared by every command: messages, errors, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()
errors = Console(stderr=True)


@contextmanager
def progress_bar(
    label: str, total: int | None, show: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield a callback taking the count done so far; a no-op when not shown."""
    if not show:
        yield lambda _done: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


@contextmanager
def phase_progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """One bar per phase of a long job (reading, linking, writing), made as each starts."""
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def tick(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase.capitalize(), total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield tick
