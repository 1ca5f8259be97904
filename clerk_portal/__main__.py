from clerk_portal.ops.cli import main

raise SystemExit(main())
