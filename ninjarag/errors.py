"""The one error type the command line reports: one line that says what to do."""


class UserError(Exception):
    """Printed as a single line, exit code 2, no traceback."""
