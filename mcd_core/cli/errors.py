"""`UserError`: an error caused by input or configuration, printed by `mcd` as one line (exit 2)."""


class UserError(Exception):
    """An error caused by input or configuration: printed as one line, exit status 2."""
