"""The one error `mcd ask` raises for bad input: the CLI prints its message as one line."""


class AskError(ValueError):
    """A missing or unreadable video, a run folder that cannot answer, or an unusable question."""
