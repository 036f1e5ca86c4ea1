from inbox_agent.entrypoints.cli import main

raise SystemExit(main())
