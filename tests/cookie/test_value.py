import logging
import pickle

import pytest

from erlcookie.cookie import Cookie

SECRET = "sEcReT-Value-For-Redaction-Tests"


def test_no_text_form_contains_the_secret(caplog):
    c = Cookie(SECRET, source="test")
    texts = [str(c), repr(c), f"{c}", f"{c!r}", "%s" % c, format(c, ">40"), str([c]), str({"k": c})]
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("cookie %s", c)
    texts.append(caplog.text)
    try:
        raise ValueError(f"bad cookie {c}")
    except ValueError as exc:
        texts.append(str(exc))
    for text in texts:
        assert SECRET not in text, "a text form leaked the secret"
        assert "redacted" in text or text == ""


def test_reveal_and_bytes():
    c = Cookie(SECRET)
    assert c.reveal() == SECRET
    assert c.as_bytes() == SECRET.encode()
    assert len(c) == len(SECRET)


def test_not_picklable_and_immutable():
    c = Cookie(SECRET)
    with pytest.raises(TypeError):
        pickle.dumps(c)
    with pytest.raises(AttributeError):
        c._value = "x"


def test_equality_and_hash():
    assert Cookie("a") == Cookie("a", source="elsewhere")
    assert Cookie("a") != Cookie("b")
    assert len({Cookie("a"), Cookie("a")}) == 1
