"""Encryption at rest of event payloads: eventsourcing's AES-GCM cipher keyed by TRIAL_CIPHER_KEY.

With a key, every event's ``state`` (its clinical payload and PII) is stored as nonce + tag +
AES-GCM ciphertext; the other columns of the events table (originator id, version, topic) stay
readable, as they must for the store to work. Without a key the payloads are plain JSON.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

from eventsourcing.persistence import MapperDeserialisationError

from domain.application import TrialApplication

CIPHER_TOPIC = "eventsourcing.cipher:AESCipher"
KEY_SIZES = (16, 24, 32)
MAKE_KEY = 'python -c "from eventsourcing.cipher import AESCipher; print(AESCipher.create_key(32))"'


class CipherKeyError(ValueError):
    """TRIAL_CIPHER_KEY is malformed, or does not match the events already stored."""


def cipher_env(key: str | None) -> dict[str, str]:
    """The eventsourcing settings that turn the cipher on (a key) or off (none).

    eventsourcing looks up ``TRIAL_CIPHER_*`` (the application's name as a prefix) before
    ``CIPHER_*``, in this mapping and in ``os.environ``; both spellings are set here, empty when
    off, so that the settings are the only thing deciding whether payloads are encrypted.
    """
    if key is None:
        values = {"CIPHER_TOPIC": "", "CIPHER_KEY": ""}
    else:
        check_key(key)
        values = {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key}
    prefix = TrialApplication.name.upper() + "_"
    return {**values, **{prefix + name: value for name, value in values.items()}}


def check_key(key: str) -> None:
    try:
        size = len(b64decode(key, validate=True))
    except (binascii.Error, ValueError) as error:
        raise CipherKeyError(
            f"TRIAL_CIPHER_KEY is not base64 ({error}); make a key with: {MAKE_KEY}"
        ) from error
    if size not in KEY_SIZES:
        raise CipherKeyError(
            f"TRIAL_CIPHER_KEY decodes to {size} bytes; an AES key has 16, 24 or 32. "
            f"Make one with: {MAKE_KEY}"
        )


def check_readable(app: TrialApplication, key: str | None) -> None:
    """Decode the first stored event, so that a wrong key stops the service at start-up
    instead of failing every read (AES-GCM refuses a wrong key: its tag does not verify)."""
    first = app.recorder.select_notifications(start=1, limit=1)
    if not first:
        return
    try:
        app.mapper.to_domain_event(first[0])
    except MapperDeserialisationError as error:
        if key is None:
            problem = (
                "the stored events cannot be decoded without a key: they were written with "
                "TRIAL_CIPHER_KEY set; set it to that key"
            )
        else:
            problem = (
                "TRIAL_CIPHER_KEY does not decrypt the stored events: they were written with "
                "another key, or without one"
            )
        raise CipherKeyError(f"{problem} ({error.__cause__ or error})") from error
