"""`python -m motion_core ...`: the same command line as the `motion-core` console script."""
import sys

from motion_core.interfaces.cli import main

if __name__ == "__main__":
    sys.exit(main())
