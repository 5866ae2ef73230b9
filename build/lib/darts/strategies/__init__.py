"""Search strategies: how a space's architecture is chosen (DARTS architect, and the classic ones)."""
