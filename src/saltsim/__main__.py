import sys

from saltsim.cli import main

sys.exit(main())
