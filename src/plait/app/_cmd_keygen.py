"""``plait keygen``: make an SSH key pair, as ``ssh-keygen`` does (a one-shot command).

    plait keygen -t ed25519|ecdsa|rsa [-b BITS] -f PATH [-N PASSPHRASE] [-C COMMENT]
                 [-m openssh|pkcs8] [-a ROUNDS] [--force] [-q]
    plait keygen -l -f PATH        (print the fingerprint of a public or private key file)
    plait keygen -y -f PATH [-P PASSPHRASE]   (print the public key line of a private key)

Writes the private key to PATH (mode 0600; OpenSSH format, encrypted with aes256-ctr and bcrypt
when ``-N`` is given) and the public key line to PATH.pub, then prints the SHA256 fingerprint.
It never asks questions: without ``-N`` the key is not encrypted, and an existing PATH or
PATH.pub is left alone (exit status 1) unless ``--force`` is given. ``-y`` is not the overwrite
switch because ssh-keygen's ``-y`` means "print the public key".
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["keygenCommand"]

_KINDS = ("ed25519", "ecdsa", "rsa")


def _defaultComment() -> str:
    import getpass
    import socket

    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):  # no passwd entry for this uid
        return ""


def _writeNew(path: str, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # an overwritten file keeps its old mode otherwise
        os.write(fd, data)
    finally:
        os.close(fd)


class _KeygenCommand:
    name = "keygen"
    description = "make an SSH key pair (ed25519, ecdsa, rsa) in OpenSSH format, like ssh-keygen"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("-t", dest="kind", choices=_KINDS, default="ed25519", help="key type")
        parser.add_argument(
            "-b", dest="bits", type=int, help="bits (ecdsa: 256, 384, 521; rsa: 2048-16384)"
        )
        parser.add_argument("-f", dest="path", required=True, help="private key file to write")
        parser.add_argument("-N", dest="passphrase", default="", help="passphrase (default none)")
        parser.add_argument("-C", dest="comment", help="comment (default user@host)")
        parser.add_argument(
            "-m",
            dest="format",
            choices=("openssh", "pkcs8"),
            default="openssh",
            type=str.lower,
            help="private key format",
        )
        parser.add_argument(
            "-a", dest="rounds", type=int, default=16, help="bcrypt KDF rounds (default 16)"
        )
        parser.add_argument(
            "--force", action="store_true", help="overwrite existing PATH and PATH.pub"
        )
        parser.add_argument("-q", dest="quiet", action="store_true", help="print nothing")
        parser.add_argument(
            "-l", dest="show", action="store_true", help="print the fingerprint of -f PATH"
        )
        parser.add_argument(
            "-y", dest="public", action="store_true", help="print the public key of -f PATH"
        )
        parser.add_argument("-P", dest="oldPassphrase", help="passphrase of the key -y reads")

    def run(self, options: argparse.Namespace) -> int:
        """Generate (or with ``-l`` show) a key; the exit status."""
        try:
            if options.show:
                return self._show(options.path)
            if options.public:
                return self._public(options.path, options.oldPassphrase)
            return self._generate(options)
        except (ValueError, OSError) as e:
            sys.stderr.write(f"plait keygen: error: {e}\n")
            return 1

    def _show(self, path: str) -> int:
        from plait.wire.ssh.keys import KeyFormatError, loadPrivateKey, parsePublicKey

        with open(path, "rb") as f:
            data = f.read(1 << 20)
        try:
            key = parsePublicKey(data)
        except KeyFormatError:
            key = None
        if key is None:
            try:
                key = loadPrivateKey(data).publicKey()
            except KeyFormatError as e:  # an encrypted key: its .pub has the answer
                raise ValueError(f"{path}: {e}") from None
        ecdsa = key.keyType.startswith("ecdsa-")
        kind = "ECDSA" if ecdsa else key.keyType.removeprefix("ssh-").upper()
        print(f"{key.bits()} {key.fingerprint()} {key.comment or 'no comment'} ({kind})")
        return 0

    def _public(self, path: str, passphrase: str | None) -> int:
        from plait.wire.ssh.keys import KeyFormatError, loadPrivateKey

        with open(path, "rb") as f:
            data = f.read(1 << 20)
        try:
            key = loadPrivateKey(data, passphrase)
        except KeyFormatError as e:
            raise ValueError(f"{path}: {e}") from None
        sys.stdout.write(key.publicKey().toOpenSSH(key.comment).decode("utf-8") + "\n")
        return 0

    def _generate(self, options: argparse.Namespace) -> int:
        from plait.wire.ssh.keys import PrivateKey

        if not 1 <= options.rounds <= 1024:
            raise ValueError("-a ROUNDS must be 1..1024")
        path = options.path
        pubPath = path + ".pub"
        if not options.force:
            for p in (path, pubPath):
                if os.path.lexists(p):
                    raise ValueError(f"{p} exists (use --force to overwrite)")
        comment = _defaultComment() if options.comment is None else options.comment
        if not options.quiet:
            print(f"Generating public/private {options.kind} key pair.")
        key = PrivateKey.generate(options.kind, options.bits)
        key.comment = comment
        passphrase = options.passphrase or None
        if options.format == "pkcs8":
            private = key.toPEM(passphrase)
        else:
            private = key.toOpenSSH(passphrase, comment, rounds=options.rounds)
        public = key.publicKey().toOpenSSH(comment) + b"\n"
        _writeNew(path, private, 0o600, options.force)
        _writeNew(pubPath, public, 0o644, options.force)
        if not options.quiet:
            print(f"Your identification has been saved in {path}")
            print(f"Your public key has been saved in {pubPath}")
            print("The key fingerprint is:")
            print(f"{key.publicKey().fingerprint()} {comment}".rstrip())
        return 0


keygenCommand = _KeygenCommand()
