"""lengthen: extend film and TV shots with identity-preserving video diffusion.

Importing this package is cheap: it imports no torch, Qt or insightface. Heavy modules load
when a command or a function that needs them runs.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
