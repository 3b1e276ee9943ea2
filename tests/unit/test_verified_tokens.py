"""A verified token is remembered until its exp, never past it, and only under its secret."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from api import auth
from api.auth import Unauthenticated, issue_token, principal_from_header
from domain.vocabulary import Role

SECRET = "s" * 40
OTHER = "o" * 40


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_token_verified_once_is_not_verified_again_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = issue_token(SECRET, Role.MONITOR, subject="mon-1", site="NJ01")
    first = principal_from_header(bearer(token), SECRET)
    calls: list[str] = []
    real = auth.jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: calls.append("decode") or real(*a, **k))

    again = principal_from_header(bearer(token), SECRET)

    assert again == first and calls == []


def test_a_remembered_token_is_refused_once_its_exp_has_passed() -> None:
    token = issue_token(SECRET, Role.SPONSOR, subject="sp-1", lifetime=timedelta(seconds=1))
    principal_from_header(bearer(token), SECRET)
    time.sleep(1.1)

    with pytest.raises(Unauthenticated, match="expired"):
        principal_from_header(bearer(token), SECRET)


def test_a_token_remembered_under_one_secret_is_still_refused_under_another() -> None:
    token = issue_token(SECRET, Role.AUDITOR, subject="aud-1")
    principal_from_header(bearer(token), SECRET)

    with pytest.raises(Unauthenticated, match="not valid"):
        principal_from_header(bearer(token), OTHER)


def test_refused_tokens_are_not_remembered_and_the_memory_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth, "VERIFIED_TOKENS", 3)
    with pytest.raises(Unauthenticated):
        principal_from_header(bearer("not.a.token"), SECRET)
    tokens = [issue_token(SECRET, Role.SPONSOR, subject=f"sp-{n}") for n in range(5)]
    for token in tokens:
        principal_from_header(bearer(token), SECRET)

    remembered = {token for token, _ in auth._verified}
    assert "not.a.token" not in remembered
    assert len(auth._verified) == 3 and remembered == set(tokens[2:])
