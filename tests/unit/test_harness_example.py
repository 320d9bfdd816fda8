"""The bundled example's trading code is correct, so its benchmarks time real work."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bench_trading.py"


@pytest.fixture(scope="module")
def trading():
    spec = importlib.util.spec_from_file_location("example_bench_trading", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_book_stays_bounded_sorted_and_uncrossed(trading):
    book = trading.OrderBook(depth=10)
    for message in trading.make_book_feed(20_000, depth=10):
        book.update(*message)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask
    bids, asks = book.levels(trading.BID), book.levels(trading.ASK)
    assert 0 < len(bids) <= 10 and 0 < len(asks) <= 10
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert all(size > 0 for _, size in bids + asks)


def test_book_updates_deletes_and_depth_eviction(trading):
    BID, ASK = trading.BID, trading.ASK
    book = trading.OrderBook(depth=2)
    book.update(BID, 99, 5)
    book.update(BID, 98, 5)
    book.update(BID, 97, 5)          # worse than the kept depth: ignored
    book.update(BID, 100, 1)         # better: evicts 98
    assert book.levels(BID) == [(100, 1), (99, 5)]
    book.update(BID, 100, 0)
    assert book.best_bid() == 99
    book.update(ASK, 101, 3)
    book.update(BID, 101, 2)         # crosses: the ask at 101 is gone
    assert book.best_ask() is None and book.best_bid() == 101
    assert book.mid() is None


def test_matching_follows_price_then_time_priority(trading):
    BID, ASK = trading.BID, trading.ASK
    engine = trading.MatchingEngine()
    assert engine.submit(1, ASK, 101, 100) == []
    assert engine.submit(2, ASK, 100, 100) == []
    assert engine.submit(3, ASK, 100, 50) == []
    fills = engine.submit(4, BID, 101, 220)
    # best price first (100), earliest first at that price (2 before 3), then 101
    assert fills == [(2, 4, 100, 100), (3, 4, 100, 50), (1, 4, 101, 70)]
    assert engine.resting(ASK) == [(101, 1, 30)]
    assert engine.submit(5, BID, 99, 10) == []       # does not cross: rests
    assert engine.resting(BID) == [(99, 5, 10)]


def test_var_estimates_are_sensible(trading):
    returns = trading.make_returns(5_000, 1)[:, 0]
    historical = trading.historical_var(returns)
    parametric = trading.parametric_var(returns)
    assert 0.01 < historical < 0.05 and 0.01 < parametric < 0.05
    # fat tails: the empirical 99% loss exceeds the normal approximation's
    assert historical > parametric * 0.9
