"""OIDC sign-in against a real provider over HTTP: PKCE, state, nonce, ID token checks."""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clerk_portal.auth.oidc import LoginRequest, OIDCClient, OIDCError
from tests.support.oidc import running_provider
from tests.support.ports import free_port
from tests.support.servers import ThreadedServer

REDIRECT = "http://localhost:3000/auth/callback"


@pytest.fixture(scope="module")
def provider():
    with running_provider() as provider:
        provider.set_user("alice", email="alice@acme.example", name="Alice Adams")
        yield provider


def client_for(provider, client_id="portal", clock=time.time) -> OIDCClient:
    return OIDCClient(
        issuer=provider.issuer,
        client_id=client_id,
        client_secret="portal-secret",
        redirect_uri=REDIRECT,
        clock=clock,
    )


async def test_sign_in_returns_the_verified_identity(provider):
    client = client_for(provider)
    attempt = await client.begin()
    callback = provider.approve(attempt.url, "alice")

    identity = await client.finish(
        code=callback["code"], returned_state=callback["state"], expected=attempt
    )

    assert callback["_location"].startswith(REDIRECT)
    assert identity.issuer == provider.issuer
    assert identity.subject == "alice"
    assert identity.email == "alice@acme.example"
    assert identity.name == "Alice Adams"


async def test_authorization_request_carries_pkce_s256_state_and_nonce(provider):
    attempt = await client_for(provider).begin()
    query = {key: values[0] for key, values in parse_qs(urlsplit(attempt.url).query).items()}

    digest = hashlib.sha256(attempt.code_verifier.encode()).digest()
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["state"] == attempt.state
    assert query["nonce"] == attempt.nonce
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) >= {"openid", "email"}
    assert len(attempt.state) >= 32 and len(attempt.nonce) >= 32


async def test_wrong_state_is_refused_before_any_token_exchange(provider):
    client = client_for(provider)
    attempt = await client.begin()
    callback = provider.approve(attempt.url, "alice")

    with pytest.raises(OIDCError) as raised:
        await client.finish(code=callback["code"], returned_state="forged", expected=attempt)
    assert raised.value.reason == "state_mismatch"


async def test_callback_without_a_started_sign_in_is_refused(provider):
    with pytest.raises(OIDCError) as raised:
        await client_for(provider).finish(code="x", returned_state="y", expected=None)
    assert raised.value.reason == "login_expired"


async def test_wrong_nonce_is_refused(provider):
    client = client_for(provider)
    attempt = await client.begin()
    callback = provider.approve(attempt.url, "alice")
    replayed = LoginRequest(
        url="", state=attempt.state, nonce="another-nonce", code_verifier=attempt.code_verifier
    )

    with pytest.raises(OIDCError) as raised:
        await client.finish(code=callback["code"], returned_state=attempt.state, expected=replayed)
    assert raised.value.reason == "nonce_mismatch"


async def test_expired_id_token_is_refused(provider):
    # The provider's ID tokens live one hour; our clock says two hours have passed.
    client = client_for(provider, clock=lambda: time.time() + 7200)
    attempt = await client.begin()
    callback = provider.approve(attempt.url, "alice")

    with pytest.raises(OIDCError) as raised:
        await client.finish(
            code=callback["code"], returned_state=callback["state"], expected=attempt
        )
    assert raised.value.reason == "id_token_expired"


async def test_id_token_for_another_client_is_refused(provider):
    other_app = client_for(provider, client_id="another-app")
    attempt = await other_app.begin()
    callback = provider.approve(attempt.url, "alice")
    token = await _id_token(other_app, callback, attempt)

    with pytest.raises(OIDCError) as raised:
        await client_for(provider).verify_id_token(token, nonce=attempt.nonce)
    assert raised.value.reason == "wrong_audience"


async def test_tampered_id_token_is_refused(provider):
    client = client_for(provider)
    attempt = await client.begin()
    callback = provider.approve(attempt.url, "alice")
    header, payload, signature = (await _id_token(client, callback, attempt)).split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    with pytest.raises(OIDCError) as raised:
        await client.verify_id_token(forged, nonce=attempt.nonce)
    assert raised.value.reason == "invalid_id_token"


async def test_provider_down_is_reported_as_unavailable():
    client = OIDCClient(
        issuer=f"http://127.0.0.1:{free_port()}",
        client_id="portal",
        client_secret="x",
        redirect_uri=REDIRECT,
    )
    with pytest.raises(OIDCError) as raised:
        await client.begin()
    assert raised.value.reason == "provider_unavailable"


class DocumentServer:
    """A provider that publishes whatever JSON a test puts at a path (a broken deployment)."""

    def __init__(self) -> None:
        self.documents: dict[str, object] = {}

        async def serve(request: Request) -> Response:
            if request.url.path not in self.documents:
                return Response(status_code=404)
            return JSONResponse(self.documents[request.url.path])

        self._served = ThreadedServer(Starlette(routes=[Route("/{path:path}", serve)]))
        self.issuer = self._served.base_url

    def discovery(self, **overrides: object) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        } | overrides

    def stop(self) -> None:
        self._served.stop()


@pytest.fixture(scope="module")
def broken_provider():
    server = DocumentServer()
    yield server
    server.stop()


DISCOVERY = "/.well-known/openid-configuration"


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="a list"),
        pytest.param("openid", id="a string"),
        pytest.param(None, id="null"),
        pytest.param({"issuer": 5}, id="issuer not a string"),
        pytest.param({"authorization_endpoint": None}, id="no authorization endpoint"),
        pytest.param({"token_endpoint": ["x"]}, id="token endpoint a list"),
        pytest.param({"jwks_uri": {}}, id="jwks_uri an object"),
        pytest.param({"end_session_endpoint": 7}, id="end_session_endpoint a number"),
    ],
)
async def test_malformed_discovery_document_is_a_provider_misconfiguration(
    broken_provider, document
):
    if isinstance(document, dict):  # a field changed in an otherwise good document
        document = broken_provider.discovery(**document)
    broken_provider.documents = {DISCOVERY: document}
    client = client_for(broken_provider)

    with pytest.raises(OIDCError) as raised:
        await client.begin()
    assert raised.value.reason == "provider_misconfigured"


@pytest.mark.parametrize(
    "jwks",
    [
        pytest.param([], id="a list"),
        pytest.param({}, id="no keys"),
        pytest.param({"keys": None}, id="keys null"),
        pytest.param({"keys": "abc"}, id="keys a string"),
        pytest.param({"keys": [{"kty": "RSA"}]}, id="a key without its numbers"),
        pytest.param(42, id="a number"),
    ],
)
async def test_malformed_jwks_is_a_provider_misconfiguration(broken_provider, jwks):
    broken_provider.documents = {DISCOVERY: broken_provider.discovery(), "/jwks": jwks}
    client = client_for(broken_provider)

    with pytest.raises(OIDCError) as raised:
        await client.verify_id_token("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", nonce="n")
    assert raised.value.reason == "provider_misconfigured"


async def _id_token(client: OIDCClient, callback: dict, attempt: LoginRequest) -> str:
    metadata = await client.metadata()
    async with client._oauth_client() as oauth:
        token = await oauth.fetch_token(
            metadata.token_endpoint,
            grant_type="authorization_code",
            code=callback["code"],
            code_verifier=attempt.code_verifier,
            redirect_uri=REDIRECT,
        )
    return token["id_token"]
