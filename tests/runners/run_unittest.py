#!/usr/bin/env python3
"""Runs one unittest module for ctest: exit 0 when it passed, 1 when it
failed, 77 (reported skipped) when every one of its tests skipped itself, as
they do where what they need (povray, numpy, Landlock) is missing."""
import pathlib
import sys
import unittest


def main(path):
    path = pathlib.Path(path).resolve()
    sys.path.insert(0, str(path.parent))
    suite = unittest.defaultTestLoader.loadTestsFromName(path.stem)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
