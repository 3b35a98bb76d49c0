"""``python -m mechanism_library``: the library's command line."""

from ._cli import main

main()
