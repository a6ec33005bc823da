"""``neuroit info PATH``: print the header summary of a recording."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="print a recording's header summary",
        description="Print format, version, sampling rate, channels per stream, duration, notes, gaps and files "
                    "of an Intan recording (.rhd/.rhs file, a folder with info.rhd, or a folder of split files).")
    p.add_argument("path", nargs="+", help="recording file(s) or folder")
    p.add_argument("--scan-timestamps", action="store_true",
                   help="check every timestamp for gaps (default: first and last of each file)")
    p.set_defaults(func=run)


def run(args) -> int:
    from neuroit.io.intan import describe, read_intan

    path = args.path[0] if len(args.path) == 1 else list(args.path)
    rec = read_intan(path, scan_timestamps=args.scan_timestamps)
    print(describe(rec))
    return 0
