"""seqlab: the app's entry point. Subcommands go to the headless CLI before Qt is imported."""
from __future__ import annotations

import sys

CLI_COMMANDS = {"info", "data", "train", "eval", "predict", "bench", "--version"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CLI_COMMANDS:
        from engine.cli import main as cli_main
        return cli_main(argv)
    try:
        from desktop.gui import run_gui
        return run_gui(argv)
    except KeyboardInterrupt:            # Ctrl-C before the window's own handler is in place
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
