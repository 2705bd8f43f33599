"""Engines turn a planned shot's context frames (and identity banks) into new frames.

See :mod:`lengthen.engines.base` for the protocol and :func:`get_engine` for the registry.
"""

from .base import ENGINES, Engine, EngineSettings, GenerateRequest, GenerateResult, get_engine, list_engines

__all__ = ["ENGINES", "Engine", "EngineSettings", "GenerateRequest", "GenerateResult", "get_engine", "list_engines"]
