"""`python -m runtime.cli`: the same as the `dirigent` console script."""

from runtime.cli import main

main()
