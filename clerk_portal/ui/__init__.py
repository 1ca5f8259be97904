"""The UI layer: the Reflex state every page shares, and the mixins that do a page's I/O.

- `state`: the shell (`SessionState`: who is signed in, which workspace, the trial and read-only
  state), the tab's one live watcher (`SessionState.watch_live`), and `TabChangesHands`, the
  middleware that resets a tab's states when the session behind it changes (`tab_session`).
- `guard`: who is asking and may they: `Principal` and the decorators every handler wears
  (`members_only`, `owner_only`, `team_managers_only`, ...).
- `live`: `LiveWatch`, the mixin through which a page's body follows the shell's watcher.
- `access`: what someone who is not an owner sees instead of billing (the owners' names).
- the shared state mixins pages build on (the dialogs that confirm a change, contact sales).

The rule: state and its I/O mixins live here, the database does not. No module here imports
sqlmodel, sqlalchemy, `clerk_portal.core.db` or `clerk_portal.models` (an import-linter contract in
pyproject.toml): reads and writes are functions of their capability (`auth.principals`,
`workspace.members`, `billing.services`, ...), called off the event loop. Pages and components
build on this layer and nothing here imports them (the app hands itself over: `state.serve`).
"""
