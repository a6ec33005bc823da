"""The ``neuroit`` command line.

Each subcommand lives in ``neuroit/_cli/<name>.py`` and provides ``add_parser(subparsers)``
(which sets ``func`` on its parser) so stages can grow their commands independently.
User errors (:class:`~neuroit.errors.NeuroitError`, missing files) print one line on stderr
and exit with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from neuroit import __version__
from neuroit.errors import NeuroitError

_COMMANDS = ("info", "simulate", "process", "compare")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuroit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neuroit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"neuroit._cli.{name}")
        except ModuleNotFoundError as exc:  # a stage not installed in this build
            if exc.name and exc.name.startswith("neuroit._cli"):
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except (NeuroitError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        msg = str(exc)
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            msg = f"{exc.filename}: {exc.strerror}"
        print(f"neuroit {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("neuroit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
