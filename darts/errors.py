"""Errors that mean "the user asked for something wrong", reported as one line without a traceback."""


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it."""
