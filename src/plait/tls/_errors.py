"""TLS errors: what went wrong in a handshake or on an established TLS stream."""

from __future__ import annotations

import ssl

from plait.protocol import SSLError

__all__ = ["TLSError", "TLSVerificationError", "tlsErrorFrom"]

# OpenSSL reasons seen when the peer sends something that is not TLS at all.
_NOT_TLS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }
)


class TLSError(SSLError):
    """TLS failed: the handshake could not complete, or the stream was corrupt.

    ``string`` (shown in ``str()``) is OpenSSL's reason in words; ``reason`` is OpenSSL's
    short code (``"WRONG_VERSION_NUMBER"``...) when it gave one, ``library`` its library.
    """

    description = "TLS failed"

    def __init__(
        self,
        osError: int | None = None,
        string: str = "",
        reason: str | None = None,
        library: str | None = None,
    ) -> None:
        super().__init__(osError, string)
        self.reason = reason
        self.library = library

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.osError, self.string, self.reason, self.library))


class TLSVerificationError(TLSError):
    """The peer's certificate was not accepted: unknown issuer, wrong host name, expired...

    ``verifyCode`` and ``verifyMessage`` are OpenSSL's verification result
    (``20``, ``"unable to get local issuer certificate"``).
    """

    description = "TLS certificate verification failed"

    def __init__(
        self,
        osError: int | None = None,
        string: str = "",
        reason: str | None = None,
        library: str | None = None,
        verifyCode: int | None = None,
        verifyMessage: str | None = None,
    ) -> None:
        super().__init__(osError, string, reason, library)
        self.verifyCode = verifyCode
        self.verifyMessage = verifyMessage

    def __reduce__(self) -> tuple[object, ...]:
        return (
            type(self),
            (
                self.osError,
                self.string,
                self.reason,
                self.library,
                self.verifyCode,
                self.verifyMessage,
            ),
        )


def tlsErrorFrom(e: ssl.SSLError) -> TLSError:
    """The ``TLSError`` (or ``TLSVerificationError``) describing an ``ssl`` module error."""
    reason = getattr(e, "reason", None)
    library = getattr(e, "library", None)
    if isinstance(e, ssl.SSLCertVerificationError):
        message = e.verify_message or "unknown reason"
        return TLSVerificationError(
            None,
            f"certificate verify failed: {message}",
            reason,
            library,
            e.verify_code,
            e.verify_message,
        )
    text = str(e.args[1]) if len(e.args) > 1 else str(e)
    if reason == "TLSV1_ALERT_UNKNOWN_CA" or (reason or "").startswith("SSLV3_ALERT_BAD_CERT"):
        # The peer rejected our certificate (or the lack of one) with an alert.
        return TLSVerificationError(
            None, f"the peer rejected our certificate: {text}", reason, library
        )
    if reason in ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "TLSV13_ALERT_CERTIFICATE_REQUIRED"):
        return TLSVerificationError(
            None, f"a client certificate is required: {text}", reason, library
        )
    if reason in _NOT_TLS:
        text = f"{text} (the peer does not seem to speak TLS)"
    return TLSError(None, text, reason, library)
