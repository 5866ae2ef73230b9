"""Errors that mean "the user asked for something wrong", reported as one line without a traceback."""
import darts._guard  # noqa: F401  (first: refuse to run under another distribution's darts/__init__.py)


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it."""


class InvalidArgument(UserError, ValueError):
    """A setting outside its valid range (a flag on the command line, a keyword argument of the library):
    the message names it and the values it takes. A ValueError, so library callers may catch it as one."""
