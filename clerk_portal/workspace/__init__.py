"""The portal's own truth: workspaces, users, members, phone numbers, the trial, the live version.

- `repository`: plain functions over a session (create a workspace, invite, remove, add numbers,
  seat and number counts); flush, never commit.
- `trial`: the trial's length (`TRIAL_DAYS`, the one place) and what its state means.
- `read_models`: the rows the team and numbers pages show (members with their users' names,
  active numbers), as frozen dataclasses, read off the event loop.
- `members`: the member reads the UI layer makes (a role now, the owners' names).
- `live`: the workspace's live version, raised in the transaction of every change (`touch`),
  published once on commit and pushed to the open tabs waiting on it (`wait_for_change`).
- `changes`: the team and numbers pages' changes, each in one transaction with its consequences
  (activity line, live version, revoked sessions, plan limits). It sits above `billing` and `auth`
  in the layers (it checks plan limits and records billing activity); the rest sits below them.
"""
