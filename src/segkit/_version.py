"""segkit's version, in one place that every module may import (the package root re-exports it)."""

__version__ = "0.1.0"
