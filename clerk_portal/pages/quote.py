"""A quote's share link (/quote/<token>): public, read-only, no sign-in to read it.

It shows the line items, the discount, the first invoice and the totals per period and per year,
what the plan includes, the validity date and a "Download PDF" link from the portal's own origin
(web/quote_pdf.py). "Accept and start" asks an anonymous visitor to sign in (or up) and come
back here; a workspace owner then enters a card and the quote's terms start their subscription
through the upgrade service (`services.quotes.accept_quote`). An unknown token, an expired, a
withdrawn or an accepted quote each say so, and offer no acceptance.
"""

from __future__ import annotations

from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx

from clerk_portal.billing import pricing
from clerk_portal.billing.services import quotes
from clerk_portal.components.card_form import (
    card_element,
    card_form_refusal,
    card_script_tag,
    confirm_script,
    mount_script,
)
from clerk_portal.core import formats, routes
from clerk_portal.core.errors import DomainError, NotFound
from clerk_portal.ui import guard
from clerk_portal.ui.off_lock import OffLock

CARD_ELEMENT = "card-element-quote"
WORDS = {"month": "month", "year": "year"}


class QuoteLine(TypedDict):
    description: str
    detail: str
    amount: str


class QuoteState(OffLock, rx.State):
    loaded: bool = False
    found: bool = False
    missing: str = ""  # the not-found message
    status: str = ""
    refusal: str = ""  # why it cannot be accepted ("" while open)
    number: str = ""
    company: str = ""
    plan_name: str = ""
    per: str = ""  # "month" | "year"
    seats: int = 0
    numbers: int = 0
    included: str = ""
    lines: list[QuoteLine] = []
    subtotal: str = ""
    discount_label: str = ""
    discount: str = ""
    first_invoice: str = ""
    recurring: str = ""
    per_year: str = ""
    valid_until: str = ""
    note: str = ""
    pdf_href: str = ""
    sign_in_href: str = ""
    viewer: str = ""  # "anonymous" | "owner" | "other" (signed in, not an owner)
    working: bool = False
    error: str = ""
    _token: str = ""
    _setup_intent_id: str = ""

    @rx.event
    @guard.public_handler
    async def load_quote(self):
        """Read the quote behind the link (anyone may); note who is looking."""
        token = str(self.router.page.params.get("quote_token", ""))[:80]
        # (the tab's session is tracked by ui.state.TabChangesHands, as on every page)
        who = await guard.current_principal(self)
        self._token, self.error, self.working = token, "", False
        self.viewer = "anonymous" if who is None else "owner" if who.role == "owner" else "other"
        path = routes.quote_path(token)
        self.sign_in_href = routes.backend_url(routes.AUTH_LOGIN) + "?" + urlencode({"next": path})
        self.loaded = True
        try:
            view = await quotes.quote_by_token(token)
        except NotFound as error:
            self.found, self.missing = False, error.message
            return None
        self._show(view)
        if view.acceptable and self.viewer == "owner":
            return rx.call_script(mount_script(CARD_ELEMENT))
        return None

    def _show(self, view: quotes.QuoteView) -> None:
        money = pricing.format_cents
        self.found, self.missing, self.status = True, "", view.status
        self.refusal = view.refusal()
        self.number, self.company, self.plan_name = view.number, view.company, view.plan_name
        self.per, self.seats, self.numbers = WORDS[view.interval], view.seats, view.numbers
        self.included = f"{view.included_numbers} phone numbers included with {view.plan_name}"
        self.lines = [
            QuoteLine(
                description=line.description,
                detail=f"{line.quantity} × {money(line.unit_amount_cents)}",
                amount=money(line.amount_cents),
            )
            for line in view.lines
        ]
        self.subtotal = money(view.subtotal_cents)
        self.discount_label = view.discount_label
        self.discount = "−" + money(view.discount_cents) if view.discount_cents else ""
        self.first_invoice = money(view.total_cents)
        self.recurring = money(view.recurring_cents)
        self.per_year = money(view.per_year_cents)
        self.valid_until = formats.day(view.expires_at)
        self.note = view.note
        self.pdf_href = routes.quote_pdf(view.token)

    @rx.event(background=True)
    @guard.owner_only
    async def accept(self):
        """Open the card form's SetupIntent for this quote (refused if it is not open)."""
        who = guard.principal()
        if not await self._claim("working", error=""):
            return
        async with self:
            token = self._token
        try:
            start = await quotes.start_acceptance(token=token, workspace_id=who.workspace_id)
        except DomainError as error:
            await self._settle(who, working=False, error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, _setup_intent_id=start.setup_intent_id):
            yield rx.call_script(
                confirm_script(start.client_secret, who.user_name),
                callback=QuoteState.card_confirmed,
            )

    @rx.event(background=True)
    @guard.owner_only
    async def card_confirmed(self, result: dict[str, Any]):
        who = guard.principal()
        refusal = card_form_refusal(result)
        async with self:
            token, setup_intent_id = self._token, self._setup_intent_id
            if refusal or not setup_intent_id:
                self.working, self.error = False, refusal or "Start again: the card form expired."
                return
        try:
            accepted = await quotes.accept_quote(
                token=token,
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                setup_intent_id=setup_intent_id,
            )
        except DomainError as error:  # "Checking with Stripe…" (OutcomeUnknown) included
            await self._settle(who, working=False, error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, working=False, _setup_intent_id="", status="accepted"):
            yield [rx.toast.success(accepted.message), rx.redirect(routes.BILLING)]


def _row(label: str, value: rx.Var | str, value_id: str, *, strong: bool = False) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.text(value, size="3" if strong else "2", weight="bold" if strong else None, id=value_id),
        justify="between",
        width="100%",
    )


def _terms() -> rx.Component:
    lines = rx.foreach(
        QuoteState.lines,
        lambda line: rx.el.tr(
            rx.el.td(line["description"]),
            rx.el.td(line["detail"], style={"color": "var(--gray-11)", "padding": "4px 12px"}),
            rx.el.td(line["amount"], style={"textAlign": "right"}),
        ),
    )
    return rx.card(
        rx.vstack(
            rx.el.table(
                rx.el.thead(
                    rx.el.tr(
                        rx.el.th("Item", scope="col", style={"textAlign": "left"}),
                        rx.el.th("Quantity", scope="col", style={"textAlign": "left"}),
                        rx.el.th(
                            "Per " + QuoteState.per, scope="col", style={"textAlign": "right"}
                        ),
                    )
                ),
                rx.el.tbody(lines),
                width="100%",
                id="quote-lines",
            ),
            rx.divider(),
            _row("Subtotal", QuoteState.subtotal, "quote-subtotal"),
            rx.cond(
                QuoteState.discount != "",
                _row(
                    "Discount: " + QuoteState.discount_label, QuoteState.discount, "quote-discount"
                ),
            ),
            _row(
                "First invoice (due on acceptance)",
                QuoteState.first_invoice,
                "quote-first",
                strong=True,
            ),
            _row("Then per " + QuoteState.per, QuoteState.recurring, "quote-recurring"),
            _row("Per year", QuoteState.per_year, "quote-per-year"),
            rx.text(QuoteState.included, size="2", id="quote-included"),
            rx.text(
                "Valid until ",
                rx.text.strong(QuoteState.valid_until, id="quote-valid-until"),
                size="2",
            ),
            rx.cond(QuoteState.note != "", rx.text(QuoteState.note, size="2", id="quote-note")),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _accept() -> rx.Component:
    owner = rx.vstack(
        card_element(CARD_ELEMENT),
        rx.button(
            "Accept and start: pay " + QuoteState.first_invoice,
            on_click=QuoteState.accept,
            loading=QuoteState.working,
            size="3",
            width="100%",
            id="accept-quote",
        ),
        spacing="3",
        width="100%",
    )
    anonymous = rx.vstack(
        rx.text("Sign in (or sign up) to accept: your workspace starts at these terms.", size="2"),
        rx.button(
            rx.link("Accept and start", href=QuoteState.sign_in_href, reload_document=True),
            as_child=True,
            size="3",
            id="sign-in-to-accept",
        ),
        spacing="2",
    )
    other = rx.callout(
        "Only a workspace owner can accept a quote: sign in as the owner.", icon="info"
    )
    return rx.match(QuoteState.viewer, ("owner", owner), ("anonymous", anonymous), other)


def quote_page() -> rx.Component:
    body = rx.vstack(
        rx.heading("Quote " + QuoteState.number, size="7", as_="h1", id="quote-title"),
        rx.text(
            QuoteState.plan_name
            + " for "
            + QuoteState.company
            + ", billed every "
            + QuoteState.per,
            color_scheme="gray",
        ),
        rx.cond(
            QuoteState.refusal != "",
            rx.callout(
                QuoteState.refusal,
                icon="info",
                color_scheme="amber",
                id="quote-refusal",
                role="status",
            ),
        ),
        _terms(),
        rx.link(
            rx.hstack(rx.icon("download", size=14), rx.text("Download PDF"), spacing="1"),
            href=QuoteState.pdf_href,
            is_external=True,  # a plain link: the browser downloads it from this origin
            download=True,
            id="quote-pdf",
        ),
        rx.cond(QuoteState.refusal == "", _accept()),
        rx.cond(
            QuoteState.error != "",
            rx.callout(
                QuoteState.error,
                icon="triangle_alert",
                color_scheme="red",
                id="quote-error",
                role="alert",
            ),
        ),
        spacing="4",
        width="100%",
    )
    missing = rx.vstack(
        rx.heading("Quote not found", size="7", as_="h1", id="quote-title"),
        rx.text(QuoteState.missing, id="quote-missing"),
        rx.link("See our pricing", href=routes.PRICING),
        spacing="3",
    )
    return rx.box(
        rx.el.header(
            rx.heading("Clerk Chat", size="4"),
            padding="12px 20px",
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.el.main(
            rx.cond(
                QuoteState.loaded,
                rx.cond(QuoteState.found, body, missing),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            padding="24px 20px",
            max_width="760px",
            margin="0 auto",
        ),
        card_script_tag(),
    )
