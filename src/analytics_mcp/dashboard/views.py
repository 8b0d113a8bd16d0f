"""Templates (Jinja2, autoescaped) and the static files the dashboard pages load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
VENDOR_FILES = ("vendor/uPlot.esm.js", "vendor/uPlot.min.css")
STATIC_PREFIX = "/dashboard/static/"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = lambda path: STATIC_PREFIX + path


def charts_available() -> bool:
    """uPlot is copied in by `make setup`; without it the dashboard says so and shows tables only."""
    return all((STATIC_DIR / name).is_file() for name in VENDOR_FILES)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


class DashboardStatic(StaticFiles):
    """Static files revalidated on every load (ETag), since module imports carry no version."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def static_app() -> DashboardStatic:
    return DashboardStatic(directory=STATIC_DIR, check_dir=False)
