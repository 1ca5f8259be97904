"""OpenID Connect sign-in with authlib: discovery, code flow with PKCE (S256), ID token checks.

Nothing here touches the database or Reflex: `begin()` returns what the caller must keep server-side
(state, nonce, PKCE verifier) and `finish()` returns the verified identity, or raises `OIDCError`
with a reason that the sign-in pages turn into a friendly message.
"""

from __future__ import annotations

import secrets
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from clerk_portal.core import text_input
from clerk_portal.core.errors import InvalidValue

with warnings.catch_warnings():  # authlib prefers httpx2, and works with httpx
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
CLOCK_SKEW_SECONDS = 60
_HTTP_TIMEOUT = httpx.Timeout(10.0)


class OIDCError(Exception):
    """Sign-in could not finish. `reason` is a stable code for the error page and the tests."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class LoginRequest:
    """Where to send the browser, and the secrets to keep until the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str
    name: str
    # Whether the provider vouches that the email belongs to this subject: only then may the
    # email claim open an invitation (anyone can type an unverified address at many providers).
    email_verified: bool = False


class OIDCClient:
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None

    # --- provider discovery ---------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if not isinstance(document, dict):
                raise OIDCError("provider_misconfigured", "discovery is not a JSON object")
            issuer = document.get("issuer", "")
            if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer:
                raise OIDCError("provider_misconfigured", "discovery names another issuer")
            end_session = document.get("end_session_endpoint")
            if end_session is not None and not isinstance(end_session, str):
                raise OIDCError(
                    "provider_misconfigured", "discovery's end_session_endpoint is not text"
                )
            self._metadata = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=_endpoint(document, "authorization_endpoint"),
                token_endpoint=_endpoint(document, "token_endpoint"),
                jwks_uri=_endpoint(document, "jwks_uri"),
                end_session_endpoint=end_session,
            )
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            jwks = await self._get_json(metadata.jwks_uri)
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise OIDCError("provider_misconfigured", "bad JWKS: no list of keys")
            try:
                self._keys = KeySet.import_key_set({"keys": jwks["keys"]})
            except (JoseError, ValueError, TypeError) as error:
                raise OIDCError("provider_misconfigured", f"bad JWKS: {error}") from None
        return self._keys

    async def _get_json(self, url: str) -> object:
        """The document at `url`, any JSON value: the caller checks its shape."""
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as http:
                response = await http.get(url)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise OIDCError("provider_unavailable", f"{url}: {type(error).__name__}") from None

    def _oauth_client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
            scope="openid email profile",
            code_challenge_method="S256",
            timeout=_HTTP_TIMEOUT,
        )

    # --- the two halves of the flow ---------------------------------------------------------

    async def begin(self) -> LoginRequest:
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)
        async with self._oauth_client() as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint,
                state=state,
                code_verifier=code_verifier,
                nonce=nonce,
            )
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    async def finish(
        self, *, code: str, returned_state: str, expected: LoginRequest | None
    ) -> Identity:
        if expected is None:
            raise OIDCError("login_expired", "no sign-in in progress for this browser")
        if not returned_state or not secrets.compare_digest(returned_state, expected.state):
            raise OIDCError("state_mismatch")
        metadata = await self.metadata()
        try:
            async with self._oauth_client() as client:
                token = await client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=expected.code_verifier,
                    redirect_uri=self.redirect_uri,
                )
        except (OAuthError, httpx.HTTPError, ValueError) as error:
            raise OIDCError("token_exchange_failed", type(error).__name__) from None
        id_token = token.get("id_token")
        if not id_token:
            raise OIDCError("invalid_id_token", "the provider returned no ID token")
        claims = await self.verify_id_token(id_token, nonce=expected.nonce)
        return Identity(
            issuer=claims["iss"],
            subject=str(claims["sub"]),
            email=(email := usable_email(claims.get("email"))),
            name=str(claims.get("name") or claims.get("preferred_username") or ""),
            email_verified=bool(email) and email_is_verified(claims),
        )

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """Signature (provider's JWKS), issuer, audience, expiry, issued-at and nonce."""
        token = await self._decode(id_token)
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            claim = getattr(error, "claim", "") or ""
            reason = {"exp": "id_token_expired", "aud": "wrong_audience", "nonce": "nonce_mismatch"}
            raise OIDCError(reason.get(claim, "invalid_id_token"), str(error)) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OIDCError("wrong_audience", "azp is not this client")
        issued_at = claims.get("iat")
        if isinstance(issued_at, int) and issued_at > self._clock() + CLOCK_SKEW_SECONDS:
            raise OIDCError("invalid_id_token", "issued in the future")
        return claims

    async def _decode(self, id_token: str) -> jwt.Token:
        for refresh in (False, True):  # a new signing key appears after rotation: refetch once
            try:
                return jwt.decode(
                    id_token, await self._key_set(refresh=refresh), algorithms=ID_TOKEN_ALGORITHMS
                )
            except JoseError as error:
                if refresh:
                    raise OIDCError("invalid_id_token", f"signature: {error}") from None
            except ValueError as error:
                raise OIDCError("invalid_id_token", f"malformed: {error}") from None
        raise AssertionError("unreachable")


def _endpoint(document: dict[str, object], name: str) -> str:
    """A required URL of the discovery document (a provider's broken deployment is no 500)."""
    value = document.get(name)
    if value is None:
        raise OIDCError("provider_misconfigured", f"discovery lacks {name!r}")
    if not isinstance(value, str):
        raise OIDCError("provider_misconfigured", f"discovery's {name} is not text")
    return value


def usable_email(claim: object) -> str:
    """The email claim when it is an address the portal can store and show, else "": it is text
    somebody typed at the provider (2 KB long, with a NUL or a text-direction override...)."""
    try:
        return text_input.email(claim, required=False) if isinstance(claim, str) else ""
    except InvalidValue:
        return ""


def email_is_verified(claims: dict[str, Any]) -> bool:
    """The `email_verified` claim, read strictly: missing or anything but true means no.

    Some providers send the string "true" instead of the JSON boolean; nothing else counts.
    """
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
