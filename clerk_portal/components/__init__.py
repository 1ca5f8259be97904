"""Pure UI functions (shell, tables, plan picker, card form...): they read state vars and emit
events; the states that do I/O live in `clerk_portal.ui` or next to their page."""
