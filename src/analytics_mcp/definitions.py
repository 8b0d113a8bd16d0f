"""Definitions that ingestion and the engine both rely on, written once (where each metric
definition lives: docs/architecture.md): what a pageview is called, which event names are
e-commerce events, and the gap that ends a visit."""

from __future__ import annotations

PAGEVIEW = "pageview"
ENGAGEMENT = "engagement"
ECOMMERCE_EVENTS = frozenset({"view_item", "add_to_cart", "begin_checkout", "purchase"})
VISIT_GAP_MS = 30 * 60 * 1000  # a visit ends after 30 minutes without an event
