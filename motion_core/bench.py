"""`python -m motion_core.bench ...`, the documented command: the benchmarks live in `motion_core.interfaces.bench`."""
from motion_core.interfaces.bench import main

if __name__ == "__main__":
    main()
