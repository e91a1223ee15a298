#!/usr/bin/env python3
"""Rewrite README.md's generated tables from the property schema (pulumi_cortecs._schema)."""

from pathlib import Path

from pulumi_cortecs._reference import with_tables

readme = Path(__file__).resolve().parent.parent / "README.md"
readme.write_text(with_tables(readme.read_text()))
