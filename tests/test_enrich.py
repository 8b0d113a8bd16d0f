"""Enrichment: User-Agent -> client or drop, referrer/UTM -> acquisition, language, page path."""

from __future__ import annotations

import pytest

from analytics_mcp.ingest import referrers
from analytics_mcp.ingest.enrich import (
    Acquisition,
    ClientInfo,
    classify_acquisition,
    normalise_pathname,
    parse_user_agent,
    primary_language,
)

_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"

BROWSERS = [
    (
        "chrome-windows",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
        ("Chrome", "Windows", "desktop"),
    ),
    (
        "chrome-windows7",
        f"Mozilla/5.0 (Windows NT 6.1; Win64; x64) {_WEBKIT} Chrome/109.0.0.0 Safari/537.36",
        ("Chrome", "Windows", "desktop"),
    ),
    (
        "chrome-macos",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
        ("Chrome", "macOS", "desktop"),
    ),
    (
        "safari-macos",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI_WEBKIT} Version/17.4.1 Safari/605.1.15",
        ("Safari", "macOS", "desktop"),
    ),
    (
        "safari-iphone",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) {_SAFARI_WEBKIT} "
        "Version/17.4.1 Mobile/15E148 Safari/604.1",
        ("Safari", "iOS", "mobile"),
    ),
    (
        "safari-ipad",
        f"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) {_SAFARI_WEBKIT} Version/16.6 Mobile/15E148 "
        "Safari/604.1",
        ("Safari", "iOS", "tablet"),
    ),
    (
        "wkwebview-iphone",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) {_SAFARI_WEBKIT} Mobile/15E148",
        ("Safari", "iOS", "mobile"),
    ),
    (
        "chrome-android-phone",
        f"Mozilla/5.0 (Linux; Android 10; K) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36",
        ("Chrome", "Android", "mobile"),
    ),
    (
        "chrome-android-tablet",
        f"Mozilla/5.0 (Linux; Android 13; SM-X200) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
        ("Chrome", "Android", "tablet"),
    ),
    (
        "chrome-android-webview",
        f"Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) {_WEBKIT} "
        "Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36",
        ("Chrome", "Android", "mobile"),
    ),
    (
        "chrome-ios-crios",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {_SAFARI_WEBKIT} "
        "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
        ("Chrome", "iOS", "mobile"),
    ),
    (
        "samsung-internet",
        f"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) {_WEBKIT} SamsungBrowser/24.0 "
        "Chrome/117.0.0.0 Mobile Safari/537.36",
        ("Samsung Internet", "Android", "mobile"),
    ),
    (
        "samsung-internet-tablet",
        f"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X710) {_WEBKIT} SamsungBrowser/23.0 "
        "Chrome/115.0.0.0 Safari/537.36",
        ("Samsung Internet", "Android", "tablet"),
    ),
    (
        "firefox-linux",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("Firefox", "Linux", "desktop"),
    ),
    (
        "firefox-ubuntu",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("Firefox", "Linux", "desktop"),
    ),
    (
        "firefox-android",
        "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
        ("Firefox", "Android", "mobile"),
    ),
    (
        "firefox-android-tablet",
        "Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0",
        ("Firefox", "Android", "tablet"),
    ),
    (
        "firefox-ios",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {_SAFARI_WEBKIT} FxiOS/125.0 "
        "Mobile/15E148 Safari/605.1.15",
        ("Firefox", "iOS", "mobile"),
    ),
    (
        "edge-windows",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36 "
        "Edg/124.0.2478.80",
        ("Edge", "Windows", "desktop"),
    ),
    (
        "edge-android",
        f"Mozilla/5.0 (Linux; Android 10; HD1913) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36 "
        "EdgA/124.0.2478.64",
        ("Edge", "Android", "mobile"),
    ),
    (
        "opera-windows",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
        ("Opera", "Windows", "desktop"),
    ),
    (
        "opera-android",
        f"Mozilla/5.0 (Linux; Android 10; VOG-L29) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36 "
        "OPR/81.1.4292.78446",
        ("Opera", "Android", "mobile"),
    ),
    (
        "chrome-os",
        f"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) {_WEBKIT} Chrome/124.0.0.0 Safari/537.36",
        ("Chrome", "Chrome OS", "desktop"),
    ),
    (
        "kindle-silk",
        f"Mozilla/5.0 (Linux; Android 11; KFTRWI) {_WEBKIT} Silk/124.2.4 like Chrome/124.0.6367.179 "
        "Safari/537.36",
        ("Amazon Silk", "Android", "tablet"),
    ),
    (
        "cubot-phone",
        f"Mozilla/5.0 (Linux; Android 9; CUBOT P30) {_WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36",
        ("Chrome", "Android", "mobile"),
    ),
    (
        "cubot-phone-underscore",
        f"Mozilla/5.0 (Linux; Android 9; CUBOT_X19) {_WEBKIT} Chrome/88.0.4324.181 Mobile Safari/537.36",
        ("Chrome", "Android", "mobile"),
    ),
    (
        "internet-explorer-11",
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
        ("Internet Explorer", "Windows", "desktop"),
    ),
    (
        "facebook-in-app",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {_SAFARI_WEBKIT} Mobile/15E148 "
        "[FBAN/FBIOS;FBAV/460.0.0.38.108;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4]",
        ("Facebook", "iOS", "mobile"),
    ),
]

DROPPED = [
    ("googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (
        "googlebot-smartphone",
        f"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) {_WEBKIT} Chrome/124.0.6367.118 "
        "Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
    ("bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    (
        "headless-chrome",
        f"Mozilla/5.0 (X11; Linux x86_64) {_WEBKIT} HeadlessChrome/124.0.6367.60 Safari/537.36",
    ),
    (
        "lighthouse",
        f"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) {_WEBKIT} Chrome/124.0.0.0 Mobile "
        "Safari/537.36 Chrome-Lighthouse",
    ),
    ("curl", "curl/8.5.0"),
    ("wget", "Wget/1.21.4"),
    ("python-requests", "python-requests/2.31.0"),
    ("httpx", "python-httpx/0.27.0"),
    ("go-http-client", "Go-http-client/2.0"),
    ("okhttp", "okhttp/4.12.0"),
    ("java", "Java/17.0.2"),
    ("libwww-perl", "libwww-perl/6.72"),
    ("axios", "axios/1.6.8"),
    ("node-fetch", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"),
    ("postman", "PostmanRuntime/7.37.3"),
    ("facebookexternalhit", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
    ("ahrefsbot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
    ("gptbot", f"Mozilla/5.0 {_WEBKIT}; compatible; GPTBot/1.1; +https://openai.com/gptbot"),
    ("uptimerobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"),
    (
        "bytespider",
        f"Mozilla/5.0 (Linux; Android 5.0) {_WEBKIT} Mobile Safari/537.36 (compatible; Bytespider; "
        "spider-feedback@bytedance.com)",
    ),
    ("unknown-client", "Mozilla/5.0"),
    ("garbage", "asdfgh"),
    ("whitespace", "   "),
    ("empty", ""),
    ("none", None),
]


@pytest.mark.parametrize(("user_agent", "expected"), [c[1:] for c in BROWSERS], ids=[c[0] for c in BROWSERS])
def test_browsers_are_normalised(user_agent: str, expected: tuple[str, str, str]) -> None:
    assert parse_user_agent(user_agent) == ClientInfo(*expected)


@pytest.mark.parametrize("user_agent", [c[1] for c in DROPPED], ids=[c[0] for c in DROPPED])
def test_bots_and_non_browsers_are_dropped(user_agent: str | None) -> None:
    assert parse_user_agent(user_agent) is None


def test_surrounding_whitespace_does_not_matter() -> None:
    ua = BROWSERS[0][1]
    assert parse_user_agent(f"  {ua}\n") == parse_user_agent(ua)


SITE = "example.com"
PAGE = "https://example.com/pricing"

# (id, page_url, referrer_url, source, referrer, channel)
ACQUISITION = [
    ("direct", PAGE, None, "direct", None, "direct"),
    ("empty-referrer", PAGE, "", "direct", None, "direct"),
    ("google", PAGE, "https://www.google.com/", "google", "www.google.com", "organic search"),
    ("google-co-uk", PAGE, "https://www.google.co.uk/", "google", "www.google.co.uk", "organic search"),
    ("google-de", PAGE, "https://google.de/search?q=x", "google", "google.de", "organic search"),
    ("google-com-br", PAGE, "https://www.google.com.br/", "google", "www.google.com.br", "organic search"),
    ("google-images", PAGE, "https://images.google.com/", "google", "images.google.com", "organic search"),
    ("not-google", PAGE, "https://notgoogle.com/", "notgoogle.com", "notgoogle.com", "referral"),
    ("google-label", PAGE, "https://google.evil.net/", "google.evil.net", "google.evil.net", "referral"),
    ("bing", PAGE, "https://www.bing.com/search?q=x", "bing", "www.bing.com", "organic search"),
    ("duckduckgo", PAGE, "https://duckduckgo.com/", "duckduckgo", "duckduckgo.com", "organic search"),
    ("brave-search", PAGE, "https://search.brave.com/", "brave", "search.brave.com", "organic search"),
    ("t-co", PAGE, "https://t.co/abc123", "twitter", "t.co", "social"),
    ("x-com", PAGE, "https://x.com/someone/status/1", "twitter", "x.com", "social"),
    ("facebook-link-shim", PAGE, "https://l.facebook.com/l.php?u=x", "facebook", "l.facebook.com", "social"),
    ("old-reddit", PAGE, "https://old.reddit.com/r/python/", "reddit", "old.reddit.com", "social"),
    ("lnkd-in", PAGE, "https://lnkd.in/abc", "linkedin", "lnkd.in", "social"),
    ("hacker-news", PAGE, "https://news.ycombinator.com/", "hacker news", "news.ycombinator.com", "social"),
    ("chatgpt", PAGE, "https://chatgpt.com/", "chatgpt", "chatgpt.com", "ai assistants"),
    ("chat-openai", PAGE, "https://chat.openai.com/c/1", "chatgpt", "chat.openai.com", "ai assistants"),
    ("perplexity", PAGE, "https://www.perplexity.ai/", "perplexity", "www.perplexity.ai", "ai assistants"),
    ("claude", PAGE, "https://claude.ai/chat/1", "claude", "claude.ai", "ai assistants"),
    ("gemini", PAGE, "https://gemini.google.com/app", "gemini", "gemini.google.com", "ai assistants"),
    ("copilot", PAGE, "https://copilot.microsoft.com/", "copilot", "copilot.microsoft.com", "ai assistants"),
    ("gmail", PAGE, "https://mail.google.com/mail/u/0/", "gmail", "mail.google.com", "email"),
    ("outlook", PAGE, "https://outlook.live.com/mail/0/", "outlook", "outlook.live.com", "email"),
    ("gmail-app", PAGE, "android-app://com.google.android.gm/", "gmail", "com.google.android.gm", "email"),
    ("unknown-app", PAGE, "android-app://com.example.reader/", "direct", None, "direct"),
    ("blog", PAGE, "https://www.someblog.org/post/1", "someblog.org", "www.someblog.org", "referral"),
    ("host-as-sent", PAGE, "HTTPS://WWW.SomeBlog.ORG:8443/x", "someblog.org", "www.someblog.org", "referral"),
    ("own-domain", PAGE, "https://example.com/", "direct", None, "direct"),
    ("own-www", PAGE, "https://www.example.com/features", "direct", None, "direct"),
    ("own-subdomain", PAGE, "https://blog.example.com/post", "direct", None, "direct"),
    ("lookalike-is-not-own", PAGE, "https://notexample.com/", "notexample.com", "notexample.com", "referral"),
    ("garbage-referrer", PAGE, "not a url", "direct", None, "direct"),
    ("ftp-referrer", PAGE, "ftp://files.example.org/", "direct", None, "direct"),
    ("broken-ipv6-referrer", PAGE, "http://[::1/", "direct", None, "direct"),
    ("cpc-is-paid", f"{PAGE}?utm_source=google&utm_medium=cpc", "https://www.google.com/", "google",
     "www.google.com", "paid"),
    ("paid-social", f"{PAGE}?utm_source=facebook&utm_medium=paid-social", None, "facebook", None, "paid"),
    ("display", f"{PAGE}?utm_source=adnet&utm_medium=display", None, "adnet", None, "paid"),
    ("email-medium", f"{PAGE}?utm_source=weekly&utm_medium=email", None, "weekly", None, "email"),
    ("newsletter-source-upper", f"{PAGE}?utm_source=Newsletter", None, "newsletter", None, "email"),
    ("utm-beats-referrer", f"{PAGE}?utm_source=Twitter", "https://www.google.com/", "twitter",
     "www.google.com", "social"),
    ("utm-source-unknown", f"{PAGE}?utm_source=spring_sale", None, "spring_sale", None, "referral"),
    ("utm-unknown-keeps-referrer-channel", f"{PAGE}?utm_source=spring_sale", "https://duckduckgo.com/",
     "spring_sale", "duckduckgo.com", "organic search"),
    ("utm-source-as-host", f"{PAGE}?utm_source=news.ycombinator.com", None, "news.ycombinator.com", None,
     "social"),
    ("utm-on-own-referrer", f"{PAGE}?utm_source=chatgpt.com", "https://www.example.com/", "chatgpt.com",
     None, "ai assistants"),
    ("ref-parameter", f"{PAGE}?ref=ProductHunt", None, "producthunt", None, "social"),
    ("social-medium", f"{PAGE}?utm_source=acme&utm_medium=social", None, "acme", None, "social"),
    ("medium-only", f"{PAGE}?utm_medium=email", None, "direct", None, "email"),
    ("blank-utm-ignored", f"{PAGE}?utm_source=&utm_medium=", "https://t.co/x", "twitter", "t.co", "social"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("page_url", "referrer_url", "source", "referrer", "channel"),
    [c[1:] for c in ACQUISITION],
    ids=[c[0] for c in ACQUISITION],
)
def test_acquisition(
    page_url: str, referrer_url: str | None, source: str, referrer: str | None, channel: str
) -> None:
    result = classify_acquisition(page_url, referrer_url, SITE)
    assert (result.source, result.referrer, result.channel) == (source, referrer, channel)


def test_utm_fields_are_kept_as_sent() -> None:
    url = (
        "https://example.com/?UTM_SOURCE=Google&utm_medium=CPC&utm_campaign=Spring+Sale"
        "&utm_content=banner%20a&utm_term=analytics&utm_term=second#x"
    )
    assert classify_acquisition(url, None, SITE) == Acquisition(
        source="google",
        referrer=None,
        channel="paid",
        utm_source="Google",
        utm_medium="CPC",
        utm_campaign="Spring Sale",
        utm_content="banner a",
        utm_term="analytics",
    )


def test_ref_fallback_does_not_fill_utm_source() -> None:
    result = classify_acquisition(f"{PAGE}?source=weekly", None, SITE)
    assert (result.source, result.utm_source) == ("weekly", None)


def test_site_domain_given_with_www_still_recognises_its_own_referrers() -> None:
    result = classify_acquisition(PAGE, "https://example.com/", "www.example.com")
    assert (result.source, result.referrer, result.channel) == ("direct", None, "direct")


def test_referrer_data_is_consistent() -> None:
    valid = set(referrers.CHANNELS)
    for name, category in referrers.REFERRERS.values():
        assert category in valid
        assert name == name.lower() and name
        assert referrers.SOURCE_CATEGORIES[name] == category, name
    for host in referrers.REFERRERS:
        assert host == host.lower() and not host.startswith("www.")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("de-AT", "de"),
        ("en_US", "en"),
        ("EN", "en"),
        ("zh-Hant-TW", "zh"),
        ("fil-PH", "fil"),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        ("en;q=0.5, de-DE;q=0.9", "de"),
        ("*, es;q=0.8", "es"),
        ("xx-invalid-q;q=abc, it", "it"),
        ("de;q=0, nl;q=0.1", "nl"),
        (" pt-BR ", "pt"),
        ("und", None),
        ("*", None),
        ("", None),
        (None, None),
        ("english", None),
        ("1234", None),
        ("e", None),
    ],
)
def test_primary_language(value: str | None, expected: str | None) -> None:
    assert primary_language(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", ("example.com", "/")),
        ("https://example.com/", ("example.com", "/")),
        ("https://www.Example.COM/Blog/Post?utm_source=x#top", ("example.com", "/Blog/Post")),
        ("http://shop.example.com:8080/cart/", ("shop.example.com", "/cart/")),
        ("https://example.com/caf%C3%A9", ("example.com", "/caf%C3%A9")),
        ("https://example.com?x=1", ("example.com", "/")),
        ("  https://example.com/a  ", ("example.com", "/a")),
    ],
)
def test_normalise_pathname(url: str, expected: tuple[str, str]) -> None:
    assert normalise_pathname(url) == expected


@pytest.mark.parametrize(
    "url", ["", "example.com/path", "/relative", "ftp://example.com/", "https:///nohost", "http://[::1/"]
)
def test_normalise_pathname_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        normalise_pathname(url)
