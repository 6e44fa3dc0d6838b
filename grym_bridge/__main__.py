"""`python -m grym_bridge` runs the same CLI as `grym`."""

from grym_bridge.cli import main

if __name__ == "__main__":
    main()
