"""`python -m otel_agent` is `otel-agent`."""

import sys

from otel_agent.cli import main

sys.exit(main())
