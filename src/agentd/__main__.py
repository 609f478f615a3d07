import sys

from agentd.client.cli import main

sys.exit(main())
