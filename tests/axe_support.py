"""axe-core in the browser tests: the npm package's file (`make vendor` installs it under
build/npm), evaluated over CDP (so the page's CSP does not apply), serious and critical
violations only."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

AXE = Path(__file__).parents[1] / "build/npm/node_modules/axe-core/axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
}"""


async def axe_violations(page: Page) -> list[str]:
    """The page's serious and critical axe-core violations, as 'rule (impact): targets'."""
    assert AXE.exists(), "axe-core is missing: run `make vendor`"
    if not await page.evaluate("() => 'axe' in window"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = await page.evaluate(AXE_RUN)
    return found
