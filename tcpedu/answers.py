"""Reading a student's answer without running it: literals and arithmetic only.

Both the answer form (a live kernel) and ``tcpedu grade`` (no kernel, nothing run) read
answers here, so they agree on every answer they can both see.  :func:`answer_value`
parses the text with :mod:`ast` and :func:`evaluate` computes only numbers, strings and
``+ - * / // % **``; anything else is :class:`NotALiteral`, saying what it was.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings

MAX_MAGNITUDE = 2**64             # larger numbers (and 2**10**10) are refused, not computed
MAX_TEXT = 200                    # longest text answer read

__all__ = ["MAX_MAGNITUDE", "MAX_TEXT", "NotALiteral", "answer_value", "evaluate", "parse", "read_answer"]


class NotALiteral(ValueError):
    """An answer the grader will not evaluate: a name, a call, an attribute, a huge number..."""


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
        ast.Pow: operator.pow}


def evaluate(node: ast.AST):
    """The value of an answer expression made of literals (int, float, str, ``...``) and
    ``+ - * / // % **`` on numbers; anything else raises :class:`NotALiteral` saying what it
    uses.  Nothing is executed: this walks the syntax tree."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant):
        value = node.value
        if value is Ellipsis or value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise NotALiteral(f"text longer than {MAX_TEXT} characters")
            return value
        if isinstance(value, (int, float)):
            return _bounded(value)
        raise NotALiteral(f"a {type(value).__name__} literal")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(evaluate(node.operand))
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        a, b = _number(evaluate(node.left)), _number(evaluate(node.right))
        if isinstance(node.op, ast.Pow) and abs(a) > 1 and b > 0 and b * math.log2(abs(a)) > 64:
            raise NotALiteral("a number over 2**64")
        try:
            return _bounded(_OPS[type(node.op)](a, b))
        except ZeroDivisionError:
            raise NotALiteral("a division by zero") from None
        except OverflowError:
            raise NotALiteral("a number over 2**64") from None
    raise NotALiteral(_describe(node))


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NotALiteral(f"arithmetic on {value!r}: only numbers can be added, multiplied...")
    return value


def _bounded(value):
    if isinstance(value, float) and not math.isfinite(value) or not isinstance(value, (int, float)):
        raise NotALiteral("a number that is not finite or not real")
    if abs(value) > MAX_MAGNITUDE:
        raise NotALiteral("a number over 2**64")
    return value


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        return f"a call to {name}()" if name else "a function call"
    if isinstance(node, ast.Attribute):
        return f"an attribute (.{node.attr})"
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return f"the operator {type(node.op).__name__}"
    return {ast.Subscript: "an index [...]", ast.JoinedStr: "an f-string", ast.Tuple: "a tuple",
            ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.Compare: "a comparison",
            ast.BoolOp: "and/or", ast.Lambda: "a lambda", ast.IfExp: "if/else",
            ast.NamedExpr: ":="}.get(type(node), f"a {type(node).__name__} expression")


def answer_value(text: str):
    """The value of an answer written as ``text`` (``"2**32 - 5"`` → 4294967291);
    :class:`NotALiteral` for anything that is not a literal or arithmetic."""
    try:
        tree = parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise NotALiteral(f"not Python: {exc}") from None
    except (RecursionError, MemoryError):
        raise NotALiteral("nested too deeply") from None
    try:
        return evaluate(tree)
    except RecursionError:
        raise NotALiteral("nested too deeply") from None


def parse(source: str, mode: str = "exec") -> ast.AST:
    """ast.parse without the SyntaxWarnings a student's code may trigger (they would go to stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode=mode)


def read_answer(text: str):
    """What a student typed: a number (literals and simple arithmetic, read the way
    ``tcpedu grade`` reads answer cells, never run) or else the text itself (SYN,ACK)."""
    text = text.strip()
    if not text:
        return None
    try:
        return answer_value(text)
    except NotALiteral:
        return text
