"""Example benchmark suite: order-book updates, Value at Risk, trade matching.

Run it with::

    perfaction run examples/bench_trading.py -o results.json --time-budget 60

Each ``@benchmark`` function is the set-up: it builds the data once per worker
process and returns the callable that perfaction times. Inputs come from fixed
seeds, so every process and every run times exactly the same work.

The code under test lives here too, to keep the example in one file; in a real
project the benchmarks would import it from the package.
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from statistics import NormalDist

import numpy as np

from perfaction import benchmark

BID, ASK = 0, 1
SEED = 20240607


# ---------------------------------------------------------------------------
# Order book: aggregated price levels, bounded depth
# ---------------------------------------------------------------------------

class OrderBook:
    """A level-2 book: size per price level (integer ticks), at most ``depth`` levels a side.

    ``update(side, price, size)`` sets a level's size; size 0 deletes it. A
    level beyond the kept depth is ignored (or evicts the worst kept level
    when it is better), so memory stays bounded however long the feed runs.
    A bid at or above the best ask removes the asks it crosses (and the other
    way round), so the best bid stays below the best ask.
    """

    def __init__(self, depth: int):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.depth = depth
        self._sizes = ({}, {})           # side -> {price: size}
        self._prices = ([], [])          # side -> ascending prices

    def update(self, side: int, price: int, size: int) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        if size == 0:
            self._delete(side, price)
            return
        self._uncross(side, price)
        sizes, prices = self._sizes[side], self._prices[side]
        if price in sizes:
            sizes[price] = size
            return
        if len(prices) >= self.depth:
            worst = prices[0] if side == BID else prices[-1]
            if (price < worst) if side == BID else (price > worst):
                return                   # outside the kept depth
            self._delete(side, worst)
        bisect.insort(prices, price)
        sizes[price] = size

    def _delete(self, side: int, price: int) -> None:
        sizes, prices = self._sizes[side], self._prices[side]
        if sizes.pop(price, None) is not None:
            del prices[bisect.bisect_left(prices, price)]

    def _uncross(self, side: int, price: int) -> None:
        other = self._prices[1 - side]
        if side == BID:
            while other and other[0] <= price:
                self._delete(ASK, other[0])
        else:
            while other and other[-1] >= price:
                self._delete(BID, other[-1])

    def best_bid(self) -> int | None:
        prices = self._prices[BID]
        return prices[-1] if prices else None

    def best_ask(self) -> int | None:
        prices = self._prices[ASK]
        return prices[0] if prices else None

    def mid(self) -> float | None:
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else (bid + ask) / 2

    def levels(self, side: int) -> list[tuple[int, int]]:
        """(price, size) from best to worst."""
        prices = self._prices[side]
        ordered = reversed(prices) if side == BID else prices
        return [(p, self._sizes[side][p]) for p in ordered]


def make_book_feed(count: int, depth: int, seed: int = SEED) -> list[tuple[int, int, int]]:
    """A synthetic level-2 feed around a drifting mid price, a quarter of it deletes."""
    rng = random.Random(seed)
    mid = 10_000
    feed = []
    for _ in range(count):
        if rng.random() < 0.05:
            mid += rng.choice((-1, 1))
        side = BID if rng.random() < 0.5 else ASK
        offset = 1 + min(int(rng.expovariate(4.0 / depth)), 2 * depth)
        price = mid - offset if side == BID else mid + offset
        size = 0 if rng.random() < 0.25 else rng.randint(1, 500)
        feed.append((side, price, size))
    return feed


@benchmark(params={"depth": [10, 200]})
def book_updates(depth):
    """One feed message applied, then the mid price read."""
    book = OrderBook(depth)
    feed = make_book_feed(10_000, depth)
    for message in feed[:2_000]:         # start from a populated book
        book.update(*message)
    position = [0]

    def apply_next():
        index = position[0]
        book.update(*feed[index])
        position[0] = (index + 1) % len(feed)
        return book.mid()

    return apply_next


# ---------------------------------------------------------------------------
# Value at Risk over a window of daily returns
# ---------------------------------------------------------------------------

def make_returns(days: int, assets: int, seed: int = SEED) -> np.ndarray:
    """Fat-tailed daily returns (Student t, 4 degrees of freedom), about 1% a day."""
    rng = np.random.default_rng(seed)
    return rng.standard_t(4, size=(days, assets)) * 0.01 / np.sqrt(2.0)


def historical_var(pnl: np.ndarray, confidence: float = 0.99) -> float:
    """Loss not exceeded with ``confidence``, from the empirical distribution."""
    return float(-np.quantile(pnl, 1.0 - confidence))


def parametric_var(pnl: np.ndarray, confidence: float = 0.99) -> float:
    """Normal (variance-covariance) VaR from the window's mean and standard deviation."""
    z = NormalDist().inv_cdf(1.0 - confidence)
    return float(-(pnl.mean() + z * pnl.std(ddof=1)))


def _var_benchmark(window: int, method):
    assets = 20
    returns = make_returns(window + 1_000, assets)
    weights = np.full(assets, 1.0 / assets)
    position = [0]

    def next_var():
        start = position[0]
        pnl = returns[start:start + window] @ weights
        position[0] = (start + 1) % 1_000   # the window slides one day per call
        return method(pnl)

    return next_var


@benchmark(params={"window": [250, 2_500]})
def var_historical(window):
    """99% historical VaR of a 20-asset portfolio over a sliding window."""
    return _var_benchmark(window, historical_var)


@benchmark(params={"window": [2_500]})
def var_parametric(window):
    """99% parametric VaR over the same window, for comparison with the historical one."""
    return _var_benchmark(window, parametric_var)


# ---------------------------------------------------------------------------
# Trade matching: limit orders, price-time priority
# ---------------------------------------------------------------------------

class MatchingEngine:
    """Matches limit orders by price, then time: better prices first, earlier orders first."""

    def __init__(self):
        self._queues = ({}, {})          # side -> {price: deque of [order_id, remaining]}
        self._prices = ([], [])          # side -> ascending prices with resting orders

    def submit(self, order_id: int, side: int, price: int, quantity: int) -> list[tuple]:
        """Match an incoming order; rest what is left. Returns fills
        (resting id, incoming id, price, quantity), at the resting order's price."""
        fills = []
        other = 1 - side
        prices, queues = self._prices[other], self._queues[other]
        while quantity and prices:
            best = prices[0] if side == BID else prices[-1]
            if (best > price) if side == BID else (best < price):
                break
            queue = queues[best]
            while quantity and queue:
                resting = queue[0]
                traded = min(quantity, resting[1])
                fills.append((resting[0], order_id, best, traded))
                quantity -= traded
                resting[1] -= traded
                if resting[1] == 0:
                    queue.popleft()
            if not queue:
                del queues[best]
                prices.pop(0 if side == BID else -1)
        if quantity:
            own = self._queues[side]
            if price not in own:
                own[price] = deque()
                bisect.insort(self._prices[side], price)
            own[price].append([order_id, quantity])
        return fills

    def resting(self, side: int) -> list[tuple[int, int, int]]:
        """(price, order id, remaining) from best price to worst, oldest first."""
        prices = self._prices[side]
        ordered = reversed(prices) if side == BID else prices
        return [(p, oid, qty) for p in ordered for oid, qty in self._queues[side][p]]


def make_orders(count: int, seed: int = SEED) -> list[tuple[int, int, int, int]]:
    """Limit orders around 10 000 ticks; about a third cross the spread."""
    rng = random.Random(seed)
    orders = []
    for order_id in range(count):
        side = BID if rng.random() < 0.5 else ASK
        aggressive = rng.random() < 0.35
        offset = rng.randint(0, 3) if aggressive else rng.randint(1, 20)
        price = 10_000 + offset if (side == BID) == aggressive else 10_000 - offset
        orders.append((order_id, side, price, rng.randint(1, 10) * 100))
    return orders


@benchmark(params={"orders": [100, 2_000]})
def trade_matching(orders):
    """A fresh engine matching a fixed stream of orders (no state carried between calls)."""
    stream = make_orders(orders)

    def match_all():
        engine = MatchingEngine()
        fills = 0
        for order in stream:
            fills += len(engine.submit(*order))
        return fills

    return match_all
