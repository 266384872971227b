"""The command line's run control: how stdin's lines and its end become finish and cancel.

The watcher reads raw chunks from a pipe, so a line may arrive in pieces, several may arrive at
once, and the parent may close the pipe at any moment; these run the watcher on a real pipe."""

import os
import sys
import threading

import pytest

from nst_engine.cancel import UNINTERRUPTED, Interruptions


class _PipeStdin:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


def watch(monkeypatch, *chunks: bytes) -> Interruptions:
    """Run the stdin watcher over a pipe that receives `chunks`, then is closed by its writer."""
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stdin", _PipeStdin(read_end))
    control = Interruptions()
    watcher = threading.Thread(target=control._watch_stdin)
    watcher.start()
    try:
        for chunk in chunks:
            os.write(write_end, chunk)
            _until_read(read_end)  # so that each chunk is a read of its own, not merged with the next
    finally:
        os.close(write_end)
    watcher.join(10)
    os.close(read_end)
    assert not watcher.is_alive(), "the watcher must end at end of file"
    return control


def _until_read(fd: int, seconds: float = 10.0) -> None:
    """Wait until the pipe behind `fd` holds no unread bytes (the watcher has taken them)."""
    import fcntl
    import struct
    import termios
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if not waiting:
            return
        time.sleep(0.001)
    raise AssertionError("the watcher did not read the pipe")


def test_a_finish_line_finishes_and_the_end_of_stdin_then_does_not_cancel(monkeypatch):
    control = watch(monkeypatch, b"finish\n")
    assert control.finishing() and not control.cancelled()


def test_a_finish_line_split_across_reads_is_still_one_line(monkeypatch):
    control = watch(monkeypatch, b"fin", b"ish", b"\n")
    assert control.finishing() and not control.cancelled()


@pytest.mark.parametrize("chunks", [(b"later-command\n", b"  finish \r\n"), (b"finish",)])
def test_finish_among_other_lines_or_without_its_newline(monkeypatch, chunks):
    control = watch(monkeypatch, *chunks)
    assert control.finishing() and not control.cancelled()


@pytest.mark.parametrize("chunks", [(), (b"finished\n",), (b"other\n", b"fini")])
def test_the_end_of_stdin_without_a_finish_line_cancels(monkeypatch, chunks):
    control = watch(monkeypatch, *chunks)
    assert control.cancelled() and not control.finishing()


def test_a_run_without_control_is_never_interrupted():
    assert not UNINTERRUPTED.cancelled() and not UNINTERRUPTED.finishing()
