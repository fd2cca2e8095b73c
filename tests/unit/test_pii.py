"""SSN encryption, keyed look-up hash, masking and log redaction."""

from __future__ import annotations

import base64
import logging
import os

import pytest

from app.pii import SsnRedactingFilter, SsnVault, generate_key, redact_ssns

KEY = bytes(range(32))


@pytest.fixture
def vault() -> SsnVault:
    return SsnVault(KEY)


def test_encrypt_then_decrypt_returns_the_digits(vault: SsnVault) -> None:
    assert vault.decrypt(vault.encrypt("123-45-6789")) == "123456789"


def test_ciphertext_does_not_contain_the_ssn_and_nonce_is_random(vault: SsnVault) -> None:
    first, second = vault.encrypt("123456789"), vault.encrypt("123456789")
    assert first != second
    assert first[:12] != second[:12]
    assert b"123456789" not in first and b"6789" not in first[12:]
    assert len(first) == 12 + 9 + 16


def test_decrypt_with_another_key_fails(vault: SsnVault) -> None:
    blob = vault.encrypt("123456789")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        SsnVault(os.urandom(32)).decrypt(blob)


def test_tampered_ciphertext_fails(vault: SsnVault) -> None:
    blob = bytearray(vault.encrypt("123456789"))
    blob[-1] ^= 1
    with pytest.raises(ValueError):
        vault.decrypt(bytes(blob))


def test_truncated_ciphertext_fails(vault: SsnVault) -> None:
    with pytest.raises(ValueError, match="too short"):
        vault.decrypt(b"short")


def test_lookup_hash_is_deterministic_and_format_independent(vault: SsnVault) -> None:
    digest = vault.lookup_hash("123-45-6789")
    assert digest == vault.lookup_hash("123456789") == vault.lookup_hash(" 123 45 6789 ")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != vault.lookup_hash("123456780")


def test_lookup_hash_depends_on_the_key(vault: SsnVault) -> None:
    assert vault.lookup_hash("123456789") != SsnVault(os.urandom(32)).lookup_hash("123456789")


def test_lookup_hash_uses_a_derived_key_not_the_raw_key(vault: SsnVault) -> None:
    import hashlib
    import hmac
    raw = hmac.new(KEY, b"123456789", hashlib.sha256).hexdigest()
    assert vault.lookup_hash("123456789") != raw


@pytest.mark.parametrize("bad", ["12345", "12345678a", "", "1234567890"])
def test_malformed_ssn_is_refused_without_echo(vault: SsnVault, bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        vault.encrypt(bad)
    assert bad == "" or bad not in str(caught.value)


def test_last4_and_mask_show_only_the_last_four_digits() -> None:
    assert SsnVault.last4("123-45-6789") == "6789"
    assert SsnVault.mask("123456789") == "***-**-6789"


@pytest.mark.parametrize("size", [16, 31, 33, 0])
def test_key_must_be_32_bytes(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SsnVault(b"k" * size)


def test_generated_key_is_base64_of_32_random_bytes() -> None:
    key = generate_key()
    assert len(base64.b64decode(key)) == 32
    assert key != generate_key()


@pytest.mark.parametrize("setting", [
    base64.b64encode(KEY).decode(),
    base64.urlsafe_b64encode(KEY).decode(),
    base64.urlsafe_b64encode(KEY).decode().rstrip("="),
    KEY.hex(),
    KEY.hex().upper(),
    f"  {base64.b64encode(KEY).decode()}\n",
])
def test_key_setting_accepts_base64_or_hex(setting: str, vault: SsnVault) -> None:
    assert SsnVault.from_setting(setting).lookup_hash("123456789") == vault.lookup_hash("123456789")


@pytest.mark.parametrize("setting", ["", "not a key", base64.b64encode(b"x" * 16).decode(), "ab" * 31,
                                     "zz" * 32, "é" * 44])
def test_bad_key_setting_is_refused_with_a_clear_message(setting: str) -> None:
    with pytest.raises(ValueError, match="32 random bytes encoded as base64"):
        SsnVault.from_setting(setting)


@pytest.mark.parametrize(("text", "expected"), [
    ("ssn=123456789 ok", "ssn=***-**-6789 ok"),
    ("ssn 123-45-6789.", "ssn ***-**-6789."),
    ("ssn 123 45 6789", "ssn ***-**-6789"),
    ("a 123-45-6789 and 987654321", "a ***-**-6789 and ***-**-4321"),
    ("'123456789'", "'***-**-6789'"),
])
def test_redact_ssns_masks_ssn_shaped_text(text: str, expected: str) -> None:
    assert redact_ssns(text) == expected


@pytest.mark.parametrize("text", [
    "order 12345678 and 1234567890", "2025-01-15T10:00:00", "phone 555-123-4567", "npn 1234567", "",
])
def test_redact_ssns_leaves_other_numbers_alone(text: str) -> None:
    assert redact_ssns(text) == text


def test_log_filter_redacts_formatted_messages(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test_pii.redaction")
    redactor = SsnRedactingFilter()
    logger.addFilter(redactor)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("onboarding %s with ssn %s", "Doe", "123-45-6789")
            logger.info("plain message")
    finally:
        logger.removeFilter(redactor)
    assert [r.getMessage() for r in caplog.records] == ["onboarding Doe with ssn ***-**-6789", "plain message"]
    assert "123-45-6789" not in caplog.text


def test_generated_request_ids_are_never_redacted_as_ssns() -> None:
    from app.runtime.request_log import new_request_id

    ids = [new_request_id() for _ in range(5000)]
    assert all(redact_ssns(i) == i for i in ids)
