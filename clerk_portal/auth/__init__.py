"""Sign-in and sessions: OpenID Connect with authlib (`oidc`), what a verified sign-in means for
the portal (`accounts`: the user, their invitations, their workspace), server-side sessions
(`sessions`), who is behind a cookie for the UI layer (`principals`), sign-in attempt limits and
the HTTP routes (/auth/login, callback, logout, demo). Never imports `billing`."""
