"""checkov's command line, run by ``.venv-checkov/bin/python`` (tests/test_checkov.py), with one
speed-up that changes no result: PLY's LALR table for the JSONPath grammar is built once per
process instead of once per JSONPath parsed.

checkov renders every template's attributes through ``bc_jsonpath_ng``, whose parser calls
``ply.yacc.yacc`` on every ``parse`` ("we regenerate the parse table every time"): the table
construction (``LRGeneratedTable``) was the largest cost in a profile of checkov on three of
our templates (293 parses). The table depends only on the grammar, so it is memoized by the
grammar's productions, precedence, start symbol and method; each parse still gets its own
``LRParser`` and its actions are bound as before (the grammar's actions keep no state).

Measured on the 20 templates test_checkov.py scans (2026-11-30, shared 2-core machine): 146 s
of CPU before, 99 s after; the JSON report is the same (5,576 passed, 0 failed, 168 skipped
checks; only the order of one check's ``evaluated_keys`` list differs, which is a set's order).
"""

from __future__ import annotations

import sys
import warnings

import ply.yacc

_Generated = ply.yacc.LRGeneratedTable
_tables: dict[tuple, object] = {}


def _grammar_key(grammar, method) -> tuple:
    return (
        method,
        tuple((str(p), p.prec) for p in grammar.Productions),
        tuple(sorted((k, tuple(v)) for k, v in grammar.Precedence.items())),
        grammar.Start,
    )


def _cached_table(grammar, method="LALR", log=None):
    key = _grammar_key(grammar, method)
    if key not in _tables:
        _tables[key] = _Generated(grammar, method, log)
    return _tables[key]


ply.yacc.LRGeneratedTable = _cached_table

if __name__ == "__main__":
    from checkov.main import Checkov  # as .venv-checkov/bin/checkov runs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        sys.exit(Checkov().run())
