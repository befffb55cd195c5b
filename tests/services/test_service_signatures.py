"""Service functions take the runtime first and everything else by keyword (the rule services/__init__.py states).

Strict, with no exceptions: not even a single obvious argument (``project(rt, name)``) may be positional, so a
call site always names what it passes (``write(rt, actor=..., work=...)``) and a parameter can be added, renamed
or reordered without silently shifting a caller's arguments. A function counts when it is public (no leading
underscore), defined in the module (not imported into it) and takes the runtime first (a parameter named ``rt``
or annotated ``Runtime``). Helpers that run inside a transaction and take ``tx``/``conn`` first are not covered.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import FunctionType, ModuleType

import lineage_reg.services as services

def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(services.__path__, prefix=f"{services.__name__}."):
        yield importlib.import_module(info.name)


def _takes_runtime_first(fn: FunctionType) -> bool:
    params = list(inspect.signature(fn).parameters.values())
    return bool(params) and (params[0].name == "rt" or params[0].annotation in ("Runtime", "runtime.Runtime"))


def _service_functions() -> Iterator[tuple[str, FunctionType]]:
    for module in _modules():
        for name, fn in vars(module).items():
            if (not name.startswith("_") and isinstance(fn, FunctionType) and fn.__module__ == module.__name__
                    and _takes_runtime_first(fn)):
                yield f"{module.__name__}.{name}", fn


def test_every_service_function_takes_only_the_runtime_positionally() -> None:
    checked, offenders = 0, []
    for qualname, fn in _service_functions():
        checked += 1
        params = list(inspect.signature(fn).parameters.values())
        if params[0].kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            offenders.append(f"{qualname}: the runtime must be the one plain positional parameter")
        positional = [p.name for p in params[1:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if positional:
            offenders.append(f"{qualname}({', '.join(positional)}): put `*,` right after `rt`")
    assert not offenders, "service functions with positional parameters after the runtime:\n" + "\n".join(offenders)
    assert checked >= 45, f"only {checked} service functions found: is the discovery still finding them?"

