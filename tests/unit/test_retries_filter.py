"""The retries filter: ceil(timeout / delay), the idiom the roles' until-loops used inline."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.filter.retries import retries


@pytest.mark.parametrize(
    ("timeout", "delay", "expected"),
    [(600, 5, 120), (601, 5, 121), (1, 2, 1), (0, 2, 0), ("300", "2", 150), (" 7 ", 2, 4), (9.0, 3, 3)],
)
def test_rounds_up(timeout, delay, expected):
    assert retries(timeout, delay) == expected
    assert isinstance(retries(timeout, delay), int)


def test_matches_the_inline_idiom():
    # (t | int / d | int) | round(0, 'ceil') | int, for whole numbers
    for timeout in range(0, 50):
        for delay in range(1, 12):
            assert retries(timeout, delay) == int(-(-timeout // delay))


@pytest.mark.parametrize(
    ("timeout", "delay", "words"),
    [
        (60, 0, "the delay must be above 0"),
        (60, -2, "the delay must be above 0"),
        (-1, 2, "the timeout at least 0"),
        ("soon", 2, "the timeout must be a whole number of seconds, not 'soon'"),
        (60, "", "the delay must be a whole number of seconds, not ''"),
        (60, None, "the delay must be a whole number of seconds, not None"),
        (2.5, 1, "the timeout must be a whole number"),
        (True, 1, "the timeout must be a whole number"),
        ("inf", 1, "the timeout must be a whole number"),
        (60, "nan", "the delay must be a whole number"),
    ],
)
def test_refuses_bad_input_with_one_sentence(timeout, delay, words):
    with pytest.raises(AnsibleFilterError, match="^retries: .*" + words.replace("(", r"\(")):
        retries(timeout, delay)
