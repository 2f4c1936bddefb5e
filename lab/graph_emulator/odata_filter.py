"""A small OData ``$filter`` parser and evaluator: the subset Entra ID accepts on directory objects.

Grammar: ``or``/``and``/``not``, parentheses, ``eq ne gt ge lt le``, ``prop in ('a','b')``,
``startswith(prop,'x')``, ``endswith(prop,'x')``, ``coll/any(p:p eq 'x')`` (and ``startswith``
inside the lambda). String literals use ``''`` for a quote. Comparisons of strings ignore case,
as the directory does.

``parse`` returns a ``Filter`` whose ``clauses`` lists every ``(property, operator)`` the
expression uses, so the caller can tell a default query from an advanced one
("Advanced query capabilities on Microsoft Entra ID objects"), and whose ``equalities`` counts
its equality expressions (each ``eq``, inside a lambda too, and each value of an ``in`` list),
for the limit on a default query's filter clause (``query.MAX_FILTER_EXPRESSIONS``).
"""

from __future__ import annotations

import re

from .errors import bad_request

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:[^']|'')*')
     |(?P<number>-?\d+(?:\.\d+)?)(?![\w-])
     |(?P<punct>[(),:/])
     |(?P<word>[A-Za-z_$@][\w.$@-]*)
    )""", re.VERBOSE)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains"}


class FilterSyntaxError(ValueError):
    pass


def _tokenize(text: str) -> list[tuple[str, object]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterSyntaxError("unexpected character at position %d: %r" % (pos, text[pos:pos + 10]))
        pos = match.end()
        if match.group("string") is not None:
            tokens.append(("str", match.group("string")[1:-1].replace("''", "'")))
        elif match.group("number") is not None:
            raw = match.group("number")
            tokens.append(("num", float(raw) if "." in raw else int(raw)))
        elif match.group("punct") is not None:
            tokens.append((match.group("punct"), match.group("punct")))
        else:
            tokens.append(("word", match.group("word")))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class Filter:
    def __init__(self, text: str):
        self.text = text
        self.clauses: list[tuple[str, str]] = []
        self.equalities = 0
        self._tokens = _tokenize(text)
        self._pos = 0
        self._lambda_var: str | None = None
        self._lambda_prop: str | None = None
        if not self._tokens:
            raise FilterSyntaxError("empty filter")
        self.tree = self._or()
        if self._pos != len(self._tokens):
            raise FilterSyntaxError("unexpected %r" % (self._tokens[self._pos][1],))

    # --- parser -------------------------------------------------------------------------
    def _peek(self, offset=0):
        index = self._pos + offset
        return self._tokens[index] if index < len(self._tokens) else (None, None)

    def _take(self, kind=None, value=None):
        token = self._peek()
        if token[0] is None or (kind and token[0] != kind) or (value and str(token[1]).lower() != value):
            raise FilterSyntaxError("expected %s, found %r" % (value or kind, token[1]))
        self._pos += 1
        return token

    def _is_word(self, value, offset=0):
        token = self._peek(offset)
        return token[0] == "word" and str(token[1]).lower() == value

    def _or(self):
        node = self._and()
        while self._is_word("or"):
            self._pos += 1
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._unary()
        while self._is_word("and"):
            self._pos += 1
            node = ("and", node, self._unary())
        return node

    def _unary(self):
        if self._is_word("not"):
            self._pos += 1
            self.clauses.append(("*", "not"))
            return ("not", self._unary())
        return self._primary()

    def _primary(self):
        kind, value = self._peek()
        if kind == "(":
            self._pos += 1
            node = self._or()
            self._take(")")
            return node
        if kind == "word" and str(value).lower() in FUNCTIONS and self._peek(1)[0] == "(":
            self._pos += 2
            operand = self._property()
            self._take(",")
            literal = self._literal()
            self._take(")")
            self.clauses.append((operand[1], str(value).lower()))
            return ("func", str(value).lower(), operand, literal)
        if kind == "word" and self._peek(1)[0] == "/" and self._peek(2)[0] == "word" \
                and str(self._peek(2)[1]).lower() in ("any", "all"):
            prop = str(value)
            quantifier = str(self._peek(2)[1]).lower()
            self._pos += 3
            self._take("(")
            var = str(self._take("word")[1])
            self._take(":")
            outer = (self._lambda_var, self._lambda_prop)
            self._lambda_var, self._lambda_prop = var, prop
            body = self._or()
            self._lambda_var, self._lambda_prop = outer
            self._take(")")
            return (quantifier, prop, var, body)
        left = self._operand()
        op_token = self._take("word")
        op = str(op_token[1]).lower()
        if op == "in":
            self._take("(")
            values = [self._literal()]
            while self._peek()[0] == ",":
                self._pos += 1
                values.append(self._literal())
            self._take(")")
            self._record(left, "in", values)
            return ("in", left, values)
        if op not in COMPARISONS:
            raise FilterSyntaxError("unknown operator %r" % op)
        right = self._operand()
        self._record(left, op, right)
        return ("cmp", op, left, right)

    def _record(self, left, op, right):
        if op in ("eq", "in"):
            self.equalities += len(right) if op == "in" else 1
        if left[0] == "prop":
            name = left[1]
            if op in ("eq", "ne") and right == ("lit", None):
                op = op + " null"
            self.clauses.append((name, op))

    def _property(self):
        kind, value = self._take("word")
        name = str(value)
        if self._lambda_var and name == self._lambda_var:
            return ("prop", self._lambda_prop, True)
        return ("prop", name)

    def _operand(self):
        kind, value = self._peek()
        if kind == "word" and str(value).lower() not in ("true", "false", "null"):
            self._pos += 1
            name = str(value)
            if self._lambda_var and name == self._lambda_var:
                return ("prop", self._lambda_prop, True)
            return ("prop", name)
        return ("lit", self._literal())

    def _literal(self):
        kind, value = self._peek()
        self._pos += 1
        if kind in ("str", "num"):
            return value
        if kind == "word":
            lowered = str(value).lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            # An unquoted GUID is accepted by the directory for id-typed properties.
            if re.fullmatch(r"[0-9a-fA-F-]{36}", str(value)):
                return str(value)
        raise FilterSyntaxError("expected a literal, found %r" % (value,))

    # --- narrowing ------------------------------------------------------------------------
    def candidate_keys(self):
        """``{property: {folded values}}`` that every match holds at least one of (a property
        equal to a value, or a collection containing it), or None when the filter doesn't say."""
        return self._keys(self.tree)

    def _keys(self, node):
        kind = node[0]
        if kind == "or":
            left, right = self._keys(node[1]), self._keys(node[2])
            if left is None or right is None:
                return None
            return dict((p, left.get(p, set()) | right.get(p, set())) for p in set(left) | set(right))
        if kind == "and":
            left = self._keys(node[1])
            return left if left is not None else self._keys(node[2])
        if kind == "any":
            body = self._keys(node[3])
            return {node[1]: body[None]} if body is not None and set(body) == {None} else None
        if kind == "in" and node[1][0] == "prop":
            return {self._key_name(node[1]): set(_fold(v) for v in node[2])}
        if kind == "cmp" and node[1] == "eq":
            for operand, literal in ((node[2], node[3]), (node[3], node[2])):
                if operand[0] == "prop" and literal[0] == "lit" and literal[1] is not None:
                    return {self._key_name(operand): {_fold(literal[1])}}
        return None

    @staticmethod
    def _key_name(operand):
        return None if len(operand) == 3 else operand[1]  # None: the lambda variable

    # --- evaluation -----------------------------------------------------------------------
    def matches(self, obj: dict) -> bool:
        return bool(self._eval(self.tree, obj, None))

    def _value(self, operand, obj, item):
        if operand[0] == "lit":
            return operand[1]
        if len(operand) == 3:  # the lambda variable
            return item
        return obj.get(operand[1])

    def _eval(self, node, obj, item):
        kind = node[0]
        if kind == "or":
            return self._eval(node[1], obj, item) or self._eval(node[2], obj, item)
        if kind == "and":
            return self._eval(node[1], obj, item) and self._eval(node[2], obj, item)
        if kind == "not":
            return not self._eval(node[1], obj, item)
        if kind in ("any", "all"):
            values = obj.get(node[1]) or []
            test = (lambda v: self._eval(node[3], obj, v))
            return any(map(test, values)) if kind == "any" else all(map(test, values))
        if kind == "func":
            _, name, operand, literal = node
            value = self._value(operand, obj, item)
            if not isinstance(value, str) or not isinstance(literal, str):
                return False
            value, literal = value.lower(), literal.lower()
            return {"startswith": value.startswith, "endswith": value.endswith,
                    "contains": value.__contains__}[name](literal)
        if kind == "in":
            value = _fold(self._value(node[1], obj, item))
            return value in [_fold(v) for v in node[2]]
        if kind == "cmp":
            _, op, left, right = node
            a, b = _fold(self._value(left, obj, item)), _fold(self._value(right, obj, item))
            if op == "eq":
                return a == b
            if op == "ne":
                return a != b
            if a is None or b is None:
                return False
            try:
                return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
            except TypeError:
                return False
        raise AssertionError(node)


def _fold(value):
    return value.lower() if isinstance(value, str) else value


def parse(text: str) -> Filter:
    try:
        return Filter(text)
    except FilterSyntaxError as error:
        raise bad_request("Invalid filter clause: %s" % error) from None
