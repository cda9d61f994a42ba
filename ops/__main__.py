"""python -m ops: the same as msgctl."""

from ops.cli import main

main()
