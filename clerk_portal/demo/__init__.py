"""Demo mode only: the seeded workspace and personas (`seed`) and the sandbox's test clock
(`clock`), used by `make run`'s first start and the demo controls."""
