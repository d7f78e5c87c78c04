# What sqsdiff.py and ddbdiff.py share: their command line, and loading
# motopatch.py when --patch is given. A script run as `python3 X.py` has its
# own folder on sys.path, so both import this module.
import argparse
import importlib.util
import sys


def parse_and_patch(default_calls, required):
    """Parses --patch PATH, --seed N and --calls N; with --patch, applies
    that copy of motopatch.py and exits 3 (the tests' "does not apply")
    unless every patch named in required was applied."""
    p = argparse.ArgumentParser()
    p.add_argument("--patch")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--calls", type=int, default=default_calls)
    args = p.parse_args()
    if args.patch:
        spec = importlib.util.spec_from_file_location("motopatch", args.patch)
        patch = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(patch)
        applied = patch.apply()
        if not set(required) <= set(applied):
            print("patches applied: %r" % (applied,), file=sys.stderr)
            sys.exit(3)
    return args
