"""The demo site's world: pages, traffic sources, campaigns, browsers, languages and products.

Plain data with weights (relative, not percentages); `traffic` turns them into lookup tables.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Product(NamedTuple):
    item_id: str
    item_name: str
    price: float
    slug: str


class Source(NamedTuple):
    weight: float
    referrer: str | None
    query: str  # appended to the entry page URL ("" or "?utm_source=...")


# -- pages -------------------------------------------------------------------------------------

BLOG_SLUGS: Final = (
    "privacy-first-analytics", "google-analytics-alternatives", "cookie-banners-explained",
    "gdpr-and-web-analytics", "bounce-rate-myths", "utm-parameters-guide", "self-hosting-on-a-vps",
    "ask-your-analytics-with-ai", "mcp-servers-for-analytics", "server-side-tracking",
    "measuring-ecommerce-without-cookies", "core-web-vitals-and-seo", "dashboard-design-lessons",
    "sqlite-in-production", "clickhouse-vs-postgres", "how-we-count-unique-visitors",
    "referrer-spam-and-bots", "goal-tracking-101", "funnel-analysis-for-saas", "launch-week-recap",
    "changelog-february-2026", "migrating-from-universal-analytics", "open-source-business-model",
    "ai-assistants-as-traffic-source",
)  # fmt: skip
DOC_SLUGS: Final = (
    "getting-started", "tracker-script", "custom-events", "goals", "ecommerce", "funnels",
    "api/authentication", "api/stats", "api/export", "api/events", "mcp/claude-desktop",
    "mcp/cursor", "mcp/tools", "self-hosting", "configuration", "postgresql", "clickhouse",
    "backups", "faq", "python/install", "wordpress/install", "nextjs/install", "django/install",
    "shopify/install", "docker/install",
)  # fmt: skip
FEATURE_SLUGS: Final = (
    "dashboard", "goals", "funnels", "ecommerce", "ai-chat", "mcp", "api", "privacy",
)  # fmt: skip

PRODUCTS: Final = (
    Product("SKU-PRO-M", "Pro Plan Monthly", 39.00, "pro-plan-monthly"),
    Product("SKU-PRO-Y", "Pro Plan Annual", 399.00, "pro-plan-annual"),
    Product("SKU-BIZ-M", "Business Plan Monthly", 63.00, "business-plan-monthly"),
    Product("SKU-BIZ-Y", "Business Plan Annual", 630.00, "business-plan-annual"),
    Product("SKU-SEAT", "Extra Team Seat", 12.00, "extra-team-seat"),
    Product("SKU-ONB", "Onboarding Session", 250.00, "onboarding-session"),
    Product("SKU-TEE", "Analytics T-Shirt", 25.00, "analytics-t-shirt"),
    Product("SKU-STK", "Sticker Pack", 6.50, "sticker-pack"),
)
PRODUCT_WEIGHTS: Final = (30, 14, 12, 5, 10, 3, 14, 12)

# Entry pages: weights per section; within a section popular pages come first (Zipf-like).
ENTRY_SECTIONS: Final = {
    "home": 27, "blog": 33, "docs": 13, "pricing": 8, "features": 7, "about": 2, "contact": 1,
    "login": 6, "signup": 2, "blog_index": 1,
}  # fmt: skip

# Where a visitor goes next from each section (the e-commerce pages are added by the funnel).
NEXT_SECTIONS: Final = {
    "home": {"pricing": 25, "features": 22, "blog_index": 12, "docs": 10, "signup": 10, "login": 8,
             "about": 8, "blog": 5},
    "blog": {"blog": 35, "home": 20, "pricing": 12, "features": 10, "signup": 8, "blog_index": 10,
             "docs": 5},
    "blog_index": {"blog": 80, "home": 10, "pricing": 10},
    "docs": {"docs": 60, "pricing": 10, "signup": 10, "home": 10, "features": 10},
    "pricing": {"signup": 30, "features": 25, "home": 15, "contact": 10, "docs": 10, "about": 10},
    "features": {"features": 30, "pricing": 35, "signup": 15, "docs": 10, "home": 10},
    "signup": {"docs": 40, "home": 20, "pricing": 20, "login": 20},
    "login": {"docs": 50, "home": 30, "pricing": 20},
    "about": {"contact": 30, "home": 30, "blog_index": 20, "pricing": 20},
    "contact": {"home": 50, "about": 25, "pricing": 25},
}  # fmt: skip


def section_paths() -> dict[str, list[str]]:
    """Paths per section, most popular first."""
    return {
        "home": ["/"],
        "pricing": ["/pricing"],
        "features": ["/features", *(f"/features/{s}" for s in FEATURE_SLUGS)],
        "blog_index": ["/blog"],
        "blog": [f"/blog/{s}" for s in BLOG_SLUGS],
        "docs": ["/docs", *(f"/docs/{s}" for s in DOC_SLUGS)],
        "signup": ["/signup"],
        "login": ["/login"],
        "about": ["/about"],
        "contact": ["/contact"],
    }


FUNNEL_PATHS: Final = {"cart": "/cart", "checkout": "/checkout", "thanks": "/thank-you"}

# -- acquisition -------------------------------------------------------------------------------


def _utm(source: str, medium: str, campaign: str, content: str | None = None) -> str:
    query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
    return query + (f"&utm_content={content}" if content else "")


REFERRAL_SITES: Final = (
    "https://www.smashingmagazine.com/", "https://css-tricks.com/", "https://dev.to/",
    "https://indiehackers.com/", "https://www.heise.de/", "https://t3n.de/", "https://alternativeto.net/",
    "https://news.softwareweekly.io/", "https://privacytools.io/", "https://selfh.st/",
    "https://simonwillison.net/", "https://changelog.com/news",
)  # fmt: skip

SOURCES: Final = (
    Source(35.0, None, ""),
    # organic search
    Source(17.0, "https://www.google.com/", ""),
    Source(4.0, "https://www.google.de/", ""),
    Source(3.0, "https://www.bing.com/", ""),
    Source(3.5, "https://duckduckgo.com/", ""),
    Source(2.0, "https://www.ecosia.org/", ""),
    # social
    Source(3.0, "https://t.co/", ""),
    Source(1.5, "https://www.facebook.com/", ""),
    Source(2.0, "https://www.linkedin.com/", ""),
    Source(2.0, "https://www.reddit.com/", ""),
    Source(2.0, "https://news.ycombinator.com/", ""),
    Source(0.5, "https://t.co/", _utm("twitter", "social", "launch-week")),
    # AI assistants
    Source(3.0, "https://chatgpt.com/", ""),
    Source(1.2, "https://www.perplexity.ai/", ""),
    Source(0.8, "https://claude.ai/", ""),
    # referral sites: one slot each, spread evenly
    *(Source(0.75, site, "") for site in REFERRAL_SITES),
    # email and newsletters
    Source(2.5, None, _utm("newsletter", "email", "feb-2026")),
    Source(1.0, None, _utm("newsletter", "newsletter", "jan-2026")),
    Source(0.8, None, _utm("mailchimp", "email", "launch-week", "hero-button")),
    Source(0.4, "https://mail.google.com/", ""),
    # paid
    Source(2.5, "https://www.google.com/", _utm("google", "cpc", "spring-sale")),
    Source(1.2, "https://www.google.com/", _utm("google", "cpc", "brand-search")),
    Source(0.8, "https://www.linkedin.com/", _utm("linkedin", "paid", "b2b-retargeting")),
)

OUTBOUND_URLS: Final = (
    "https://github.com/analytics-mcp/analytics-mcp", "https://modelcontextprotocol.io/",
    "https://gdpr.eu/cookies/", "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://docs.docker.com/get-started/", "https://www.sqlite.org/wal.html",
)  # fmt: skip
DOWNLOAD_FILES: Final = (
    "whitepaper-privacy.pdf",
    "dpa-template.pdf",
    "analytics-mcp-1.4.2.tar.gz",
    "brand-kit.zip",
)

# -- clients -----------------------------------------------------------------------------------

_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 {mobile}Safari/537.36{suffix}"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v} {tail}Safari/605.1.15"


def _chrome(platform: str, version: int, mobile: str = "", suffix: str = "") -> str:
    return f"Mozilla/5.0 ({platform}) " + _CHROME.format(v=version, mobile=mobile, suffix=suffix)


def _safari(platform: str, version: str, tail: str = "") -> str:
    return f"Mozilla/5.0 ({platform}) " + _SAFARI.format(v=version, tail=tail)


_WIN = "Windows NT 10.0; Win64; x64"
_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_ANDROID = "Linux; Android 10; K"

# (weight, device class, user agent); device shares come out at about 55/40/5.
USER_AGENTS: Final = (
    (14.0, "desktop", _chrome(_WIN, 133)),
    (8.0, "desktop", _chrome(_WIN, 132)),
    (4.0, "desktop", _chrome(_MAC, 133)),
    (2.5, "desktop", _chrome(_MAC, 131)),
    (6.0, "desktop", _safari(_MAC, "18.3")),
    (2.5, "desktop", _safari(_MAC, "17.6")),
    (4.0, "desktop", f"Mozilla/5.0 ({_WIN}; rv:135.0) Gecko/20100101 Firefox/135.0"),
    (1.5, "desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:134.0) Gecko/20100101 Firefox/134.0"),
    (1.5, "desktop", "Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0"),
    (2.0, "desktop", _chrome("X11; Linux x86_64", 133)),
    (6.0, "desktop", _chrome(_WIN, 133, suffix=" Edg/133.0.0.0")),
    (1.5, "desktop", _chrome(_WIN, 132, suffix=" OPR/117.0.0.0")),
    (1.0, "desktop", _chrome(_MAC, 133, suffix=" Edg/133.0.0.0")),
    (9.0, "mobile", _safari("iPhone; CPU iPhone OS 18_3 like Mac OS X", "18.3", "Mobile/15E148 ")),
    (5.0, "mobile", _safari("iPhone; CPU iPhone OS 17_6_1 like Mac OS X", "17.6", "Mobile/15E148 ")),
    (2.0, "mobile", _safari("iPhone; CPU iPhone OS 16_7_10 like Mac OS X", "16.6", "Mobile/15E148 ")),
    (2.0, "mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) CriOS/133.0.6943.84 Mobile/15E148 Safari/604.1"),
    (10.0, "mobile", _chrome(_ANDROID, 133, "Mobile ")),
    (4.0, "mobile", _chrome(_ANDROID, 132, "Mobile ")),
    (4.0, "mobile", "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36"),
    (1.5, "mobile", "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (1.5, "mobile", "Mozilla/5.0 (Android 14; Mobile; rv:135.0) Gecko/135.0 Firefox/135.0"),
    (1.0, "mobile", _chrome(_ANDROID, 131, "Mobile ")),
    (1.0, "mobile", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/133.0.6943.49 Mobile Safari/537.36"),
    (1.5, "tablet", _safari("iPad; CPU OS 18_3 like Mac OS X", "18.3", "Mobile/15E148 ")),
    (1.0, "tablet", _safari("iPad; CPU OS 17_6 like Mac OS X", "17.6", "Mobile/15E148 ")),
    (1.5, "tablet", "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/133.0.0.0 Safari/537.36"),
    (1.0, "tablet", "Mozilla/5.0 (Linux; Android 13; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like "
                    "Gecko) Chrome/132.0.0.0 Safari/537.36"),
)  # fmt: skip

LANGUAGES: Final = {
    "en-US": 26, "en-GB": 9, "de-DE": 17, "de-AT": 2.5, "de-CH": 2, "fr-FR": 8, "nl-NL": 6,
    "es-ES": 5, "it-IT": 4, "pt-BR": 4, "pl-PL": 3, "sv-SE": 2, "da-DK": 1.5, "cs-CZ": 1.5,
    "fr-CA": 1, "ja-JP": 1, "en": 2, "de": 1,
}  # fmt: skip

# First octets of busy public IPv4 space (no private, loopback or multicast blocks): European
# (RIPE) blocks, then North American ones (mostly US, some Canada), so the visitor countries the
# ingestion derives from the IPs are a European-led mix with the US near the top.
IPV4_FIRST_OCTETS: Final = (
    2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 93, 94, 95,
    109, 141, 145, 151, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217,
    24, 50, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 96, 97, 98, 99, 173, 174,
)  # fmt: skip
