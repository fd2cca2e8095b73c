"""SSN protection: AES-GCM encryption at rest, a keyed hash for look-ups, masking, and log redaction.

Only the last four digits ever leave this module in clear; `redact_ssns` scrubs anything SSN-shaped from text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
_AAD = b"ssn:v1"
_SEPARATORS = re.compile(r"[\s\-]")
_SSN_LIKE = re.compile(r"(?<!\d)(?:\d{9}|\d{3}[- ]\d{2}[- ]\d{4})(?!\d)")


def _digits(ssn: str) -> str:
    """The 9 digits of an SSN given with or without dashes/spaces (format only; rules live in identity)."""
    digits = _SEPARATORS.sub("", ssn)
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise ValueError("An SSN must be 9 digits (dashes and spaces allowed).")
    return digits


def generate_key() -> str:
    """A fresh random 32-byte key, base64 encoded, for the SSN key setting."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


class SsnVault:
    """Encrypts, decrypts and hashes SSNs under one 32-byte key (AES-256-GCM, HKDF-derived HMAC key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"The SSN key must be {KEY_BYTES} bytes; got {len(key)}.")
        self._aead = AESGCM(key)
        self._lookup_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                info=b"ssn-lookup").derive(key)

    @classmethod
    def from_setting(cls, value: str) -> SsnVault:
        """Build from a setting holding 32 bytes as hex (64 characters) or base64 (standard or URL-safe)."""
        text = (value or "").strip()
        key: bytes | None = None
        if len(text) == 2 * KEY_BYTES and re.fullmatch(r"[0-9a-fA-F]+", text):
            key = bytes.fromhex(text)
        else:
            padded = (text + "=" * (-len(text) % 4)).encode("ascii", "replace")
            for altchars in (None, b"-_"):
                try:
                    candidate = base64.b64decode(padded, altchars=altchars, validate=True)
                except (binascii.Error, ValueError):
                    continue
                if len(candidate) == KEY_BYTES:
                    key = candidate
                    break
        if key is None:
            raise ValueError("The SSN encryption key setting must be 32 random bytes encoded as base64 "
                             "(44 characters) or hex (64 characters); generate one with generate_key().")
        return cls(key)

    def encrypt(self, ssn: str) -> bytes:
        """Nonce (12 bytes) followed by the AES-GCM ciphertext of the SSN's 9 digits."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, _digits(ssn).encode("ascii"), _AAD)

    def decrypt(self, blob: bytes) -> str:
        """The 9 digits sealed by `encrypt`; ValueError when the blob is corrupt or from another key."""
        if len(blob) <= NONCE_BYTES:
            raise ValueError("Encrypted SSN is too short.")
        try:
            plain = self._aead.decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), _AAD)
        except InvalidTag as exc:
            raise ValueError("Encrypted SSN cannot be decrypted with this key.") from exc
        return plain.decode("ascii")

    def lookup_hash(self, ssn: str) -> str:
        """Deterministic keyed hash (HMAC-SHA256 hex) to find a producer by SSN without decrypting."""
        return hmac.new(self._lookup_key, _digits(ssn).encode("ascii"), hashlib.sha256).hexdigest()

    @staticmethod
    def last4(ssn: str) -> str:
        """The last four digits, the only part ever shown."""
        return _digits(ssn)[-4:]

    @staticmethod
    def mask(ssn: str) -> str:
        """The SSN as shown to people: ***-**-1234."""
        return f"***-**-{SsnVault.last4(ssn)}"


def redact_ssns(text: str) -> str:
    """Replace anything SSN-shaped (9 digits alone, or 3-2-4 with dashes or spaces) by ***-**-NNNN."""
    return _SSN_LIKE.sub(lambda m: f"***-**-{m.group(0)[-4:]}", text)


class SsnRedactingFilter(logging.Filter):
    """Logging filter that redacts SSN-shaped text from a record's formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        redacted = redact_ssns(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
