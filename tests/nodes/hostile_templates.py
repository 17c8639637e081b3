"""Templates a champion could write to stop the server, and the limit that refuses each.

Test data (no tests here): `tests/nodes/test_hostile_templates.py` renders each one under
the default budget and under the hard stop alone, and `tests/runtime/api/
test_template_budget_api.py` submits each in a draft test run while it calls /health.

The first five are the ones reported in the issue "Hardening" (what they did before the
budget, on the reporter's machine); the others are the classics. `limits` are the
static limits that may refuse a template first (several, where the order is a detail).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    name: str
    template: str
    limits: frozenset[str]

    def __str__(self) -> str:  # the test id
        return self.name


def _hostile(name: str, template: str, *limits: str) -> Hostile:
    return Hostile(name, template, frozenset(limits))


_CALL_TWICE = "{% macro twice() %}{{ caller() }}{{ caller() }}{% endmacro %}"

HOSTILE_TEMPLATES: list[Hostile] = [
    # -- reported: 58 s and 2.1 GB; 9.2 s; 4.5 GB in 2.4 s; (GBs); 17 s ----------------------
    _hostile("lipsum", "{{ lipsum(999999)|length }}", "lipsum_words"),
    _hostile(
        "nested-loops-over-text",
        "{% for a in 'x' * 20000 %}{% for b in 'x' * 20000 %}{{ '' }}{% endfor %}{% endfor %}",
        "loop_iterations",
    ),
    _hostile("printf-width", "{{ '%03999999999d' % 1 }}", "format_width"),
    _hostile("format-width", "{{ '{:>999999999}'.format(1) }}", "format_width"),
    _hostile("wordwrap-1", "{{ ('x' * 999999)|wordwrap(1) }}", "work", "string_chars"),
    # -- loops and recursion ----------------------------------------------------------------
    _hostile(
        "nested-ranges",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "loop_iterations",
    ),
    _hostile("macro-recursion", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion_depth"),
    _hostile(
        "macro-fan-out",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "calls",
    ),
    _hostile(
        "caller-fan-out",
        _CALL_TWICE + "{% call twice() %}" * 40 + "x" + "{% endcall %}" * 40,
        "calls",
        "work",
    ),
    _hostile("recursive-loop", "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "recursion_depth"),
    _hostile("huge-range", "{% for i in range(10 ** 9) %}{% endfor %}", "range_items"),
    _hostile("range-product", "{{ (range(10000)|list) * 10000 }}", "list_items"),
    # -- repetition and arithmetic ----------------------------------------------------------
    _hostile("repeat-chain", "{{ 'x' * 1000000 * 1000 }}", "string_chars"),
    _hostile("nested-list-repeat", "{{ [[0] * 100000] * 100000 }}", "string_chars"),
    _hostile("dict-of-repeats", "{{ {'a': ['y' * 100000] * 1000} }}", "string_chars"),
    _hostile(
        "list-literal-tower",
        "{% set a = ['x' * 100000] * 100 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
        "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c|string|length }}",
        "string_chars",
    ),
    _hostile(
        "squaring",
        "{% set ns = namespace(x=9) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}"
        "{{ ns.x }}",
        "number_bits",
    ),
    _hostile("power-tower", "{{ 9 ** 99 ** 99 ** 99 }}", "number_bits"),
    _hostile("to-bytes", "{{ (1).to_bytes(999999999, 'big')|length }}", "string_chars"),
    # -- accumulators ------------------------------------------------------------------------
    _hostile(
        "namespace-text-accumulator",
        "{% set ns = namespace(s='') %}{% for i in range(10000) %}{% set ns.s = ns.s ~ ('x' * 1000) %}"
        "{% endfor %}{{ ns.s|length }}",
        "work",
        "string_chars",
    ),
    _hostile(
        "namespace-list-doubling",
        "{% set ns = namespace(l=[0]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"
        "{{ ns.l|length }}",
        "list_items",
    ),
    _hostile(
        "macro-buffer",
        "{% macro m() %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}{% endmacro %}"
        "{{ m()|length }}",
        "work",
    ),
    _hostile(
        "block-set-buffer",
        "{% set x %}{% for i in range(10000) %}{{ 'y' * 10000 }}{% endfor %}{% endset %}{{ x|length }}",
        "work",
    ),
    _hostile(
        "output-size",
        "{% for i in range(10000) %}{% for j in range(10) %}{{ 'x' * 10000 }}{% endfor %}{% endfor %}",
        "output_chars",
    ),
    # -- filters and methods ----------------------------------------------------------------
    _hostile("join-huge-list", "{{ (['x' * 100000] * 100000)|join }}", "string_chars"),
    _hostile("join-method", "{{ ','.join(['x' * 100000] * 100000) }}", "string_chars"),
    _hostile("format-filter-width", "{{ '%99999999s'|format(1) }}", "format_width"),
    _hostile("format-nested-width", "{{ '{:{w}}'.format(1, w=999999999) }}", "format_width"),
    _hostile("replace-explosion", "{{ ('x' * 100000)|replace('x', 'y' * 100000) }}", "string_chars"),
    _hostile("replace-empty", "{{ ('x' * 100000)|replace('', 'y' * 10000) }}", "string_chars"),
    _hostile("replace-method", "{{ ('x' * 100000).replace('x', 'y' * 100000) }}", "string_chars"),
    _hostile("center", "{{ 'x'|center(999999999) }}", "format_width"),
    _hostile("ljust", "{{ 'x'.ljust(999999999) }}", "format_width"),
    _hostile("indent-width", "{{ ('x\\n' * 500000)|indent(1000) }}", "string_chars"),
    _hostile("indent-text", "{{ ('x\\n' * 100000)|indent('y' * 5000) }}", "string_chars"),
    _hostile("expandtabs", "{{ ('\\t' * 100000).expandtabs(10000) }}", "string_chars"),
    _hostile("translate", "{{ ('x' * 100000).translate({120: 'y' * 100000}) }}", "string_chars"),
    _hostile("tojson-indent", "{{ ([[[[[[[[[[1]]]]]]]]]] * 1000)|tojson(10000) }}", "string_chars"),
    _hostile("batch-fill", "{{ [1]|batch(999999999, 'x')|list }}", "list_items"),
    _hostile("slice-count", "{{ [1]|slice(999999999)|list }}", "list_items"),
    _hostile("lipsum-words", "{{ lipsum(1, false, 10, 999999999) }}", "lipsum_words"),
    _hostile("join-then-repeat", "{{ (range(10000)|map('string')|join) * 1000 }}", "string_chars"),
]

# Router conditions and single-expression outputs are expressions, evaluated the same way.
HOSTILE_EXPRESSIONS: list[Hostile] = [
    _hostile("expr-lipsum", "lipsum(999999)|length > 0", "lipsum_words"),
    _hostile("expr-repeat", "('x' * 1000000 * 1000)|length", "string_chars"),
    _hostile("expr-printf", "('%03999999999d' % 1)|length", "format_width"),
    _hostile("expr-list-tower", "[[0] * 100000] * 100000", "string_chars"),
    _hostile("expr-range-product", "(range(10000)|list) * 10000", "list_items"),
]
