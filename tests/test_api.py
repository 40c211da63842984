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


def test_every_command_has_its_library_function():
    """The CLI's commands are thin: each one's work is a public function of the facade."""
    import chipmix.cli as cli

    if not cli._registered:  # as main() does: register the commands once per process
        cli._register()
        cli._registered = True
    app = cli.app
    library = {"plan": "plan", "verify": "verify", "classify": "classify",
               "timeline": "Timeline", "compare": "compare", "sweep": "sweep",
               "frontier": "frontier", "substitute": "substitute",
               "alternatives": "alternatives", "stress": "stress", "report": "report",
               "hedge": "hedge"}
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    for command in commands & set(library):
        name = library[command]
        assert name in chipmix.__all__, command
        assert callable(getattr(chipmix, name)), command
    for name in chipmix.__all__:
        if name == "__version__":
            continue
        value = getattr(chipmix, name)
        assert value.__doc__, f"chipmix.{name} has no docstring"
