"""Sign-in and sessions: OpenID Connect with authlib (`oidc`), what a verified sign-in means for
the portal (`accounts`: the user, their invitations, their workspace), server-side sessions
(`sessions`), sign-in attempt limits and the HTTP routes (/auth/login, callback, logout, demo).
Never imports `billing`."""
