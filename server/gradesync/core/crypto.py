"""Encryption at rest for secrets we must be able to read back (the Sở credentials)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key.

    The plaintext never appears in ``repr`` or logs; a value encrypted under
    another key fails loudly instead of returning garbage.
    """

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretBox(<key>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError(
                "Không giải mã được thông tin đăng nhập Sở: khoá GRADESYNC_SECRET_KEY "
                "(hoặc tệp secret.key) đã thay đổi so với lúc lưu."
            ) from exc
