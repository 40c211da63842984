"""The library's public surface: lazy names resolve to callables, not submodules."""

import importlib

import chipmix


def test_all_lists_every_lazy_name():
    assert set(chipmix.__all__) == set(chipmix._LAZY) | {"__version__"}


def test_lazy_names_resolve_and_functions_stay_functions():
    for name in chipmix._LAZY:
        assert getattr(chipmix, name) is not None
    # importing the implementing modules must not shadow the functions (chipmix.plan is a
    # function even after `import chipmix.planner`)
    importlib.import_module("chipmix.planner")
    importlib.import_module("chipmix.checker")
    assert callable(chipmix.plan) and callable(chipmix.verify)
    assert not isinstance(chipmix.plan, type(importlib))


def test_py_typed_ships():
    from importlib.resources import files

    assert files("chipmix").joinpath("py.typed").is_file()
