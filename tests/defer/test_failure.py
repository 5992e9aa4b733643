"""Failure: wrapping exceptions and their tracebacks."""

from __future__ import annotations

import io

import pytest

from plait.defer import Failure, NoCurrentExceptionError


def _raiseIn(exc: BaseException) -> Failure:
    def innerFunctionName() -> None:
        raise exc

    try:
        innerFunctionName()
    except BaseException:
        return Failure()
    raise AssertionError("unreachable")


def test_no_args_wraps_exception_being_handled() -> None:
    """Failure() inside except captures value, type and traceback."""
    f = _raiseIn(ValueError("bad"))
    assert isinstance(f.value, ValueError)
    assert f.type is ValueError
    assert f.tb is not None
    assert f.getErrorMessage() == "bad"
    assert "innerFunctionName" in f.getTraceback()
    assert f.getTracebackObject() is f.tb


def test_no_args_outside_except_raises() -> None:
    """Failure() with no exception being handled raises NoCurrentExceptionError."""
    with pytest.raises(NoCurrentExceptionError):
        Failure()


def test_wraps_given_exception_with_its_traceback() -> None:
    """Failure(exc) uses exc.__traceback__; exc_type and exc_tb override."""
    try:
        raise KeyError("k")
    except KeyError as e:
        caught = e
    f = Failure(caught)
    assert f.value is caught and f.tb is caught.__traceback__
    g = Failure(caught, LookupError, None)
    assert g.type is LookupError
    h = Failure(RuntimeError("fresh"))
    assert h.tb is None and "RuntimeError: fresh" in h.getTraceback()


def test_exception_class_is_instantiated_and_nonexceptions_rejected() -> None:
    """Failure(SomeError) instantiates it; non-exceptions are a TypeError."""
    assert isinstance(Failure(ValueError).value, ValueError)
    with pytest.raises(TypeError):
        Failure("not an exception")  # type: ignore[arg-type]


def test_check_returns_matching_type() -> None:
    """check returns the first given type the exception is an instance of, or None."""
    f = Failure(FileNotFoundError())
    assert f.check(KeyError, OSError) is OSError
    assert f.check(FileNotFoundError) is FileNotFoundError
    assert f.check(KeyError) is None
    assert f.check("builtins.OSError") == "builtins.OSError"
    assert "builtins.OSError" in f.parents


def test_trap_returns_type_or_reraises_original_exception() -> None:
    """trap returns the matching type, or re-raises the original exception object."""
    f = _raiseIn(ValueError("orig"))
    assert f.trap(ValueError, KeyError) is ValueError
    with pytest.raises(ValueError) as info:
        f.trap(KeyError)
    assert info.value is f.value
    assert "innerFunctionName" in "".join(
        __import__("traceback").format_tb(info.value.__traceback__)
    )


def test_raiseException_keeps_original_traceback() -> None:
    """raiseException raises the same exception object with the original frames."""
    f = _raiseIn(ZeroDivisionError())
    with pytest.raises(ZeroDivisionError) as info:
        f.raiseException()
    assert info.value is f.value
    names = [entry.name for entry in info.traceback]
    assert "innerFunctionName" in names


def test_cleanFailure_drops_frames_but_keeps_text() -> None:
    """cleanFailure drops the traceback objects but getTraceback still names the frames."""
    f = _raiseIn(RuntimeError("r"))
    before = f.getTraceback()
    f.cleanFailure()
    assert f.tb is None and f.value.__traceback__ is None
    after = f.getTraceback()
    assert "innerFunctionName" in after and "RuntimeError: r" in after
    assert after.splitlines()[-1] == before.splitlines()[-1]
    f.cleanFailure()  # idempotent


def test_repr_str_and_print() -> None:
    """repr names the type and message; str and printTraceback give the traceback."""
    f = _raiseIn(ValueError("shown"))
    assert repr(f) == "<plait.defer.Failure builtins.ValueError: shown>"
    assert str(f).startswith("[Failure instance: Traceback")
    out = io.StringIO()
    f.printTraceback(out)
    assert out.getvalue() == f.getTraceback()
    assert f.getBriefTraceback().strip() == "ValueError: shown"


def test_getErrorMessage_of_unprintable_exception() -> None:
    """An exception whose str() raises still gives a message."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError

    assert "unprintable" in Failure(Unprintable()).getErrorMessage()


def test_chained_cause_is_in_traceback() -> None:
    """The traceback text includes an exception's __cause__."""
    try:
        try:
            raise KeyError("root cause")
        except KeyError as e:
            raise ValueError("wrapper") from e
    except ValueError:
        f = Failure()
    text = f.getTraceback()
    assert "root cause" in text and "wrapper" in text


def test_throwExceptionIntoGenerator() -> None:
    """throwExceptionIntoGenerator raises the exception at the generator's yield."""
    caught: list[BaseException] = []

    def gen():  # type: ignore[no-untyped-def]
        try:
            yield 1
        except ValueError as e:
            caught.append(e)
            yield 2

    g = gen()
    next(g)
    f = Failure(ValueError("in"))
    assert f.throwExceptionIntoGenerator(g) == 2
    assert caught == [f.value]
