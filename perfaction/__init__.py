"""perfaction: a performance-regression gate that holds on noisy shared runners."""

__version__ = "0.1.0"

# The benchmark API (standard library only, so importing perfaction stays light).
from perfaction.harness.api import benchmark  # noqa: E402

__all__ = ["__version__", "benchmark"]
