from clerk_portal.cli import main

raise SystemExit(main())
