"""perfaction: a performance-regression gate that holds on noisy shared runners."""

__version__ = "0.1.0"
