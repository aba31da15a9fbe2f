"""The web layer: Starlette routes and templates over the storage and progress packages."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
