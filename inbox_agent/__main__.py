from inbox_agent.cli import main

raise SystemExit(main())
