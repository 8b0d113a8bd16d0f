"""Pure enrichment steps of the ingestion pipeline (definitions: docs/architecture.md, "Where
the metric definitions live"): client (browser, OS, device, bot filter), acquisition (source,
referrer, channel, UTM), language and page path. They run once per event on the hot path, so UA
parsing and host lookups are cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import SplitResult, parse_qsl, urlsplit

from ua_parser import Device, Domain, load_lazy_builtins
from ua_parser.regex import Resolver  # backed by ua-parser-rs, the fastest resolver

from analytics_mcp.ingest import referrers
from analytics_mcp.storage.account_rules import site_key

# --- client -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientInfo:
    browser: str
    os: str
    device_type: str  # "desktop" | "mobile" | "tablet"


# Lower-case signatures of bots, crawlers, monitors, headless/automation tools and HTTP libraries.
# Plain substring tests: one big regex alternation is twenty times slower in `re`.
_BOT_TOKENS: Final = (
    "crawl", "spider", "slurp", "scrape", "headless", "lighthouse", "pingdom", "uptime", "monitor",
    "synthetics", "pinger", "gtmetrix", "ptst/", "preview", "externalhit", "externalagent",
    "mediapartners", "google-", "read-aloud", "feedfetcher", "validator", "archiver", "python",
    "curl/", "wget/", "go-http-client", "okhttp", "java/", "httpclient", "libwww", "lwp-", "axios",
    "node-fetch", "undici", "postman", "insomnia", "httpie", "guzzle", "reqwest", "dart:io", "scrapy",
    "phantomjs", "selenium", "puppeteer", "playwright", "cypress",
    "http://", "https://",  # a URL in a User-Agent is a crawler's contact address
)  # fmt: skip
# "bot" ending a word, but not the phone brand Cubot.
_BOT_WORD: Final = re.compile(r"(?<!cu)bots?(?![a-z])")

_BROWSERS: Final = {
    family: name
    for name, families in {
        "Chrome": ("Chrome Mobile", "Chrome Mobile iOS", "Chrome Mobile WebView"),
        "Safari": ("Mobile Safari", "Mobile Safari UI/WKWebView"),
        "Firefox": ("Firefox Mobile", "Firefox iOS", "Firefox Beta", "Firefox Alpha"),
        "Edge": ("Edge Mobile",),
        "Opera": ("Opera Mobile", "Opera Mini", "Opera Tablet", "Opera Coast", "Opera Touch", "Opera GX"),
        "Internet Explorer": ("IE", "IE Mobile", "IE Large Screen"),
    }.items()
    for family in families
}

_LINUX_DISTROS: Final = {
    "Ubuntu", "Kubuntu", "Xubuntu", "Lubuntu", "Debian", "Fedora", "Red Hat", "CentOS", "SUSE",
    "openSUSE", "Mint", "Linux Mint", "Arch Linux", "Gentoo", "Mandriva", "Slackware", "Mageia"}  # fmt: skip
_PHONE_OSES: Final = ("Windows Phone", "Windows Mobile", "Windows CE")
_MOBILE_OSES: Final = {"iOS", *_PHONE_OSES, "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS", "webOS"}
_MOBILE_DEVICES: Final = {"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"}


# Built on first use (~0.2 s); no ua-parser cache on top, `_parse_cached` caches ClientInfo instead.
@lru_cache(maxsize=1)
def _resolver() -> Resolver:
    return Resolver(load_lazy_builtins())


def warm_up() -> None:
    """Build the parser now instead of on the first event."""
    _resolver()


def parse_user_agent(user_agent: str | None) -> ClientInfo | None:
    """Browser, OS and device type of a User-Agent, or None to drop the event.

    None for an empty UA, bots, crawlers, headless/automation browsers, and non-browser clients
    (curl, wget, HTTP libraries, anything ua-parser knows neither as a browser nor as an OS).
    """
    if not user_agent or not (user_agent := user_agent.strip()):
        return None
    return _parse_cached(user_agent)


@lru_cache(maxsize=8192)
def _parse_cached(user_agent: str) -> ClientInfo | None:
    if _is_bot(user_agent.lower()):
        return None
    result = _resolver()(user_agent, Domain.ALL)
    device = result.device
    if device is not None and device.family == "Spider":
        return None
    browser = result.user_agent.family if result.user_agent else "Other"
    os_family = result.os.family if result.os else "Other"
    if browser == "Other" and os_family == "Other":
        return None
    return ClientInfo(
        browser=_BROWSERS.get(browser, "Unknown" if browser == "Other" else browser),
        os=_normalise_os(os_family),
        device_type=_device_type(user_agent, os_family, device),
    )


def _is_bot(lowered: str) -> bool:
    word = "bot" in lowered and _BOT_WORD.search(lowered) is not None
    return word or any(token in lowered for token in _BOT_TOKENS)


def _normalise_os(family: str) -> str:
    if family in ("Mac OS X", "Mac OS"):
        return "macOS"
    if family.startswith("Windows") and not family.startswith(_PHONE_OSES):
        return "Windows"
    if family in _LINUX_DISTROS:
        return "Linux"
    return "Unknown" if family == "Other" else family


def _device_type(user_agent: str, os_family: str, device: Device | None) -> str:
    family, brand_model = (device.family, f"{device.brand} {device.model}") if device else ("", "")
    if family == "iPad" or "Kindle" in family or "Tablet" in brand_model:
        return "tablet"
    if os_family == "Android":
        # Android tablets leave out the "Mobile" token that phones send.
        return "mobile" if "Mobile" in user_agent else "tablet"
    if os_family in _MOBILE_OSES or family in _MOBILE_DEVICES:
        return "mobile"
    return "desktop"


# --- acquisition ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acquisition:
    source: str
    referrer: str | None
    channel: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    utm_term: str | None


_UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "source", "ref")


def classify_acquisition(page_url: str, referrer_url: str | None, site_domain: str) -> Acquisition:
    """Source, referrer, channel and UTM tags of a visit's first event.

    source: utm_source, else the `source` or `ref` query parameter (as Plausible does), else the
    known name of the referrer host, else that host without "www.", else "direct"; lower case.
    The utm_* fields keep the parameters as sent. A referrer on the site's own domain (or a
    subdomain) is no referrer.

    channel, first match wins:
    1. paid: utm_medium cpc, ppc, cpm, display, banner, ... or any medium starting with "paid";
    2. email: utm_medium email or newsletter;
    3. social: utm_medium social (social-media, sm, ...);
    4. the category of the source: utm_source's known category (google, gmail, newsletter, ...),
       else the referrer's (search -> organic search, social, email, ai -> ai assistants);
    5. referral: any other referrer, or a tagged source we do not know;
    6. direct: neither referrer nor source.
    """
    utm = _query_params(page_url)
    referrer, ref_known = _referrer(referrer_url, site_domain)
    tagged = utm.get("utm_source") or utm.get("source") or utm.get("ref")
    if tagged:
        source = tagged.lower()
    elif ref_known:
        source = ref_known[0]
    else:
        source = referrer.removeprefix("www.") if referrer else "direct"
    medium = utm.get("utm_medium")
    category = (_source_category(source) if tagged else None) or (ref_known[1] if ref_known else None)
    return Acquisition(
        source=source,
        referrer=referrer,
        channel=_channel(medium.lower() if medium else None, category, source != "direct"),
        utm_source=utm.get("utm_source"),
        utm_medium=medium,
        utm_campaign=utm.get("utm_campaign"),
        utm_content=utm.get("utm_content"),
        utm_term=utm.get("utm_term"),
    )


def _channel(medium: str | None, category: str | None, has_source: bool) -> str:
    if medium is not None:
        if medium in referrers.PAID_MEDIUMS or medium.startswith("paid"):
            return "paid"
        if medium in referrers.EMAIL_MEDIUMS:
            return "email"
        if medium in referrers.SOCIAL_MEDIUMS:
            return "social"
    if category is not None:
        return referrers.CHANNELS[category]
    return "referral" if has_source else "direct"


def _source_category(source: str) -> str | None:
    """Category of a tagged source given as a name ("google") or as a host ("news.ycombinator.com")."""
    if (category := referrers.SOURCE_CATEGORIES.get(source)) is not None:
        return category
    known = referrers.lookup_host(source.removeprefix("www.")) if "." in source else None
    return known[1] if known else None


def _query_params(page_url: str) -> dict[str, str]:
    """The first non-blank value of each UTM-ish parameter, stripped."""
    parts = _split(page_url)
    if parts is None or not parts.query:
        return {}
    params: dict[str, str] = {}
    for name, value in parse_qsl(parts.query):
        key = name.lower()
        if key in _UTM_KEYS and key not in params and (value := value.strip()):
            params[key] = value
    return params


def _referrer(referrer_url: str | None, site_domain: str) -> tuple[str | None, tuple[str, str] | None]:
    """(referrer host as sent, known (name, category)); (None, None) for none, own or invalid."""
    parts = _split(referrer_url.strip()) if referrer_url else None
    if parts is None:
        return None, None
    host = parts.hostname
    if parts.scheme == "android-app" and host:
        known = referrers.ANDROID_APPS.get(host)
        return (host, known) if known else (None, None)
    if parts.scheme not in ("http", "https") or not host:
        return None, None
    host = host.rstrip(".")
    if is_on_site(host, site_domain):
        return None, None
    return host, referrers.lookup_host(host)


def is_on_site(host: str, site_domain: str) -> bool:
    """Whether `host` (with or without "www.") is the site's domain or one of its subdomains."""
    site = site_key(site_domain)
    bare = host.removeprefix("www.")
    return site is not None and (bare == site or bare.endswith("." + site))


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


# --- language and path ------------------------------------------------------------------------

_PRIMARY_SUBTAG: Final = re.compile(r"[a-z]{2,3}")
_SUBTAG_SEPARATOR: Final = re.compile(r"[-_]")


@lru_cache(maxsize=1024)
def primary_language(value: str | None) -> str | None:
    """Primary language subtag, lower case, of a language tag or an Accept-Language header.

    For a header the entry with the highest q-value wins (the first one on a tie); q=0 entries,
    "*", "und" and malformed tags are skipped. None when nothing usable is left.
    """
    if not value:
        return None
    best, best_quality = None, 0.0
    for entry in value.split(","):
        tag, _, params = entry.partition(";")
        primary = _SUBTAG_SEPARATOR.split(tag.strip(), maxsplit=1)[0].lower()
        quality = _quality(params)
        if quality > best_quality and _PRIMARY_SUBTAG.fullmatch(primary) and primary != "und":
            best, best_quality = primary, quality
    return best


def _quality(params: str) -> float:
    """q-value of an Accept-Language entry: 1 when absent, 0 when malformed."""
    name, _, value = params.strip().partition("=")
    try:
        return float(value) if name.strip().lower() == "q" else 1.0
    except ValueError:
        return 0.0


@lru_cache(maxsize=16384)  # pages repeat: most events hit a cached URL
def normalise_pathname(url: str) -> tuple[str, str]:
    """(hostname, pathname) of a page URL: lower-case host without "www.", path without query
    string or fragment ("/" when empty), not percent-decoded.

    Raises ValueError for anything but an http(s) URL with a host.
    """
    parts = _split(url.strip())
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    return parts.hostname.rstrip(".").removeprefix("www."), parts.path or "/"
