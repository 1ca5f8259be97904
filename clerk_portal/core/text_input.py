"""The rules every piece of text the server accepts goes through: a length cap, no control
characters, whitespace normalized.

A browser can send any handler any value, so the caps in the UI (`max_length`) are a courtesy and
these functions are the guarantee. Refusals are `InvalidValue` with a sentence for the person; they
never repeat the value sent (it may be a megabyte). Text from the identity provider is cleaned
instead (`claim_name`): a sign-in is not refused over a display name.
"""

from __future__ import annotations

import re
import unicodedata

from clerk_portal.core.errors import InvalidValue

# Caps in characters, after normalization. Email: RFC 5321's 254 for a whole address.
EMAIL = 254
NAME = 100
COMPANY = 200
MESSAGE = 5000
PHONE_NUMBER = 32  # "+1 (415) 555-0100 " and the like; E.164 itself is at most 16
COUNT_DIGITS = 7  # seats or numbers on a form: up to 9,999,999

# Bidirectional formatting characters (embeddings, overrides, isolates, marks): they make text
# display in another order than it is stored ("moc.elpmaxe@..."), so no field accepts them.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Invisible characters that are never part of a name, an address or a message.
_INVISIBLE = frozenset("\ufeff\u2028\u2029")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DIGITS = re.compile(r"[0-9]+")
CONTROL_REFUSAL = (
    "The {label} contains control or text-direction characters: please type it again without them."
)


def forbidden(char: str, *, multiline: bool = False) -> bool:
    """True for a character no text field accepts (a newline or tab only where lines are)."""
    if multiline and char in "\n\t":
        return False
    if char in BIDI_CONTROLS or char in _INVISIBLE:
        return True
    # Cc: C0 (NUL, ESC...), DEL and C1; Cs: lone surrogates, which UTF-8 cannot even store.
    return unicodedata.category(char) in ("Cc", "Cs")


def clean(
    raw: object,
    *,
    label: str,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """Normalized text (NFC, trimmed, one space between words; in a multiline field, lines kept
    and at most one blank line in a row) or InvalidValue naming the field."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise InvalidValue(f"The {label} must be text.")
    # Far over the cap: refuse before spending any work on it.
    if len(raw) > 4 * max_length + 64:
        raise InvalidValue(_too_long(label, max_length))
    if multiline:
        text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    else:  # tabs and newlines in a one-line field are only spacing
        text = re.sub(r"[\t\n\r\v\f]+", " ", raw)
    if any(forbidden(char, multiline=multiline) for char in text):
        raise InvalidValue(CONTROL_REFUSAL.format(label=label))
    text = unicodedata.normalize("NFC", text)
    if multiline:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        text = " ".join(text.split())
    if len(text) > max_length:
        raise InvalidValue(_too_long(label, max_length))
    if required and not text:
        raise InvalidValue(f"Please enter the {label}.")
    return text


def email(raw: object, *, label: str = "email address", required: bool = True) -> str:
    """A lower-cased address of at most 254 characters, or InvalidValue."""
    address = clean(raw, label=label, max_length=EMAIL, required=required).lower()
    if not address and not required:
        return ""
    local = address.rpartition("@")[0]
    if " " in address or not _EMAIL.fullmatch(address) or len(local) > 64:
        raise InvalidValue(f"{address} is not an email address.")
    return address


def count(raw: object, *, label: str) -> int | None:
    """An optional whole number typed in a form (ASCII digits only), or InvalidValue."""
    text = clean(raw, label=f"number of {label}", max_length=COUNT_DIGITS + 8)
    if not text:
        return None
    if not _DIGITS.fullmatch(text):
        raise InvalidValue(f"The number of {label} must be a whole number.")
    if len(text) > COUNT_DIGITS:
        raise InvalidValue(f"The number of {label} can be at most {10**COUNT_DIGITS - 1:,}.")
    return int(text)


def claim_name(raw: object, *, max_length: int = NAME) -> str:
    """A display name from the identity provider, made safe rather than refused: control and
    text-direction characters dropped, whitespace normalized, cut to the cap."""
    if not isinstance(raw, str):
        return ""
    text = raw[: 4 * max_length + 64]
    text = re.sub(r"[\t\n\r\v\f]+", " ", text)
    text = "".join(char for char in text if not forbidden(char))
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text[:max_length].rstrip()


def _too_long(label: str, max_length: int) -> str:
    return f"The {label} can be at most {max_length:,} characters."
