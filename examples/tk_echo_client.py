"""A Tk window talking to a TCP echo server, plait and Tk sharing one loop (§3 of the paper).

Type a line, press "Send": the line goes to the echo server and its answer appears in the
label below. The reactor runs on Tk's own event loop (``TkReactor``), so the window stays
responsive while the network works, without threads and without polling.

    python examples/echoserv.py 8000 &
    python examples/tk_echo_client.py [host] [port]        # default 127.0.0.1 8000
"""

from __future__ import annotations

import sys
import tkinter
from typing import Any

from plait.protocol import ClientFactory
from plait.protocols.framing import LineReceiver
from plait.reactor import TkReactor


class EchoLineClient(LineReceiver):
    """Sends the window's lines; shows each line that comes back."""

    delimiter = b"\n"

    def connectionMade(self) -> None:
        self.factory.window.connected(self)

    def lineReceived(self, line: bytes) -> None:
        self.factory.window.answered(line.decode("utf-8", "replace"))

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.window.disconnected(reason)


class EchoClientWindow:
    """The widgets: an entry, a "Send" button and a label with the server's answer."""

    def __init__(self, reactor: Any, root: tkinter.Tk, host: str, port: int) -> None:
        self.client: EchoLineClient | None = None
        root.title("plait echo client")
        self.entry = tkinter.Entry(root, width=40)
        self.entry.insert(0, "hello, plait")
        self.entry.pack(padx=8, pady=4)
        self.button = tkinter.Button(root, text="Send", command=self.send, state="disabled")
        self.button.pack(pady=4)
        self.label = tkinter.Label(root, text=f"connecting to {host}:{port}...")
        self.label.pack(padx=8, pady=4)
        factory = ClientFactory()
        factory.protocol = EchoLineClient
        factory.window = self  # type: ignore[attr-defined]
        factory.clientConnectionFailed = lambda connector, reason: self.disconnected(reason)  # type: ignore[method-assign]
        reactor.connectTCP(host, port, factory)

    def connected(self, client: EchoLineClient) -> None:
        self.client = client
        self.button.configure(state="normal")
        self.label.configure(text="connected")

    def send(self) -> None:
        """The button's command: send the entry's text as one line."""
        if self.client is not None:
            self.client.sendLine(self.entry.get().encode("utf-8"))
            self.label.configure(text="waiting for the echo...")

    def answered(self, text: str) -> None:
        self.label.configure(text=f"echo: {text}")

    def disconnected(self, reason: Any) -> None:
        self.client = None
        self.button.configure(state="disabled")
        message = reason.getErrorMessage() if hasattr(reason, "getErrorMessage") else reason
        self.label.configure(text=f"disconnected: {message}")


def main(argv: list[str]) -> None:
    host = argv[1] if len(argv) > 1 else "127.0.0.1"
    port = int(argv[2]) if len(argv) > 2 else 8000
    root = tkinter.Tk()
    reactor = TkReactor(root)
    EchoClientWindow(reactor, root, host, port)
    root.protocol("WM_DELETE_WINDOW", reactor.stop)
    reactor.run()  # runs root.mainloop(); closing the window stops it


if __name__ == "__main__":
    main(sys.argv)
