"""The one error the preflight raises for bad input; the command line turns it into exit status 2."""

from __future__ import annotations


class PreflightError(ValueError):
    """Bad input: a manifest, a quantity, a stack output or config the tool cannot use."""
