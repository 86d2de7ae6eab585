from heron._internal.fingerprint import exception_type_name, fingerprint


class PaymentDeclinedError(Exception):
    pass


def _fail(message: str) -> BaseException:
    try:
        raise PaymentDeclinedError(message)
    except PaymentDeclinedError as exc:
        return exc


def _fail_elsewhere() -> BaseException:
    try:
        raise PaymentDeclinedError("x")
    except PaymentDeclinedError as exc:
        return exc


def test_same_site_same_fingerprint_whatever_the_message():
    assert fingerprint(_fail("card 1")) == fingerprint(_fail("card 2"))


def test_other_site_or_type_differs():
    assert fingerprint(_fail("x")) != fingerprint(_fail_elsewhere())
    assert fingerprint(ValueError("x")) != fingerprint(KeyError("x"))


def test_type_names():
    assert exception_type_name(ValueError()) == "ValueError"
    assert exception_type_name(PaymentDeclinedError()).endswith("test_heron_fingerprint.PaymentDeclinedError")
