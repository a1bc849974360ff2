"""`TableError`: the error of the scoring readers, in a module of its own so that `tables` and the
modules it uses (`uncertainty`) can both raise it without importing each other."""


class TableError(ValueError):
    """A predictions CSV, failures manifest or score table is malformed."""
