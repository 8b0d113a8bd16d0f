"""The shop funnel of a visit: view_item -> add_to_cart -> begin_checkout -> purchase (GA4 names),
with the product, cart, checkout and thank-you pageviews around them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from analytics_mcp.demo.catalog import Product
from analytics_mcp.demo.model import Model

CART_RATE = 1 / 3
CHECKOUT_RATE = 0.6
PURCHASE_RATE = 0.7
USD_RATE = 0.015  # rare, to exercise the "other currencies are left out of sums" rule
USD_PER_EUR = 1.1
CROSS_SELL_RATE = 0.2
CROSS_SELL_ID = "SKU-STK"
MULTI_QUANTITY = {"SKU-SEAT": 5, "SKU-TEE": 3, "SKU-STK": 3}  # item_id -> max quantity


class Visitor(NamedTuple):
    ip: str
    user_agent: str
    language: str


class PageView(Protocol):
    def __call__(
        self, visitor: Visitor, url: str, ref: str | None, t: int, dwell: int, leave: bool
    ) -> None: ...


Add = Callable[[tuple[int, dict[str, Any]]], None]


class Shop:
    def __init__(self, model: Model, rng: random.Random, add: Add) -> None:
        self.m = model
        self.random = rng.random
        self.bits = rng.getrandbits
        self.add = add
        self.tx_prefix = f"{rng.getrandbits(24):06X}"
        self.tx_count = 0
        self.cross_sell = next(p for p in model.products if p.item_id == CROSS_SELL_ID)

    def event(self, name: str, url: str, ref: str | None, visitor: Visitor) -> dict[str, Any]:
        ip, ua, lang = visitor
        return {"name": name, "url": url, "domain": self.m.domain, "referrer": ref,
                "language": lang, "ip": ip, "user_agent": ua}  # fmt: skip

    def run(self, visitor: Visitor, ref: str | None, t: int, page_view: PageView) -> int:
        """Emit the funnel from time t on; returns the time the visit ends."""
        depth = self._depth()
        m, bits = self.m, self.bits
        product = m.products[bits(12)]
        usd = self.random() < USD_RATE
        cart = [self._item(product, usd)]
        funnel = m.funnel_urls
        urls = (m.product_urls[product.item_id], funnel["cart"], funnel["checkout"], funnel["thanks"])
        for step in range(depth):  # a purchase (depth 4) ends on the thank-you page
            url = urls[step]
            dwell = m.gaps[bits(12)] + 15_000 + bits(10)
            page_view(visitor, url, ref, t, dwell, step == depth - 1)
            if step == 0:
                self._emit("view_item", url, ref, visitor, t + 800 + bits(11), [dict(cart[0], quantity=1)])
                if depth >= 2:
                    self._add_cross_sell(cart, product, usd)
                    self._emit("add_to_cart", url, ref, visitor, t + dwell // 2, cart)
            elif step == 2:
                self._emit("begin_checkout", url, ref, visitor, t + 500 + bits(10), cart)
                if depth == 4:
                    self._purchase(url, ref, visitor, t + dwell * 3 // 4, cart, usd)
            t += dwell
            ref = url
        return t

    def _depth(self) -> int:
        """How far down the funnel this visit goes: 1 view, 2 cart, 3 checkout, 4 purchase."""
        depth = 1
        for rate in (CART_RATE, CHECKOUT_RATE, PURCHASE_RATE):
            if self.random() >= rate:
                break
            depth += 1
        return depth

    def _item(self, product: Product, usd: bool, quantity: int | None = None) -> dict[str, Any]:
        most = MULTI_QUANTITY.get(product.item_id, 1)
        if quantity is None:
            quantity = 1 if most == 1 or self.random() < 0.6 else 2 + int(self.random() * (most - 1))
        price = round(product.price * USD_PER_EUR, 2) if usd else product.price
        return {
            "item_id": product.item_id,
            "item_name": product.item_name,
            "price": price,
            "quantity": quantity,
        }

    def _add_cross_sell(self, cart: list[dict[str, Any]], product: Product, usd: bool) -> None:
        if product.item_id != CROSS_SELL_ID and self.random() < CROSS_SELL_RATE:
            cart.append(self._item(self.cross_sell, usd, quantity=1))

    def _emit(
        self, name: str, url: str, ref: str | None, visitor: Visitor, at: int, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        event = self.event(name, url, ref, visitor)
        event["items"] = [dict(item) for item in items]  # each event owns its items
        self.add((at, event))
        return event

    def _purchase(
        self, url: str, ref: str | None, visitor: Visitor, at: int, cart: list[dict[str, Any]], usd: bool
    ) -> None:
        self.tx_count += 1
        event = self._emit("purchase", url, ref, visitor, at, cart)
        amount = round(sum(item["price"] * item["quantity"] for item in cart), 2)
        event["revenue"] = {"amount": amount, "currency": "USD" if usd else "EUR"}
        event["transaction_id"] = f"T-{self.tx_prefix}-{self.tx_count:06d}"
