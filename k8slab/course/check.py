"""The result of a course check: passed or not, and what to try next.

A check never raises: a learner who runs a check cell gets a sentence, not a traceback.

>>> from k8slab import course
>>> course.check(1 + 1 == 2, "You can add.", "Try again.")
✅ You can add.
>>> print(course.check(False, "Done.", "Run c.run() first.", problem="the pod is still Pending"))
❌ Not yet: the pod is still Pending
💡 Hint: Run c.run() first.
"""

from __future__ import annotations

import functools

__all__ = ["Check", "check", "checks", "equals", "safe"]


class Check:
    """One check's outcome.

    Attributes
    ----------
    passed : bool
        Whether the condition holds.
    message : str
        The text shown in the notebook: ``✅ ...`` when passed, otherwise
        ``❌ Not yet: ...`` followed by a ``💡 Hint: ...`` line.
    problem, hint : str
        The two parts of a failing message (empty when passed).

    Example
    -------
    >>> ok = Check(True, "✅ Fine.")
    >>> bool(ok), ok.message
    (True, '✅ Fine.')
    """

    def __init__(self, passed: bool, message: str, *, problem: str = "", hint: str = ""):
        self.passed = bool(passed)
        self.message = message
        self.problem = problem
        self.hint = hint

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        # a notebook shows the sentence itself (text/plain), never a Python object repr
        return self.message

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.message)


def _sentence(text: str) -> str:
    """Start with a capital letter and end with a full stop (messages join parts of sentences)."""
    text = text.strip()
    if not text:
        return text
    first_word = text.split(None, 1)[0]
    if first_word.isalpha():  # never "C.dns.resolve(...)": code keeps its case
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def join(*parts: str) -> str:
    """Join message parts as sentences."""
    return " ".join(_sentence(p) for p in parts if p and p.strip())


def _failed(problem: str, hint: str = "") -> Check:
    hint = join(hint)
    first = f"❌ Not yet: {problem}" if problem else "❌ Not yet."
    message = f"{first}\n💡 Hint: {hint}" if hint else first
    return Check(False, message, problem=problem, hint=hint)


def _passed(text: str) -> Check:
    return Check(True, f"✅ {text}")


def check(ok: bool, passed: str, hint: str, *, problem: str = "") -> Check:
    """A check of any condition you compute yourself.

    Parameters
    ----------
    ok : bool
        The condition.
    passed : str
        What to say when it holds.
    hint : str
        What to try when it does not.
    problem : str, optional
        What is wrong, shown after ``Not yet:``.

    Example
    -------
    >>> print(check(False, "Three replicas.", "Scale the Deployment to 3.", problem="there are 2"))
    ❌ Not yet: there are 2
    💡 Hint: Scale the Deployment to 3.
    """
    try:
        ok = bool(ok)
    except Exception as e:  # a learner's object with a broken __bool__: say so, do not raise
        return _failed(f"the condition could not be evaluated ({type(e).__name__}: {e})", hint)
    return _passed(passed) if ok else _failed(problem, hint)


def equals(actual, expected, *, what: str, hint: str = "") -> Check:
    """Compare a value with the expected one; ``what`` names the quantity in the message.

    Example
    -------
    >>> equals(3, 3, what="the number of replicas")
    ✅ the number of replicas is 3.
    >>> print(equals(2, 3, what="the number of replicas"))
    ❌ Not yet: the number of replicas is 2, expected 3.
    """
    try:
        same = bool(actual == expected)
    except Exception:  # e.g. numpy arrays: compare their text instead of raising
        same = repr(actual) == repr(expected)
    if same:
        return _passed(f"{what} is {expected!r}.")
    return _failed(f"{what} is {actual!r}, expected {expected!r}.", hint)


class Checks(Check):
    """Several checks shown together; passed when all of them passed."""

    def __init__(self, items: list[Check]):
        self.checks = items
        passed = all(c.passed for c in items)
        super().__init__(passed, "\n".join(c.message for c in items))


def checks(*items: Check) -> Checks:
    """Group several checks: one line (or two) each, passed when every one passed.

    Example
    -------
    >>> both = checks(check(True, "One.", ""), check(True, "Two.", ""))
    >>> both.passed
    True
    >>> both
    ✅ One.
    ✅ Two.
    """
    flat: list[Check] = []
    for item in items:
        if isinstance(item, Check):
            flat.append(item)
        else:
            flat.append(_failed(f"checks() expects Check objects, got {type(item).__name__}",
                                "pass the results of course.* checks, e.g. course.checks(a, b)"))
    return Checks(flat)


def safe(fn):
    """Decorator: a check that hits an unexpected error reports it as a failed check."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # never a traceback in a learner's check cell
            return _failed(f"the check could not run: {e}",
                           "check the arguments you gave (names, namespace) and that `c` is your cluster")

    return wrapper
