import sys

from crmresearch.cli import main

sys.exit(main())
