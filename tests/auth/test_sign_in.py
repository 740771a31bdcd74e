"""Sign-in by emailed link: single use, 15 minutes, rate limited, same answer for everyone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assembly.auth.models import SignInToken
from assembly.auth.operations import SignInFailed, redeem_sign_in, request_sign_in
from assembly.clock import utcnow
from assembly.extensions import db
from assembly.notices.models import OutboxMessage
from tests.conftest import make_institution, make_member, make_user

LINK = re.compile(r"http://localhost(/sign-in/link/[A-Za-z0-9._-]+(?:\?next=[^\s\"]+)?)")


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _link_in(message: OutboxMessage) -> str:
    found = LINK.search(message.body_text)
    assert found, message.body_text
    return found.group(1)


def _ask(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    with client.post("/sign-in", data={"email": email}) as response:
        return response


def test_a_known_address_gets_a_link_that_signs_in(app: Flask, client: FlaskClient) -> None:
    """Asking for a link queues an email whose link, followed and confirmed, signs the user in."""
    make_user("officer@example.org")
    response = _ask(client, "Officer@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in/check-your-email")
    [message] = _outbox()
    assert message.to_address == "officer@example.org" and message.kind == "sign_in"
    path = _link_in(message)
    assert client.get(path).status_code == 200  # shows a button; does not burn the link
    response = client.post(path)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Sign out" in page


def test_a_member_without_an_account_can_sign_in(app: Flask, client: FlaskClient) -> None:
    """A current member's address gets a link, and the first sign-in makes their account."""
    institution = make_institution(name="Hill School")
    make_member(institution, email="parent@example.org")
    _ask(client, "parent@example.org")
    [message] = _outbox()
    assert client.post(_link_in(message)).status_code == 302
    page = client.get("/my/memberships").get_data(as_text=True)
    assert "Hill School" in page


def test_unknown_addresses_get_the_same_answer_and_no_email(
    app: Flask, client: FlaskClient
) -> None:
    """An unknown address is answered exactly as a known one, and nothing is sent."""
    make_user("known@example.org")
    known = _ask(client, "known@example.org")
    unknown = _ask(client, "stranger@example.org")
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert [m.to_address for m in _outbox()] == ["known@example.org"]
    assert (
        client.get(known.headers["Location"]).get_data()
        == client.get(unknown.headers["Location"]).get_data()
    )


def test_a_link_works_only_once(app: Flask, client: FlaskClient) -> None:
    """A used link is refused the second time, even in a fresh browser."""
    make_user("once@example.org")
    _ask(client, "once@example.org")
    path = _link_in(_outbox()[0])
    assert client.post(path).status_code == 302
    other_browser = app.test_client()
    response = other_browser.post(path)
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)


def test_a_link_expires_after_15_minutes(app: Flask) -> None:
    """A link redeemed 15 minutes after it was issued is refused as expired."""
    make_user("late@example.org")
    issued = utcnow() - timedelta(minutes=15, seconds=1)
    message = request_sign_in("late@example.org", now=issued)
    assert message is not None
    token = _link_in(message).rsplit("/", 1)[1]
    with pytest.raises(SignInFailed, match="expired"):
        redeem_sign_in(token)
    fresh = request_sign_in("late@example.org", now=utcnow() - timedelta(minutes=14))
    assert fresh is not None
    user = redeem_sign_in(_link_in(fresh).rsplit("/", 1)[1])
    assert user.email == "late@example.org"


@pytest.mark.parametrize("tamper", ["payload", "signature", "garbage"])
def test_a_tampered_link_is_refused(app: Flask, client: FlaskClient, tamper: str) -> None:
    """Changing any part of the token makes the link invalid, and nobody is signed in."""
    make_user("victim@example.org")
    make_user("attacker@example.org")
    _ask(client, "attacker@example.org")
    token = _link_in(_outbox()[0]).rsplit("/", 1)[1]
    header, payload, signature = token.split(".")
    if tamper == "payload":
        import base64
        import json

        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["sub"] = "victim@example.org"
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"{header}.{payload}.{signature}"
    elif tamper == "signature":
        token = f"{header}.{payload}.{signature[:-4]}AAAA"
    else:
        token = "not-a-token"
    assert client.get(f"/sign-in/link/{token}").status_code == 400
    response = client.post(f"/sign-in/link/{token}")
    assert response.status_code == 400
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_a_token_signed_with_another_key_is_refused(app: Flask) -> None:
    """A well-formed JWT made with a different secret does not sign anyone in."""
    from assembly.auth.tokens import make_token

    make_user("someone@example.org")
    token, _ = make_token("another-secret-" * 4, "someone@example.org", utcnow(), 15)
    with pytest.raises(SignInFailed, match="not valid"):
        redeem_sign_in(token)


def test_per_address_limit_stops_sending_but_answers_the_same(
    app: Flask, client: FlaskClient
) -> None:
    """After three links in 15 minutes an address gets no more email, and the page is unchanged."""
    make_user("flooded@example.org")
    responses = [_ask(client, "flooded@example.org") for _ in range(5)]
    assert {r.status_code for r in responses} == {302}
    assert len(_outbox()) == app.config["SIGN_IN_PER_ADDRESS"] == 3
    count = db.session.scalar(select(func.count()).select_from(SignInToken))
    assert count == 3


def test_per_client_limit_answers_429(make_app) -> None:  # type: ignore[no-untyped-def]
    """One client asking too often is told to wait (HTTP 429)."""
    app = make_app(SIGN_IN_PER_CLIENT="3 per 15 minutes")
    client = app.test_client()
    statuses = [
        client.post("/sign-in", data={"email": f"x{i}@example.org"}).status_code for i in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    other_client = app.test_client()
    response = other_client.post(
        "/sign-in", data={"email": "y@example.org"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert response.status_code == 302


def test_sign_out_ends_the_session(app: Flask, client: FlaskClient, login_as) -> None:
    """Signing out forgets the user; protected pages send them to sign in again."""
    make_user("leaving@example.org")
    login_as("leaving@example.org")
    assert client.get("/my/memberships").status_code == 200
    assert client.post("/sign-out").status_code == 302
    assert client.get("/my/memberships").status_code == 302


def test_next_is_kept_for_local_paths_only(app: Flask, client: FlaskClient) -> None:
    """After sign-in the user returns to the page they asked for, never to another site."""
    make_user("nav@example.org")
    client.post("/sign-in", data={"email": "nav@example.org", "next": "/my/memberships"})
    client.post("/sign-in", data={"email": "nav@example.org", "next": "https://evil.example/"})
    first, second = _outbox()
    assert client.post(_link_in(first)).headers["Location"] == "/my/memberships"
    client.post("/sign-out")
    assert client.post(_link_in(second)).headers["Location"] == "/"


def test_disabled_users_cannot_sign_in(app: Flask) -> None:
    """A disabled account gets no link."""
    user = make_user("gone@example.org")
    user.is_disabled = True
    db.session.commit()
    assert request_sign_in("gone@example.org") is None


def test_link_pages_are_never_cached_or_referred(app: Flask, client: FlaskClient) -> None:
    """The sign-in link page is sent with no-store and no-referrer, so the token cannot leak."""
    make_user("private@example.org")
    _ask(client, "private@example.org")
    response = client.get(_link_in(_outbox()[0]))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_forms_refuse_posts_without_a_csrf_token(make_app) -> None:  # type: ignore[no-untyped-def]
    """With CSRF protection on (as in production), a form posted without its token is refused."""
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/sign-in", data={"email": "a@example.org"})
    assert response.status_code == 400
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/sign-in", data={"email": "a@example.org", "csrf_token": token.group(1)}
    )
    assert response.status_code == 302
