"""The text rules themselves: caps, control and bidi characters, whitespace, Unicode form."""

from __future__ import annotations

import pytest

from clerk_portal.core import text_input
from clerk_portal.core.errors import InvalidValue


def test_one_line_text_is_trimmed_with_one_space_between_words():
    assert text_input.clean("  Acme\t\n Dental  ", label="name", max_length=20) == "Acme Dental"


def test_text_is_stored_in_composed_form():
    decomposed = "Jose\u0301"  # e + combining acute accent
    assert text_input.clean(decomposed, label="name", max_length=4) == "José"


def test_a_message_keeps_its_lines_and_at_most_one_blank_line_in_a_row():
    raw = "Hello,\r\n\r\n\r\n\r\nwe are  40 people.\tThanks  \n"
    cleaned = text_input.clean(raw, label="message", max_length=100, multiline=True)
    assert cleaned == "Hello,\n\nwe are 40 people. Thanks"


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\x7f", "\x9b", "\u202e", "\u2067", "\u200e", "\ufeff", "\ud800"]
)
def test_control_bidi_invisible_and_surrogate_characters_are_refused(char):
    with pytest.raises(InvalidValue, match="control or text-direction"):
        text_input.clean(f"a{char}b", label="name", max_length=10)
    with pytest.raises(InvalidValue, match="control or text-direction"):
        text_input.clean(f"a{char}b", label="message", max_length=10, multiline=True)


def test_the_cap_counts_characters_after_normalization_and_the_refusal_never_echoes():
    assert text_input.clean("é" * 5, label="name", max_length=5) == "é" * 5
    with pytest.raises(InvalidValue) as refused:
        text_input.clean("secret" * 1000, label="name", max_length=5)
    assert refused.value.message == "The name can be at most 5 characters."


def test_non_text_and_missing_required_values_are_refused():
    with pytest.raises(InvalidValue, match="must be text"):
        text_input.clean({"$gt": ""}, label="name", max_length=5)
    with pytest.raises(InvalidValue, match="Please enter the name"):
        text_input.clean("   ", label="name", max_length=5, required=True)


def test_emails_are_lower_cased_and_checked():
    assert text_input.email(" Pat@Acme.Example ") == "pat@acme.example"
    for bad in ("pat@localhost", "pat lee@acme.example", "x" * 65 + "@acme.example"):
        with pytest.raises(InvalidValue, match="is not an email address"):
            text_input.email(bad)


def test_a_name_claim_is_cleaned_never_refused():
    assert text_input.claim_name("Eve\u202e\x00\n  Adams") == "Eve Adams"
    assert text_input.claim_name("x" * 10_000) == "x" * text_input.NAME
    assert text_input.claim_name(None) == ""
    assert text_input.claim_name(["not", "text"]) == ""
