"""The billing-details form's saved values: where invoices go and what they say."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from clerk_portal.core.db import in_db
from clerk_portal.workspace import repository


@dataclass(frozen=True)
class SavedDetails:
    """What the workspace's invoices carry now; "" where nothing is set."""

    billing_email: str
    billing_name: str
    address_line1: str
    address_line2: str
    address_city: str
    address_state: str
    address_postal_code: str
    address_country: str
    tax_id: str
    po_number: str
    tax_id_type: str = ""


def saved_details(session: Session, *, workspace_id: int) -> SavedDetails:
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    return SavedDetails(
        billing_email=account.billing_email or "",
        billing_name=account.billing_name or "",
        address_line1=account.address_line1 or "",
        address_line2=account.address_line2 or "",
        address_city=account.address_city or "",
        address_state=account.address_state or "",
        address_postal_code=account.address_postal_code or "",
        address_country=account.address_country or "",
        tax_id=account.tax_id or "",
        po_number=account.po_number or "",
        tax_id_type=account.tax_id_type or "",
    )


async def load_saved_details(workspace_id: int) -> SavedDetails:
    return await in_db(lambda session: saved_details(session, workspace_id=workspace_id))
