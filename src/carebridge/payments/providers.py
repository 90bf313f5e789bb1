"""Payment providers behind one interface. The demo provider stands in for WeChat Pay / Alipay:
its checkout page and its book (`provider_transactions`) are its own, and it tells us a payment
succeeded with a signed notice, exactly as a real provider calls the notify URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.config import get_settings
from carebridge.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from carebridge.kit.i18n import N_
from carebridge.payments.models import ProviderTransaction

SIGNATURE_HEADER = "X-Demo-Pay-Signature"


@dataclass(frozen=True)
class Checkout:
    reference: str
    redirect_url: str


@dataclass(frozen=True)
class Notice:
    reference: str
    status: str  # succeeded | failed
    amount_fen: int


class PaymentProvider(Protocol):
    name: str

    async def start(self, session: AsyncSession, *, merchant_order: str, amount_fen: int) -> Checkout: ...

    def read_notice(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """Verify the provider's signature and parse; raise NotAuthenticated on a bad signature."""
        ...

    async def refund(self, session: AsyncSession, *, reference: str, amount_fen: int) -> str: ...


def _demo_key() -> bytes:
    return hmac.new(get_settings().require_secret().encode(), b"carebridge demo pay notices", hashlib.sha256).digest()


def sign_demo_notice(body: bytes, at: int | None = None) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, the shape Stripe-like providers use."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(_demo_key(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _parse_signature(header: str) -> tuple[int, str]:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        return int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        raise NotAuthenticated(N_("the payment notice is not signed"), code="bad_signature") from None


class DemoProvider:
    name = "demo"

    async def start(self, session: AsyncSession, *, merchant_order: str, amount_fen: int) -> Checkout:
        reference = f"demo_{secrets.token_hex(12)}"
        session.add(ProviderTransaction(provider=self.name, reference=reference, merchant_order=merchant_order,
                                        kind="charge", amount_fen=amount_fen, status="open"))
        await session.flush()
        return Checkout(reference, f"/payments/demo-provider/{reference}")

    def read_notice(self, headers: Mapping[str, str], body: bytes) -> Notice:
        at, mac = _parse_signature(headers.get(SIGNATURE_HEADER, ""))
        expected = hmac.new(_demo_key(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected):
            raise NotAuthenticated(N_("the payment notice signature is wrong"), code="bad_signature")
        if abs(time.time() - at) > get_settings().payments_callback_tolerance_seconds:
            raise NotAuthenticated(N_("the payment notice is too old"), code="stale_notice")
        try:
            data = json.loads(body)
            return Notice(str(data["reference"]), str(data["status"]), int(data["amount_fen"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(N_("the payment notice cannot be read")) from None

    async def settle(self, session: AsyncSession, reference: str) -> bytes:
        """The payer confirmed on the provider's page: the provider books it and writes the notice."""
        row = (await session.execute(
            update(ProviderTransaction).where(ProviderTransaction.provider == self.name,
                                              ProviderTransaction.reference == reference,
                                              ProviderTransaction.kind == "charge")
            .values(status="succeeded").returning(ProviderTransaction.amount_fen))).first()
        if row is None:
            raise NotFound(N_("payment not found"))
        return json.dumps({"reference": reference, "status": "succeeded", "amount_fen": row[0]}).encode()

    async def refund(self, session: AsyncSession, *, reference: str, amount_fen: int) -> str:
        refund_ref = f"demo_rf_{secrets.token_hex(10)}"
        session.add(ProviderTransaction(provider=self.name, reference=refund_ref, merchant_order=reference,
                                        kind="refund", amount_fen=amount_fen, status="succeeded"))
        await session.flush()
        return refund_ref


PROVIDERS: dict[str, PaymentProvider] = {"demo": DemoProvider()}


def demo_allowed() -> bool:
    settings = get_settings()
    return settings.demo_mode or settings.payments_demo_provider_enabled


def provider_named(name: str) -> PaymentProvider:
    found = PROVIDERS.get(name)
    if found is None or (name == DemoProvider.name and not demo_allowed()):
        raise NotFound(N_("payment provider not found"))
    return found


def configured_provider() -> PaymentProvider:
    name = get_settings().payments_provider
    if name == DemoProvider.name and not demo_allowed():
        raise Conflict(N_("online payment is not set up here yet; please pay at the facility's counter"),
                       code="payments_not_configured")
    return provider_named(name)
