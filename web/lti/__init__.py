"""The LTI 1.3 tool of `seqquiz serve` (docs/lti.md): mounted on the service's app by `mount`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def mount(app: FastAPI, store: Any, settings: Any) -> Any:
    """Add the tool's routes to `app`; returns the tool (its passback queue, for tests)."""
    from web.lti.routes import Tool, router

    tool = Tool(store, settings)
    app.include_router(router(tool))
    return tool
