from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.cronofy.push import sign, verify_hmac

BODY = b'{"example":"well-known"}'

# Vectors from the official SDKs (reference §8.3).
VECTORS = [
    ("opposable thumbs", "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk="),
    ("pDY0Oi7TJSP2hfNmZNkm5", "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c="),
    ("clientSecret", "QuGlxxssNDaxUjd6RY4wxGf+5KDrmobMmjkGQPtB3WQ="),
    (
        "aPPwd-ASDFAsdfasdfasdfsadfasdfASDFSADF_asdfasdfasdf",
        "0g6bhIumRlRffctPXuASSl3u6AXOxnYRw+hiTp7IvTg=",
    ),
    (
        "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID",
        "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0=",
    ),
]


@pytest.mark.parametrize(("secret", "expected"), VECTORS)
def test_known_vectors(secret, expected):
    assert sign(BODY, secret) == expected
    assert verify_hmac(BODY, expected, secret)


def test_several_signatures_any_match_passes():
    secret = "opposable thumbs"
    other = sign(BODY, "an old secret")
    assert verify_hmac(BODY, f"{other},{sign(BODY, secret)}", secret)
    assert verify_hmac(BODY, f"{sign(BODY, secret)} , {other}", secret)
    assert not verify_hmac(BODY, f"{other},{sign(BODY, 'yet another')}", secret)


@pytest.mark.parametrize(
    "header", [None, "", " ", ",", "not-base64!", "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk"]
)
def test_missing_or_wrong_header_fails(header):
    assert not verify_hmac(BODY, header, "opposable thumbs")


def test_altered_body_fails():
    header = sign(BODY, "opposable thumbs")
    assert not verify_hmac(BODY + b" ", header, "opposable thumbs")
    assert not verify_hmac(b'{"example":"well-known!"}', header, "opposable thumbs")


def test_empty_secret_never_verifies():
    assert not verify_hmac(BODY, sign(BODY, ""), "")


@given(
    body=st.binary(max_size=512),
    secret=st.text(min_size=1, max_size=64),
    other=st.binary(max_size=64),
)
def test_property_sign_then_verify(body, secret, other):
    header = sign(body, secret)
    assert verify_hmac(body, header, secret)
    assert verify_hmac(body, f"{sign(body, secret + 'x')},{header}", secret)
    assert not verify_hmac(body, header, secret + "x")
    if other != body:
        assert not verify_hmac(other, header, secret)
