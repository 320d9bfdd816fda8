"""benchmarks/layout_sensitivity.py runs end to end on a tiny configuration."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "layout_sensitivity.py"


@pytest.mark.parametrize("factor, unit", [("depth", "frames"), ("env", "bytes")])
def test_each_level_is_measured_and_tested(factor, unit):
    done = subprocess.run([sys.executable, str(SCRIPT), "--factor", factor, "--processes", "3",
                           "--levels", "2", "--functions", "ref_100ns"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines()
            if re.match(rf"\s+\d+ {unit}\s", line)]
    assert len(rows) == 2 and all(" ns " in row for row in rows)
    assert "Kruskal-Wallis p =" in done.stdout
