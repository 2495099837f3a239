"""cel.py - the small part of CEL that workload identity providers need.

attributeMapping values and attributeCondition are CEL. The fake evaluates:
  - attribute references: assertion.sub, assertion.a.b, assertion['x-y'],
    attribute.name, google.subject, google.groups;
  - string literals ('x' or "x"), integers, true/false;
  - `+` (string concatenation), `==` and `!=`, `&&`, `||`, `!`, parentheses,
    and `x in [ ... ]` over literals.
Anything else is refused when the provider is created, with a message that
says what the fake supports, so a test never passes on an expression the
fake silently misread.
"""
import re

TOKEN_RX = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>-?[0-9]+)
  | (?P<op>==|!=|&&|\|\||[!+()\[\].,])
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
)""", re.X)


class CelError(ValueError):
    pass


def tokenize(src):
    pos, out = 0, []
    src = src.rstrip()
    while pos < len(src):
        m = TOKEN_RX.match(src, pos)
        if not m or m.end() == pos:
            raise CelError("unsupported CEL at offset %d: %r (the fake supports attribute references, string "
                           "literals, +, ==, !=, &&, ||, !, in [..] and parentheses)" % (pos, src[pos:pos + 20]))
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "str":
            body = text[1:-1]
            text = re.sub(r"\\(.)", r"\1", body)
        out.append((kind, text))
        pos = m.end()
    out.append(("end", None))
    return out


class Parser:
    """Recursive descent to a small AST of tuples."""

    ROOTS = ("assertion", "attribute", "google")

    def __init__(self, src):
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def take(self, kind=None, text=None):
        t = self.toks[self.i]
        if (kind and t[0] != kind) or (text and t[1] != text):
            raise CelError("unsupported CEL %r: expected %s near token %d (%r)" % (self.src, text or kind, self.i, t[1]))
        self.i += 1
        return t

    def parse(self):
        e = self.or_()
        if self.peek()[0] != "end":
            raise CelError("unsupported CEL %r: unexpected %r" % (self.src, self.peek()[1]))
        return e

    def or_(self):
        e = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            e = ("and", e, self.cmp())
        return e

    def cmp(self):
        e = self.add()
        t = self.peek()
        if t in (("op", "=="), ("op", "!=")):
            self.take()
            e = ("eq" if t[1] == "==" else "ne", e, self.add())
        elif t == ("id", "in"):
            self.take()
            self.take("op", "[")
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.add())
                if self.peek() == ("op", ","):
                    self.take()
            self.take("op", "]")
            e = ("in", e, items)
        return e

    def add(self):
        e = self.unary()
        while self.peek() == ("op", "+"):
            self.take()
            e = ("add", e, self.unary())
        return e

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.primary()

    def primary(self):
        kind, text = self.peek()
        if kind == "str":
            self.take()
            return ("lit", text)
        if kind == "num":
            self.take()
            return ("lit", int(text))
        if kind == "op" and text == "(":
            self.take()
            e = self.or_()
            self.take("op", ")")
            return e
        if kind == "id" and text in ("true", "false"):
            self.take()
            return ("lit", text == "true")
        if kind == "id" and text in self.ROOTS:
            self.take()
            path = [text]
            while True:
                if self.peek() == ("op", "."):
                    self.take()
                    path.append(self.take("id")[1])
                elif self.peek() == ("op", "["):
                    self.take()
                    path.append(self.take("str")[1])
                    self.take("op", "]")
                else:
                    break
            if self.peek() == ("op", "("):
                raise CelError("unsupported CEL %r: function calls (%s(...)) are not supported by the fake"
                               % (self.src, ".".join(path)))
            return ("ref", path)
        raise CelError("unsupported CEL %r: %r is not an attribute reference (assertion., attribute., google.) "
                       "or a literal" % (self.src, text))


def compile_expr(src):
    return Parser(src).parse()


def evaluate(ast, env):
    """env: {"assertion": {...}, "attribute": {...}, "google": {...}}.
    A missing reference is None (CEL would error; Google maps it to no value)."""
    op = ast[0]
    if op == "lit":
        return ast[1]
    if op == "ref":
        v = env
        for p in ast[1]:
            if isinstance(v, dict) and p in v:
                v = v[p]
            else:
                return None
        return v
    if op == "add":
        a, b = evaluate(ast[1], env), evaluate(ast[2], env)
        if a is None or b is None:
            return None
        if isinstance(a, list) and isinstance(b, list):
            return a + b
        return str(a) + str(b)
    if op == "eq":
        return evaluate(ast[1], env) == evaluate(ast[2], env)
    if op == "ne":
        return evaluate(ast[1], env) != evaluate(ast[2], env)
    if op == "and":
        return bool(evaluate(ast[1], env)) and bool(evaluate(ast[2], env))
    if op == "or":
        return bool(evaluate(ast[1], env)) or bool(evaluate(ast[2], env))
    if op == "not":
        return not evaluate(ast[1], env)
    if op == "in":
        v = evaluate(ast[1], env)
        return any(v == evaluate(x, env) for x in ast[2])
    raise CelError("bad AST %r" % (ast,))
