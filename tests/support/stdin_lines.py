"""Standard input as a stream of command lines for the D-Bus helpers the tests run (notifications.py,
status_notifier_host.py): each complete line goes to a handler inside the GLib main loop, and the loop
ends when standard input closes, so a helper never outlives its test."""
import os
import sys

from gi.repository import GLib


def serve(loop, handle):
    """Calls handle(line) for every line of standard input (bytes, without the newline) while `loop` runs,
    and quits `loop` when standard input closes."""
    pending = b""

    def on_stdin(source, condition):
        nonlocal pending
        data = b"" if condition & (GLib.IO_HUP | GLib.IO_ERR) else os.read(source, 4096)
        if not data:
            loop.quit()
            return False
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            handle(line)
        return True

    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)
