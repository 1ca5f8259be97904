"""The portal's own truth: workspaces, users, members, phone numbers, the trial, the live version.

- `repository`: plain functions over a session (create a workspace, invite, remove, add numbers,
  seat and number counts); flush, never commit.
- `trial`: the trial's length (`TRIAL_DAYS`, the one place) and what its state means.
- `live`: the workspace's live version, raised in the transaction of every change (`touch`) and
  awaited by open tabs (`wait_for_change`).
- `changes`: the team and numbers pages' changes, each in one transaction with its consequences
  (activity line, live version, revoked sessions, plan limits). It sits above `billing` and `auth`
  in the layers (it checks plan limits and records billing activity); the rest sits below them.
"""
