"""OIDC sign-in against a real provider over HTTP: PKCE, state, nonce, ID token checks."""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from clerk_portal.auth.oidc import LoginRequest, OIDCClient, OIDCError
from tests.support.oidc import running_provider
from tests.support.ports import free_port

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
