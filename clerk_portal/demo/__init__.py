"""Demo mode only: the seeded workspace and personas (`seed`), the sandbox's test clock
(`clock`), and the demo controls: `reset` (Acme Dental back to its seeded trial), `scenarios`
(the account states a rep shows, through the production services) and `status` (what the demo
panel shows). Each control refuses outside demo mode."""
