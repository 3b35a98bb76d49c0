"""A Protocol that is not one of our hooks, and a custom check, both
importable by the verify child."""

from typing import Protocol, runtime_checkable


@runtime_checkable
class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


def check_greeter(build) -> None:
    if build(1).greet("ada") != "hello ada":
        raise AssertionError("greet must say hello")
