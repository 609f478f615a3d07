import sys

from agentd.worker.main import main

sys.exit(main())
