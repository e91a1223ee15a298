#!/usr/bin/env python3
"""Build the API reference from the docstrings with pdoc (scripts/docs.sh runs this).

The public modules: the package (``ManagedInstance``, ``Client``, the errors, ``chat_model``),
``langchain``, ``testing`` and its ``fake``, and ``resource.dynamic_provider``, whose module path
stack state records (README, "Compatibility").

Two kinds of pdoc warning are expected and silenced here, both about what pdoc cannot read from
source rather than about the docs: ``ManagedInstance``'s and ``ManagedInstanceArgs``' members
are generated from the property schema (``pulumi_cortecs._schema``), so pdoc finds no line that
declares them; and ``pulumi.Input``/``pulumi.Output`` annotate with forward references that
resolve only inside the Pulumi SDK. Every other warning is printed and fails the build (exit 1),
which tests/test_docs.py checks.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

MODULES = [
    "pulumi_cortecs",
    "pulumi_cortecs.langchain",
    "pulumi_cortecs.testing",
    "pulumi_cortecs.testing.fake",
    "pulumi_cortecs.resource.dynamic_provider",
]
EXPECTED = [
    r"Cannot determine where pulumi_cortecs(\.resource\._managed_instance)?"
    r"\.ManagedInstance(Args)?\.\w+ is taken from",
    r"Error parsing type annotation .* Import of (Input|Output) failed",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-directory", type=Path, default=Path("docs/api"))
    args = parser.parse_args()

    import pdoc
    import pdoc.render

    pdoc.render.configure(docformat="restructuredtext")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for pattern in EXPECTED:
            warnings.filterwarnings("ignore", message=pattern)
        pdoc.pdoc(*MODULES, output_directory=args.output_directory)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if caught:
        return 1
    print(f"API reference: {args.output_directory / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
