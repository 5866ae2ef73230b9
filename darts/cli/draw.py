"""darts-draw (python -m visualize): draw a genotype's cells, or everything a search left in its folder."""
import sys


def cli() -> int:
    from visualize.__main__ import main
    return main()


if __name__ == "__main__":
    sys.exit(cli())
