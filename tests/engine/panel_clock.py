"""A clock the panel tests move by hand, so elapsed time and the estimate of what is left are exact."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
