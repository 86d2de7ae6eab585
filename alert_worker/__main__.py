"""`python -m alert_worker`: the same as the `alert-worker` command."""

import sys

from alert_worker.cli import main

sys.exit(main())
