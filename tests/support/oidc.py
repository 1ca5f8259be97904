"""A real OpenID Connect provider over HTTP (oidc-provider-mock, a Flask app in a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from oidc_provider_mock import User, run_server_in_thread


@dataclass
class Provider:
    issuer: str

    def set_user(self, subject: str, **claims: object) -> None:
        httpx.put(f"{self.issuer}/users/{subject}", json=claims).raise_for_status()

    def approve(self, authorization_url: str, subject: str) -> dict[str, str]:
        """Act as the person at the provider's sign-in form; returns the callback's query."""
        response = httpx.post(authorization_url, data={"sub": subject}, follow_redirects=False)
        assert response.status_code in (302, 303), response.text[:500]
        location = response.headers["location"]
        query = parse_qs(urlsplit(location).query)
        return {key: values[0] for key, values in query.items()} | {"_location": location}


@contextmanager
def running_provider(*users: User) -> Iterator[Provider]:
    with run_server_in_thread(port=0, require_nonce=True, user_claims=users) as server:
        yield Provider(issuer=f"http://localhost:{server.server_port}")
