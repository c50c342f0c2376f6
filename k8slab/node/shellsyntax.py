"""Reading a shell script: the tokenizer and parser behind :mod:`k8slab.node.shell`.

``parse`` turns a script into a small tree of tuples — ``("list", items)``,
``("andor", first, [(op, node)])``, ``("pipe", commands, negate)``,
``("simple", assignments, words, redirections)``, ``("while", cond, body, until)``,
``("for", name, words, body)``, ``("if", branches, else_body)``, ``("group", body)``.
Words are kept as written (quotes and ``$`` included): they are expanded when the
command runs, because variables change as a loop goes round. Syntax errors read
like busybox ``sh``'s (``syntax error: unterminated quoted string``).

Example
-------
>>> parse("echo a && echo b")[1][0][0][0]
'andor'
"""

from __future__ import annotations

import re

# -- tokens -------------------------------------------------------------------------------------

_REDIR = re.compile(r"(\d?>>|\d?>&\d|&>|\d?>|<)")
_KEYWORDS = {"while", "until", "for", "do", "done", "if", "then", "elif", "else", "fi", "in", "{", "}", "!"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


class ShellSyntaxError(Exception):
    pass


def _skip_parens(src: str, i: int) -> int:
    """``src[i]`` is ``(``: the index after its matching ``)`` (quotes respected)."""
    depth = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = src.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == '"':
            i = _skip_dquote(src, i + 1)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellSyntaxError("syntax error: unterminated $(")


def _skip_dquote(src: str, i: int) -> int:
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "$" and i + 1 < n and src[i + 1] == "(":
            i = _skip_parens(src, i + 1)
            continue
        i += 1
    raise ShellSyntaxError("syntax error: unterminated quoted string")


def _scan_word(src: str, i: int) -> int:
    n = len(src)
    while i < n:
        c = src[i]
        if c in " \t\n;&|()<>":
            break
        if c == "\\":
            i += 2
        elif c == "'":
            j = src.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("syntax error: unterminated quoted string")
            i = j + 1
        elif c == '"':
            i = _skip_dquote(src, i + 1)
        elif c == "$" and i + 1 < n and src[i + 1] == "(":
            i = _skip_parens(src, i + 1)
        elif c == "$" and i + 1 < n and src[i + 1] == "{":
            j = src.find("}", i)
            i = n if j < 0 else j + 1
        elif c == "`":
            j = src.find("`", i + 1)
            i = n if j < 0 else j + 1
        else:
            i += 1
    return min(i, n)


def tokenize(src: str) -> list[tuple[str, str]]:
    toks: list[tuple[str, str]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\\" and i + 1 < n and src[i + 1] == "\n":
            i += 2
            continue
        if c == "#":
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "\n":
            toks.append(("op", "\n"))
            i += 1
            continue
        for op in ("&&", "||", ";;"):
            if src.startswith(op, i):
                toks.append(("op", op))
                i += 2
                break
        else:
            m = _REDIR.match(src, i)
            if m and (c in "<>&" or c.isdigit()):
                toks.append(("redir", m.group(1)))
                i = m.end()
                continue
            if c in ";&|()":
                toks.append(("op", c))
                i += 1
                continue
            j = _scan_word(src, i)
            toks.append(("word", src[i:j]))
            i = j
    return toks


# -- parser ----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def next(self):
        t = self.peek()
        self.i += 1
        return t

    def is_kw(self, *words):
        kind, val = self.peek()
        return kind == "word" and val in words

    def expect_kw(self, word):
        if not self.is_kw(word):
            got = self.peek()[1]
            raise ShellSyntaxError(f"syntax error: unexpected {_quote_tok(got)} (expecting \"{word}\")")
        self.i += 1

    def skip_seps(self):
        while self.peek() in (("op", ";"), ("op", "\n")):
            self.i += 1

    def parse_list(self, stop_words=(), stop_ops=()):
        items = []
        while True:
            self.skip_seps()
            kind, val = self.peek()
            if kind is None or (kind == "word" and val in stop_words) or (kind == "op" and val in stop_ops):
                return ("list", items)
            node = self.parse_and_or()
            background = False
            if self.peek() == ("op", "&"):
                self.i += 1
                background = True
            items.append((node, background))
            kind, val = self.peek()
            if kind == "op" and val not in (";", "\n", "&") and val not in stop_ops:
                raise ShellSyntaxError(f"syntax error: unexpected {_quote_tok(val)}")

    def parse_and_or(self):
        first = self.parse_pipeline()
        rest = []
        while self.peek() in (("op", "&&"), ("op", "||")):
            op = self.next()[1]
            while self.peek() == ("op", "\n"):
                self.i += 1
            rest.append((op, self.parse_pipeline()))
        return ("andor", first, rest) if rest else first

    def parse_pipeline(self):
        negate = False
        if self.is_kw("!"):
            self.i += 1
            negate = True
        cmds = [self.parse_command()]
        while self.peek() == ("op", "|"):
            self.i += 1
            while self.peek() == ("op", "\n"):
                self.i += 1
            cmds.append(self.parse_command())
        if len(cmds) == 1 and not negate:
            return cmds[0]
        return ("pipe", cmds, negate)

    def parse_command(self):
        kind, val = self.peek()
        if kind == "word" and val in ("while", "until"):
            self.i += 1
            cond = self.parse_list(("do",))
            self.expect_kw("do")
            body = self.parse_list(("done",))
            self.expect_kw("done")
            return ("while", cond, body, val == "until")
        if kind == "word" and val == "for":
            self.i += 1
            k, name = self.next()
            if k != "word" or not _NAME.match(name or ""):
                raise ShellSyntaxError(f"syntax error: bad for loop variable {name!r}")
            while self.peek() == ("op", "\n"):
                self.i += 1
            words = None
            if self.is_kw("in"):
                self.i += 1
                words = []
                while self.peek()[0] == "word" and not self.is_kw("do"):
                    words.append(self.next()[1])
            self.skip_seps()
            self.expect_kw("do")
            body = self.parse_list(("done",))
            self.expect_kw("done")
            return ("for", name, words, body)
        if kind == "word" and val == "if":
            self.i += 1
            branches = []
            cond = self.parse_list(("then",))
            self.expect_kw("then")
            body = self.parse_list(("elif", "else", "fi"))
            branches.append((cond, body))
            otherwise = None
            while True:
                if self.is_kw("elif"):
                    self.i += 1
                    cond = self.parse_list(("then",))
                    self.expect_kw("then")
                    branches.append((cond, self.parse_list(("elif", "else", "fi"))))
                elif self.is_kw("else"):
                    self.i += 1
                    otherwise = self.parse_list(("fi",))
                else:
                    break
            self.expect_kw("fi")
            return ("if", branches, otherwise)
        if kind == "word" and val == "{":
            self.i += 1
            body = self.parse_list(("}",))
            self.expect_kw("}")
            return ("group", body)
        if kind == "op" and val == "(":
            self.i += 1
            body = self.parse_list((), (")",))
            if self.next() != ("op", ")"):
                raise ShellSyntaxError("syntax error: missing )")
            return ("group", body)
        return self.parse_simple()

    def parse_simple(self):
        assigns, words, redirs = [], [], []
        while True:
            kind, val = self.peek()
            if kind == "word":
                if not words and _ASSIGN.match(val) and _NAME.match(val.split("=", 1)[0]):
                    assigns.append(val)
                else:
                    words.append(val)
                self.i += 1
            elif kind == "redir":
                self.i += 1
                if val[-1].isdigit() and "&" in val:  # 2>&1, >&2
                    redirs.append((val, None))
                else:
                    k2, target = self.next()
                    if k2 != "word":
                        raise ShellSyntaxError(f"syntax error: unexpected {_quote_tok(target)}")
                    redirs.append((val, target))
            else:
                break
        if not (assigns or words or redirs):
            raise ShellSyntaxError(f"syntax error: unexpected {_quote_tok(self.peek()[1])}")
        return ("simple", assigns, words, redirs)


def _quote_tok(val) -> str:
    if val is None:
        return "end of file"
    if val == "\n":
        return "newline"
    return f'"{val}"'


def parse(src: str):
    """Parse a script into a small AST of tuples (``list``, ``andor``, ``pipe``, ``simple`` ...)."""
    p = _Parser(tokenize(src))
    tree = p.parse_list()
    if p.i < len(p.toks):
        raise ShellSyntaxError(f"syntax error: unexpected {_quote_tok(p.peek()[1])}")
    return tree


