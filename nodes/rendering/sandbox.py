"""The sandboxed Jinja2 environment every flow template is rendered in, with its budget.

`ImmutableSandboxedEnvironment` stops attribute tricks (`''.__class__.__mro__`) and
mutation of the data a template is handed, but not work: `lipsum(999999)`, `'x' * n`,
`'%0999999999d' % 1`, nested loops. `BudgetedEnvironment` checks each of those against
the `TemplateLimits` of the render in progress (`nodes.rendering.budget`) through the
sandbox's own hooks:

* `call_binop` — `*` (repetition, big numbers), `**`, `%` (printf widths), `+`;
* `call` — every call counts; `str` methods that pad or multiply (`ljust`, `replace`,
  `expandtabs`, `join`, `translate`…) are checked before they run; a recursive loop's
  `loop(children)` is counted like any loop;
* `wrap_str_format` — `'{:>999999999}'.format(1)` is checked field by field;
* code generation — every `{% for %}` iterates through a counter, `~` checks the size of
  what it joins, and the buffers of macros and blocks count what they collect;
* filters and globals (`nodes.rendering.filters`) — `lipsum`, `range`, `wordwrap`,
  `indent`, `center`, `join`, `format`, `replace`, `batch`, `slice`, `tojson` check their
  arguments; every other filter counts the size of its input, and those that turn a list
  into text refuse one whose text would be too long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import update_wrapper
from types import BuiltinFunctionType, BuiltinMethodType, MethodType
from typing import Any

import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter

from nodes.rendering.budget import (
    check_format_spec,
    check_items,
    check_printf,
    check_string,
    check_text,
    check_width,
    meter,
    refuse,
    text_size,
)
from nodes.rendering.filters import (
    LOOP_COUNTER,
    bounded_lipsum,
    bounded_range,
    budgeted_filters,
    count_iterations,
    loop_counter,
    replaced_size,
)


class OutputBuffer(list[str]):
    """The buffer of a macro, `{% set %}` block, `{% filter %}` or call block: what it
    collects counts as work, so a loop inside a macro cannot pile up gigabytes."""

    def append(self, text: str) -> None:
        meter().charge(len(text), "collecting output")
        super().append(text)

    def extend(self, texts: Iterable[str]) -> None:
        texts = tuple(texts)
        meter().charge(sum(len(text) for text in texts), "collecting output")
        super().extend(texts)


class BudgetedCodeGenerator(CodeGenerator):
    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # `a ~ b ~ c`
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.concat_within_budget({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check a call of a `str` method that can make a text much longer than `text`."""
    detail = f"str.{name}()"
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        check_width(first if first is not None else kwargs.get("width"), detail)
    elif name == "expandtabs":
        tabsize = first if first is not None else kwargs.get("tabsize", 8)
        check_width(tabsize, detail)
        if isinstance(tabsize, int):
            check_string(len(text) + text.count("\t") * max(tabsize, 0), detail)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        check_string(replaced_size(text, args[0], args[1], args[2] if len(args) > 2 else -1), detail)
    elif name == "join" and first is not None:
        items = list(count_iterations(first))  # materialised once, counted like a loop
        size = len(text) * max(len(items) - 1, 0) + sum(len(item) for item in items if isinstance(item, str))
        check_string(size, detail)
        return (items, *args[1:])
    elif name == "translate" and isinstance(first, dict):
        longest = max((len(value) for value in first.values() if isinstance(value, str)), default=1)
        check_string(len(text) * max(longest, 1), detail)
    return args


class _BudgetedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        check_format_spec(format_spec, "str.format()")
        check_text(value, "str.format()")
        return super().format_field(value, format_spec)


class _BudgetedEscapeFormatter(_BudgetedFormatter, SandboxedEscapeFormatter):
    pass


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the budget of `nodes.rendering.budget` (see the module docstring)."""

    code_generator_class = BudgetedCodeGenerator
    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(budgeted_filters())
        self.filters[LOOP_COUNTER] = loop_counter
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum

    # -- code generation -----------------------------------------------------------------
    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        # Every loop iterates through the counter (Jinja documents `_generate` as the hook).
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, LOOP_COUNTER, [], [], None, None, lineno=loop.lineno)
        return super()._generate(source, name, filename, defer_init)  # type: ignore[no-any-return]

    @staticmethod
    def output_buffer() -> OutputBuffer:
        return OutputBuffer()

    @staticmethod
    def concat_within_budget(join: Callable[[Iterable[Any]], str], values: tuple[Any, ...]) -> str:
        ceiling = meter().limits.string_chars
        size = 0
        for value in values:
            size += len(value) if isinstance(value, str) else text_size(value, ceiling)
        check_string(size, "joining with ~")
        return join(values)

    # -- the sandbox's hooks -------------------------------------------------------------
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            check_printf(left, right, "'…' % …")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                check_string(len(left) + len(right), "'…' + '…'")
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                check_items(len(left) + len(right), "[…] + […]")
        result = super().call_binop(context, operator, left, right)
        if operator == "%" and isinstance(result, str):
            check_string(len(result), "'…' % …")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        meter().call()
        if isinstance(__obj, LoopContext) and args:  # `loop(children)` in a recursive loop
            args = (count_iterations(args[0]), *args[1:])
        elif isinstance(__obj, (BuiltinMethodType, BuiltinFunctionType)):
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str):
                args = _check_str_method(owner, __obj.__name__, args, kwargs)
            # No built-in needs a huge number: `(1).to_bytes(10**9)` would allocate it.
            limit = meter().limits.string_chars
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit:
                    raise refuse("string_chars", limit, f"a call with the number {value}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja's own wrapper, with a formatter that checks every field's spec and value.
        if not isinstance(value, (MethodType, BuiltinMethodType)) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        formatter: SandboxedFormatter
        if isinstance(owner, markupsafe.Markup):
            formatter = _BudgetedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = _BudgetedFormatter(self)
        is_format_map = value.__name__ == "format_map"
        text_type = type(owner)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            result = text_type(formatter.vformat(owner, args, kwargs))
            check_string(len(result), "str.format()")
            return result

        return update_wrapper(wrapper, value)


def _check_product(left: Any, right: Any) -> None:
    limits = meter().limits
    if isinstance(left, int) and isinstance(right, int):
        # Squaring in a loop (`{% set ns.x = ns.x * ns.x %}`) doubles the digits each time.
        if left.bit_length() + right.bit_length() > limits.number_bits:
            raise refuse("number_bits", limits.number_bits, "multiplying")
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
            if isinstance(sequence, str):
                check_string(times * len(sequence), "repetition too large")
            else:
                check_items(times * len(sequence), "repetition too large")


def _check_power(left: Any, right: Any) -> None:
    # `**` is left-associative in Jinja, so bound the size of the result, not the exponent.
    limit = meter().limits.number_bits
    if (
        isinstance(left, int)
        and isinstance(right, (int, float))
        and (abs(right) > limit or max(left.bit_length(), 1) * abs(right) > limit)
    ):
        raise refuse("number_bits", limit, "exponent too large")
