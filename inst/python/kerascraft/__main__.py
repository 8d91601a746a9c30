from kerascraft.cli import main

raise SystemExit(main())
