"""A pytest plugin that records every call of an exercise check and how it ended.

tests/test_exercises.py runs the chapters' check tests (tests/test_checks_chNN.py)
under this plugin, then reads the record to see that each check was shown to pass
on an answer, to fail on a stub and to fail on a wrong answer. Before collection,
every public ``check_*`` function of every ``genae.checks.chNN`` module is
replaced by a wrapper that calls it and notes the outcome; test files that import
a check get the wrapper. The record is written as JSON to ``$GENAE_CHECK_RECORD``.

tests/conftest.py loads the plugin in every session, so when the check tests have already run in
this session (they sort before tests/test_exercises.py), their record is read from ``RECORD``
instead of running them again.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
from collections.abc import Callable

import genae.checks
from genae.checks import ExerciseError

RECORD: list[dict] = []
FINISHED: set[str] = set()  # the node ids of the tests that have run in this session
DESELECTED: set[str] = set()  # the test files some of whose tests -k or -m left out


def check_functions() -> dict[str, Callable]:
    """Every public ``check_*`` function defined in a ``genae.checks`` submodule, by dotted name."""
    found = {}
    for info in pkgutil.iter_modules(genae.checks.__path__):
        module = importlib.import_module(f"genae.checks.{info.name}")
        for name, fn in vars(module).items():
            if name.startswith("check_") and callable(fn) and getattr(fn, "__module__", None) == module.__name__:
                found[f"{module.__name__}.{name}"] = fn
    return found


def _recorded(qualname: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except ExerciseError as err:
            RECORD.append({"check": qualname, "outcome": "fail", "message": str(err)})
            raise
        except BaseException as err:
            RECORD.append({"check": qualname, "outcome": "error", "message": f"{type(err).__name__}: {err}"})
            raise
        RECORD.append({"check": qualname, "outcome": "pass", "message": ""})
        return result

    return wrapper


def pytest_configure(config):
    for qualname, fn in check_functions().items():
        module_name, name = qualname.rsplit(".", 1)
        setattr(importlib.import_module(module_name), name, _recorded(qualname, fn))


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


def pytest_runtest_logfinish(nodeid, location):
    FINISHED.add(nodeid)


def pytest_deselected(items):
    DESELECTED.update(_file(item.nodeid) for item in items)


def ran_whole(session, names: set[str]) -> bool:
    """Whether this session has run every test of each test file in ``names`` (none left out)."""
    ids = [item.nodeid for item in session.items if _file(item.nodeid) in names]
    return (names <= {_file(i) for i in ids} and not names & DESELECTED
            and all(i in FINISHED for i in ids))


def pytest_unconfigure(config):
    path = os.environ.get("GENAE_CHECK_RECORD")
    if path:
        with open(path, "w") as f:
            json.dump(RECORD, f)
