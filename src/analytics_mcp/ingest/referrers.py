"""Acquisition data: known referrers (host pattern -> (source name, category)) with their host
lookup, and the utm_medium values and categories that map to channels.

Keys are host suffixes matched on label boundaries (``google.com`` matches ``images.google.com``,
never ``notgoogle.com``). A key ending in ``.*`` matches that name under any top-level domain,
including two-level country domains (``google.*`` matches ``google.de`` and ``www.google.co.uk``).
The most specific key wins, so ``gemini.google.com`` is gemini and ``mail.google.com`` is gmail.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

SEARCH: Final = "search"
SOCIAL: Final = "social"
EMAIL: Final = "email"
AI: Final = "ai"

_SEARCH_HOSTS = {
    "google.*": "google",
    "bing.com": "bing",
    "duckduckgo.com": "duckduckgo",
    "yahoo.*": "yahoo",
    "yandex.*": "yandex",
    "ya.ru": "yandex",
    "baidu.com": "baidu",
    "ecosia.org": "ecosia",
    "search.brave.com": "brave",
    "startpage.com": "startpage",
    "qwant.com": "qwant",
    "kagi.com": "kagi",
    "mojeek.com": "mojeek",
    "naver.com": "naver",
    "seznam.cz": "seznam",
    "sogou.com": "sogou",
    "daum.net": "daum",
    "ask.com": "ask",
    "search.aol.com": "aol",
    "petalsearch.com": "petal search",
    "coccoc.com": "coccoc",
    "metager.org": "metager",
    "metager.de": "metager",
}

_SOCIAL_HOSTS = {
    "t.co": "twitter",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
    "instagram.com": "instagram",
    "linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
    "reddit.com": "reddit",
    "redd.it": "reddit",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "pinterest.*": "pinterest",
    "pin.it": "pinterest",
    "tiktok.com": "tiktok",
    "news.ycombinator.com": "hacker news",
    "github.com": "github",
    "stackoverflow.com": "stackoverflow",
    "stackexchange.com": "stackexchange",
    "producthunt.com": "producthunt",
    "lobste.rs": "lobsters",
    "mastodon.social": "mastodon",
    "mastodon.online": "mastodon",
    "mastodon.world": "mastodon",
    "mstdn.social": "mastodon",
    "mas.to": "mastodon",
    "fosstodon.org": "mastodon",
    "hachyderm.io": "mastodon",
    "infosec.exchange": "mastodon",
    "bsky.app": "bluesky",
    "threads.net": "threads",
    "threads.com": "threads",
    "tumblr.com": "tumblr",
    "quora.com": "quora",
    "vk.com": "vk",
    "weibo.com": "weibo",
    "discord.com": "discord",
    "discordapp.com": "discord",
    "slack.com": "slack",
    "t.me": "telegram",
    "web.telegram.org": "telegram",
    "web.whatsapp.com": "whatsapp",
    "wa.me": "whatsapp",
    "snapchat.com": "snapchat",
    "twitch.tv": "twitch",
}

_AI_HOSTS = {
    "chatgpt.com": "chatgpt",
    "chat.openai.com": "chatgpt",
    "perplexity.ai": "perplexity",
    "claude.ai": "claude",
    "gemini.google.com": "gemini",
    "bard.google.com": "gemini",
    "copilot.microsoft.com": "copilot",
    "copilot.cloud.microsoft": "copilot",
    "deepseek.com": "deepseek",
    "chat.mistral.ai": "mistral",
    "grok.com": "grok",
    "you.com": "you.com",
    "phind.com": "phind",
    "poe.com": "poe",
    "meta.ai": "meta ai",
    "kimi.com": "kimi",
    "chat.qwen.ai": "qwen",
}

_EMAIL_HOSTS = {
    "mail.google.com": "gmail",
    "inbox.google.com": "gmail",
    "outlook.live.com": "outlook",
    "outlook.office.com": "outlook",
    "outlook.office365.com": "outlook",
    "mail.live.com": "outlook",
    "mail.yahoo.*": "yahoo mail",
    "mail.aol.com": "aol mail",
    "mail.proton.me": "proton mail",
    "mail.protonmail.com": "proton mail",
    "icloud.com": "icloud mail",
    "mail.yandex.*": "yandex mail",
    "gmx.*": "gmx",
    "web.de": "web.de",
    "mail.zoho.*": "zoho mail",
    "fastmail.com": "fastmail",
    "app.tuta.com": "tuta",
    "mail.tutanota.com": "tuta",
    "e.mail.ru": "mail.ru",
}

REFERRERS: Final[dict[str, tuple[str, str]]] = {
    host: (name, category)
    for hosts, category in (
        (_SEARCH_HOSTS, SEARCH),
        (_SOCIAL_HOSTS, SOCIAL),
        (_AI_HOSTS, AI),
        (_EMAIL_HOSTS, EMAIL),
    )
    for host, name in hosts.items()
}

# Referrers of the form android-app://<package>: the app that opened the link.
ANDROID_APPS: Final[dict[str, tuple[str, str]]] = {
    "com.google.android.gm": ("gmail", EMAIL),
    "com.microsoft.office.outlook": ("outlook", EMAIL),
    "com.google.android.googlequicksearchbox": ("google", SEARCH),
    "com.google.android.youtube": ("youtube", SOCIAL),
    "com.twitter.android": ("twitter", SOCIAL),
    "com.facebook.katana": ("facebook", SOCIAL),
    "com.instagram.android": ("instagram", SOCIAL),
    "com.linkedin.android": ("linkedin", SOCIAL),
    "com.reddit.frontpage": ("reddit", SOCIAL),
    "com.slack": ("slack", SOCIAL),
    "com.discord": ("discord", SOCIAL),
    "org.telegram.messenger": ("telegram", SOCIAL),
    "com.whatsapp": ("whatsapp", SOCIAL),
    "com.openai.chatgpt": ("chatgpt", AI),
}

# Category of a source name, for utm_source values ("google", "newsletter", ...).
SOURCE_CATEGORIES: Final[dict[str, str]] = {
    **{name: category for name, category in REFERRERS.values()},
    **{source: EMAIL for source in ("email", "e-mail", "e_mail", "newsletter", "mailchimp")},
}

# utm_medium values that decide the channel on their own (see enrich.classify_acquisition).
PAID_MEDIUMS: Final = frozenset(
    {"cpc", "ppc", "cpm", "cpv", "cpa", "paid", "paidsearch", "display", "banner", "retargeting"}
)
EMAIL_MEDIUMS: Final = frozenset({"email", "e-mail", "e_mail", "e mail", "newsletter"})
SOCIAL_MEDIUMS: Final = frozenset({"social", "social-media", "social_media", "social-network", "sm"})

CHANNELS: Final = {SEARCH: "organic search", SOCIAL: "social", EMAIL: "email", AI: "ai assistants"}

# Second-level labels under which a country domain registers names (google.co.uk, google.com.br).
_SECOND_LEVEL: Final = frozenset({"co", "com", "net", "org", "ne", "or", "ac", "gob", "gov", "edu"})


def _is_public_suffix(labels: list[str]) -> bool:
    """True for a plausible registry suffix: `de`, `com`, `co.uk`, `com.br`."""
    if len(labels) == 1:
        return labels[0].isalpha() and 2 <= len(labels[0]) <= 6
    return len(labels) == 2 and labels[0] in _SECOND_LEVEL and labels[1].isalpha() and len(labels[1]) == 2


def _candidates(labels: list[str], start: int) -> list[str]:
    """Keys that may match the host suffix starting at label `start`, most specific first."""
    keys = [".".join(labels[start:])]
    keys.extend(
        ".".join(labels[start:cut]) + ".*"
        for cut in range(len(labels) - 1, start, -1)
        if len(labels) - cut <= 2 and _is_public_suffix(labels[cut:])
    )
    return keys


@lru_cache(maxsize=4096)
def lookup_host(host: str) -> tuple[str, str] | None:
    """(source name, category) for a lower-case host, or None when it is not a known referrer."""
    labels = host.split(".")
    for start in range(len(labels)):
        for key in _candidates(labels, start):
            if (known := REFERRERS.get(key)) is not None:
                return known
    return None
