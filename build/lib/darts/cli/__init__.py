"""The command lines, installed as darts-search, darts-train and darts-draw (and `python -m darts ...`)."""
