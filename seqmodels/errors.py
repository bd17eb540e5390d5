"""The error a user can fix: a bad file, a bad override, a missing checkpoint.

The command line prints its message as one line and exits with code 2; any other exception is a
bug in seqmodels and keeps its traceback. Messages say what was wrong, where, and what to do.
"""


class UserError(Exception):
    """A mistake in the user's input; the message is shown as is, without a traceback."""
