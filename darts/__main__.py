"""`python -m darts search|train|draw|export|latency ...`: the installed commands darts-search, darts-train,
darts-draw, darts-export, darts-latency."""
import sys

COMMANDS = {"search": "darts.cli.search", "train": "darts.cli.train", "draw": "darts.cli.draw",
            "export": "darts.cli.export", "latency": "darts.cli.latency"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m darts {{{','.join(COMMANDS)}}} [flags]   (each command's --help lists its flags)",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib
    module = importlib.import_module(COMMANDS[argv[0]])
    sys.argv = [f"darts-{argv[0]}"] + argv[1:]
    return module.cli()


if __name__ == "__main__":
    sys.exit(main())
