"""The Enterprise "Contact sales" dialog's state: open, send (validated, bounded, stored), thank.

The form rules and the total bound are `billing.services.sales_leads`'; the allowance of one
sender (an IP address) is here, where the sender's address is known.
"""

from __future__ import annotations

import reflex as rx

from clerk_portal.billing.services import sales_leads
from clerk_portal.core import rate_limit
from clerk_portal.core.errors import DomainError
from clerk_portal.ui.guard import public_handler

# One client (an IP address) sends a few requests; everyone together at most
# sales_leads.TOTAL_PER_HOUR.
PER_CLIENT = rate_limit.Limit("contact_sales", count=5, seconds=600)
TOO_MANY_FROM_YOU = (
    "You have sent us several requests in the last few minutes: we have them all. Please wait "
    "10 minutes before sending another."
)


class ContactSalesState(rx.State):
    open: bool = False
    sending: bool = False
    error: str = ""
    sent: bool = False
    # What the form opens with: the calculator's seats and numbers when opened from it.
    seats: str = ""
    numbers: str = ""

    @rx.event
    @public_handler
    def open_contact_sales(self):
        self._open_with()

    def _open_with(self, seats: int | None = None, numbers: int | None = None) -> None:
        """Open the form, its seats and numbers filled in (the person may change them)."""
        self.seats = "" if seats is None else str(seats)
        self.numbers = "" if numbers is None else str(numbers)
        self.open, self.error, self.sent = True, "", False

    @rx.event
    @public_handler
    def close_contact_sales(self):
        self.open = False

    @rx.event
    @public_handler
    async def submit_inquiry(self, form: dict):
        self.sending, self.error = True, ""
        yield
        try:
            inquiry = sales_leads.read_form(form)
            # The address the websocket came from: the client token is the sender's own choice.
            if await rate_limit.take([(PER_CLIENT, self.router.session.client_ip)]):
                raise DomainError(TOO_MANY_FROM_YOU)
            await sales_leads.record_inquiry(inquiry)
        except DomainError as refused:
            self.error = refused.message
        else:
            self.sent = True
            yield rx.toast.success("Thank you: our sales team will be in touch within a day.")
        finally:
            self.sending = False
