"""Markdown extensions, each a ``x_plugin(md, **opts)`` function in its own module."""
