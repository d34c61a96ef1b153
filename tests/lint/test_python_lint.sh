#!/usr/bin/env bash
# pyflakes over every Python file of scripts/ and tests/ (by .py or by a python #! line):
# unused imports and variables, undefined names, redefinitions. Fails on any message.
set -euo pipefail
top=${HEASARCFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v pyflakes3 >/dev/null; then
  echo "test_python_lint: pyflakes3 is not installed (scripts/install-deps installs it)" >&2
  exit 1
fi
cd "$top"
files=$(/usr/bin/python3 -c 'from pyflakes.api import iterSourceCode; print(len(list(iterSourceCode(["scripts", "tests"]))))')
if pyflakes3 scripts tests; then
  echo "test_python_lint: pyflakes found nothing in $files Python files of scripts/ and tests/"
else
  echo "test_python_lint: pyflakes found the problems above (in $files Python files)" >&2
  exit 1
fi
