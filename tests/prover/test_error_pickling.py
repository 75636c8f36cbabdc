"""Every exception class of the project survives pickling with its message and data, so that an error
raised in a sweep worker reaches the driver as itself. Classes are discovered by importing every module
of ``search``, ``planner`` and ``prover``: a new exception is covered without touching this file (or the
test names the constructor argument type it cannot fill in)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import types
import typing
from pathlib import Path

import pytest

PACKAGES = ("search", "planner", "prover")


def project_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if (inspect.isclass(obj) and issubclass(obj, BaseException)
                        and obj.__module__ == module.__name__):
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


EXCEPTIONS = project_exceptions()


def sample(annotation: typing.Any, name: str) -> typing.Any:
    """A distinctive value of ``annotation`` (so that a lost or swapped field shows)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return sample(options[0], name)
    if origin is tuple:
        return tuple(sample(typing.get_args(annotation)[0], f"{name}{i}") for i in range(2))
    if origin in (list, dict):
        return origin()
    simple = {str: f"<{name}>", int: 7, float: 2.5, bool: True, Path: Path("/data") / name,
              typing.Any: {"value": name}}
    if annotation in simple:
        return simple[annotation]
    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        return annotation(**{f.name: sample(hints[f.name], f.name) for f in dataclasses.fields(annotation)
                             if f.init})
    raise TypeError(f"no sample value for {annotation!r} (argument {name!r}): extend sample()")


def instance(cls: type[BaseException]) -> BaseException:
    init = next((klass.__dict__["__init__"] for klass in cls.__mro__
                 if "__init__" in klass.__dict__ and klass.__module__.split(".")[0] in PACKAGES), None)
    if init is None:
        return cls(f"a {cls.__name__} happened")
    hints = typing.get_type_hints(init)
    args, kwargs = [], {}
    for param in list(inspect.signature(init).parameters.values())[1:]:
        value = sample(hints.get(param.name, str), param.name)
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return cls(*args, **kwargs)


def assert_same(copy: BaseException, original: BaseException) -> None:
    assert type(copy) is type(original)
    assert str(copy) == str(original)
    assert copy.args == original.args
    assert vars(copy) == vars(original)


def test_discovery_finds_the_known_exceptions() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"BackendUnavailableError", "InvalidTheoremError", "InputError", "WorkerStartError",
            "ProcessDied", "PlannerEndpointError", "ModelLoadError", "SetupError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_exception_survives_a_pickle_round_trip(cls: type[BaseException]) -> None:
    original = instance(cls)
    for protocol in (pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        assert_same(pickle.loads(pickle.dumps(original, protocol=protocol)), original)


@pytest.mark.slow
def test_every_exception_raised_in_a_ray_task_reaches_the_driver_as_itself(ray_cluster) -> None:
    import ray
    from fault_fixtures import raise_error

    remote = ray.remote(num_cpus=0.1)(raise_error)
    for cls in EXCEPTIONS:
        original = instance(cls)
        with pytest.raises(cls) as caught:
            ray.get(remote.remote(original))
        error = caught.value
        assert isinstance(error, ray.exceptions.RayTaskError), cls  # Ray's wrapper, subclassing the cause
        assert_same(error.cause, original)
        for key, value in vars(original).items():
            assert getattr(error, key) == value, (cls, key)
