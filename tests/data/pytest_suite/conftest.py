"""A fixture of module scope, as a team's conftest.py would hold one."""

import pytest


@pytest.fixture(scope="module")
def words():
    return [f"w{i % 37}" for i in range(2000)]
