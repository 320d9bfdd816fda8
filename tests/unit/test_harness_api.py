"""The @benchmark decorator: forms, parameters, validation."""

import pytest

from perfaction import benchmark
from perfaction.harness.api import BenchmarkDef, case_name, definition_of


def test_bare_decorator_keeps_the_function_and_marks_it():
    @benchmark
    def orders():
        return lambda: None

    definition = definition_of(orders)
    assert isinstance(definition, BenchmarkDef)
    assert definition.name == "orders"
    assert list(definition.cases()) == [("orders", {})]
    assert callable(orders())   # still an ordinary function


def test_params_make_one_case_per_value_named_with_the_value():
    @benchmark(params={"size": [100, 10_000]})
    def book_updates(size):
        return lambda: size

    cases = list(definition_of(book_updates).cases())
    assert cases == [("book_updates[size=100]", {"size": 100}),
                     ("book_updates[size=10000]", {"size": 10_000})]


def test_several_params_give_the_cartesian_product_in_order():
    @benchmark(params={"a": [1, 2], "mode": ["x", "y"]})
    def combo(a, mode):
        return lambda: None

    names = [name for name, _ in definition_of(combo).cases()]
    assert names == ["combo[a=1,mode=x]", "combo[a=1,mode=y]",
                     "combo[a=2,mode=x]", "combo[a=2,mode=y]"]


def test_name_latency_and_timeout_options_are_recorded():
    @benchmark(name="renamed", latency=False, timeout=5)
    def original():
        return lambda: None

    definition = definition_of(original)
    assert (definition.name, definition.latency, definition.timeout) == ("renamed", False, 5)


@pytest.mark.parametrize("params, message", [
    ({"size": []}, "is empty"),
    ({"size": "abc"}, "must be a list"),
    ({"size": [object()]}, "must be a str, int, bool or finite float"),
    ({"size": [float("nan")]}, "finite float"),
    ({"not an identifier": [1]}, "must be an identifier"),
    ({"size": [1, 1]}, "repeats a value"),
    ([1, 2], "must be a dict"),
])
def test_bad_params_are_refused_with_the_reason(params, message):
    with pytest.raises((TypeError, ValueError), match=message):
        @benchmark(params=params)
        def bad(size=None):
            return lambda: None


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="timeout"):
        benchmark(timeout=-1)(lambda: None)
    with pytest.raises(ValueError, match="latency"):
        benchmark(latency="yes")(lambda: None)
    with pytest.raises(ValueError, match="without"):
        benchmark(name="a[b]")(lambda: None)
    with pytest.raises(TypeError, match="decorates a function"):
        benchmark(42)


def test_case_name_without_params_is_the_base_name():
    assert case_name("x", {}) == "x"
    assert definition_of(lambda: None) is None
