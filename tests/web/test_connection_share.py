"""A worker holding more than its share of keep-alive connections asks one client at a
time to reconnect; one at or under its share never does."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from contactpoint.web.connection_share import CLOSE_GAP, ConnectionShare, ShareConnections


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def share(counts: list[int], index: int, held: int, clock: Clock) -> ConnectionShare:
    return ConnectionShare(counts, index, lambda: held, clock=clock)


def test_a_worker_over_its_share_closes_one_connection_at_a_time() -> None:
    clock = Clock()
    counts = [0, 15]
    crowded = share(counts, 0, 17, clock)
    assert crowded.should_close()
    assert counts == [17, 15], "each worker records what it holds"
    assert not crowded.should_close(), "a second close waits for the first to land"
    clock.now += CLOSE_GAP
    assert crowded.should_close()


@pytest.mark.parametrize(
    ("counts", "held"),
    [([0, 16], 16), ([0, 17], 16), ([0, 16], 17), ([0, 20], 3), ([0], 32), ([0, 0, 0], 1)],
)
def test_a_worker_at_or_under_its_share_keeps_its_connections(counts: list[int], held: int) -> None:
    """16 of 32 and 17 of 33 are fair shares (the total over the workers, rounded up);
    a lone worker's share is everything."""
    assert not share(counts, 0, held, Clock()).should_close()


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]})
    await send({"type": "http.response.body", "body": b"{}"})


def headers_of(app: ShareConnections) -> dict[str, str]:
    response = TestClient(app).get("/")
    assert response.content == b"{}"
    return dict(response.headers)


def test_the_response_of_a_crowded_worker_asks_its_client_to_reconnect() -> None:
    app = ShareConnections(answer, share([0, 10], 0, 20, Clock()))
    assert headers_of(app) == {"a": "b", "connection": "close"}
    assert headers_of(app) == {"a": "b"}, "one close, then a pause"


@pytest.mark.parametrize("held", [10, None])
def test_a_fair_worker_or_a_lone_process_answers_unchanged(held: int | None) -> None:
    app = ShareConnections(answer, None if held is None else share([0, 10], 0, held, Clock()))
    assert headers_of(app) == {"a": "b"}
