"""The layer order of docs/architecture.md, enforced: a module imports only from its own package
or from a layer below its own. Data flows one way (edges -> services -> domain -> storage ->
base); a package never imports one beside it in its layer (the engine and ingestion know nothing
of each other). Lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import analytics_mcp

# Top to bottom. Packages in one tuple are peers: neither imports the other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),  # the command line's entry: parser and error reporting
    ("cli_commands",),  # one module per command group: wires what one command needs
    ("demo",),  # generated traffic, then the app
    ("app",),  # the Starlette app factory: every edge behind one ASGI app
    ("dashboard",),  # the web UI: pages, static files, its own data routes
    ("http_api",),  # HTTP: REST routes, tracker endpoint, auth, sessions, errors, rate limits
    ("chat",),  # the AI chat's tool loop
    ("tools",),  # the MCP server and its tools
    ("platform", "reports"),  # platform analytics (seed 001); the weekly email reports
    ("services",),  # the container every edge is handed
    ("experiments", "export"),  # features built on the engine and ingestion
    ("engine", "ingest"),  # reading (queries) and writing (events): peers
    ("rollups",),  # pre-aggregates: written by ingestion, read through the engine
    ("storage",),  # schema, databases, SQL dialects, accounts
    ("config", "definitions", "field_error", "heap", "periodic", "timeutil"),  # base: settings and pure rules
)
SRC = Path(analytics_mcp.__file__).parent


def package_of(module: str) -> str:
    """`analytics_mcp.engine.query` -> `engine`; `analytics_mcp.app` -> `app`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(package: str) -> int:
    for index, names in enumerate(LAYERS):
        if package in names:
            return index
    raise AssertionError(f"{package!r} has no layer: add it to LAYERS and to docs/architecture.md")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every analytics_mcp import in the file, function bodies included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
            if node.module == "analytics_mcp":  # `from analytics_mcp import engine`, not __version__
                names = [
                    a.name for a in node.names if (SRC / a.name).is_dir() or (SRC / f"{a.name}.py").exists()
                ]
                modules = [f"analytics_mcp.{name}" for name in names]
            found += [(node.lineno, m) for m in modules if m.startswith("analytics_mcp.")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("analytics_mcp.")]
    return found


def module_name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        own = package_of(module_name(path))
        if own == "":
            continue  # the package's __init__
        for line, target in imports_of(path):
            other = package_of(target)
            if other == own:
                continue
            if layer_of(other) <= layer_of(own):
                where = f"{path.relative_to(SRC.parent)}:{line}"
                problems.append(f"{where}: {own} imports {target} ({other} is not below {own})")
    return problems


def test_every_import_points_down_the_layers() -> None:
    problems = violations()
    assert not problems, "upward or sideways imports:\n" + "\n".join(problems)


def test_every_package_has_a_layer() -> None:
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}
    packages -= {"__init__", "__pycache__"}
    for package in sorted(packages):
        layer_of(package)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from analytics_mcp.http_api.errors import ApiError\n")
    assert imports_of(sample) == [(2, "analytics_mcp.http_api.errors")]
    assert layer_of("http_api") < layer_of("engine")
