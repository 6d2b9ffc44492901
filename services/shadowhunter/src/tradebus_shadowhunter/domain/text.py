"""Text and web-address normalisation shared by lead scoring and the rubric.

Matching is done on folded tokens (lower case, accents stripped, punctuation dropped), so
"Hải Phòng Steel J.S.C." and "hai phong steel jsc" are the same words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

_WORD = re.compile(r"\w+", re.UNICODE)
_DOTTED = re.compile(r"\b(?:\w\.){2,}")  # "J.S.C." is the word "JSC"
# Letters NFKD does not decompose into a base letter plus a mark.
_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss", "ł": "l", "Ł": "L"})

# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "of",
    "on", "or", "the", "to", "with",
})
# Legal forms say nothing about which organisation it is: "Acme Ltd" is "Acme Limited".
LEGAL_FORMS = frozenset({
    "ltd", "limited", "llc", "inc", "incorporated", "corp", "corporation", "co", "company",
    "jsc", "jsco", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "pte",
    "pty", "pvt", "llp", "lp", "kk", "oy", "ab", "as", "tnhh", "cty", "pt", "cv", "tbk", "sdn",
    "bhd",
})
# fmt: on
# Title segments that name a page, not an organisation.
GENERIC_SEGMENTS = frozenset(
    {
        "home",
        "homepage",
        "welcome",
        "about",
        "about us",
        "contact",
        "contact us",
        "official site",
        "official website",
        "profile",
        "company profile",
        "supplier profile",
        "overview",
    }
)
# Separators between title segments: " | ", " - ", en and em dashes, " : ", bullets.
_SEPARATORS = re.compile(r"\s+[-:\u2013\u2014\u2022\u00b7\u00bb]\s+|\s*\|\s*|\s+::\s+")
# Two-label public suffixes under a country code ("com.vn", "co.uk"): the registrable
# domain is then three labels. A heuristic in place of the full Public Suffix List.
# fmt: off
_SECOND_LEVEL = frozenset({
    "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "ltd", "plc",
    "biz", "info",
})
# fmt: on


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """Folded word tokens, in order (stopwords kept: used for phrase matching)."""
    text = _DOTTED.sub(lambda m: m.group().replace(".", "") + " ", fold(text))
    return _WORD.findall(text)


def stem(word: str) -> str:
    """A light stemmer: the plural, then an -ing, -er or -ed, so "importers", "imports",
    "importing" and "imported" are one term (account notes say a buyer "imports coil"
    where the query asks for "coil importers"). Short words keep their endings ("paper",
    "order", "need")."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 6 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 5 and word.endswith(("er", "ed")):
        return word[:-2]
    return word


def terms(text: str) -> list[str]:
    """Search terms: folded, stemmed, stopwords dropped."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def name_tokens(name: str) -> list[str]:
    """An organisation name without legal forms or a leading article."""
    tokens = words(name.replace("&", " and "))
    text = " ".join(tokens).replace("joint stock", " ")
    kept = [t for t in text.split() if t not in LEGAL_FORMS]
    if kept and kept[0] == "the":
        kept = kept[1:]
    return kept


def name_key(name: str) -> str:
    return " ".join(name_tokens(name))


def compact(name: str) -> str:
    """The name as it would be written in a host name: "haiphongsteel"."""
    return "".join(name_tokens(name))


def find_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> list[int]:
    """Start positions of `phrase` as a contiguous run in `tokens`."""
    n = len(phrase)
    if n == 0:
        return []
    first = phrase[0]
    return [
        i
        for i, token in enumerate(tokens[: len(tokens) - n + 1])
        if token == first and list(tokens[i : i + n]) == list(phrase)
    ]


def mentions(name: str, text: str) -> bool:
    """Does `text` name the organisation verbatim (up to case, accents, punctuation and
    legal form)?"""
    return bool(find_phrase(words(text), name_tokens(name)))


def host(url: str | None) -> str | None:
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url
    try:
        hostname = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not hostname or "." not in hostname:
        return None
    return hostname.lower().removeprefix("www.")


def registrable_domain(url: str | None) -> str | None:
    """ "shop.haiphongsteel.com.vn/x" -> "haiphongsteel.com.vn"."""
    hostname = host(url)
    if hostname is None:
        return None
    labels = hostname.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def domain_label(domain: str) -> str:
    """The part of a registrable domain an organisation chooses: "haiphongsteel"."""
    return re.sub(r"[^a-z0-9]", "", domain.split(".")[0])


def label_matches_name(domain: str, name: str) -> bool:
    """A host name that spells the organisation's name (or the name that spells it)."""
    label, spelled = domain_label(domain), compact(name)
    if len(label) < 4 or len(spelled) < 4:
        return label == spelled and bool(label)
    return label in spelled or spelled in label


def segments(title: str) -> list[str]:
    parts = [p.strip(" -|:") for p in _SEPARATORS.split(title)]
    return [p for p in parts if p]


def organisation_name(title: str, domain: str | None) -> str:
    """The organisation a result's title is about: the segment the host name spells,
    else the first segment that is not a page name ("Home", "About us")."""
    parts = segments(title) or [title.strip()]
    if domain:
        for part in parts:
            if label_matches_name(domain, part):
                return part
    for part in parts:
        if fold(part) not in GENERIC_SEGMENTS and name_tokens(part):
            return part
    return parts[0]


def near(anchors: Iterable[int], span: int, targets: Iterable[int], window: int) -> bool:
    """Is any target position at most `window` tokens from a phrase of `span` tokens
    starting at one of `anchors`?"""
    starts = list(anchors)
    return any(
        start - window <= t <= start + span - 1 + window for start in starts for t in targets
    )
