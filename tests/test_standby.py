"""The warm engine (`nst-engine standby`): ready first, then exactly one run from a stdin line."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import engine_command, parse_events, read_rgba, run_engine

pytestmark = pytest.mark.weights


class Standby:
    """A standby engine as a front end drives it: stdin stays open until the run has ended."""

    def __init__(self, *args, env: dict | None = None) -> None:
        self.process = subprocess.Popen(
            engine_command("standby", *args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.events: list[dict] = []

    def next_event(self) -> dict | None:
        line = self.process.stdout.readline()
        if not line:
            return None
        self.events.extend(parse_events(line))
        return self.events[-1]

    def send(self, line: str) -> None:
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def events_until_end(self) -> list[dict]:
        while (event := self.next_event()) is not None and event["event"] not in ("done", "error"):
            pass
        return self.events

    def finish(self, timeout: float = 120) -> int:
        if not self.process.stdin.closed:
            self.process.stdin.close()
        self.events.extend(parse_events(self.process.stdout.read()))
        self.stderr = self.process.stderr.read()
        return self.process.wait(timeout=timeout)


def _job(small_images, output, *extra) -> list[str]:
    return [
        "--content", str(small_images["tubingen"]), "--style", str(small_images["starry_night"]),
        "--output", str(output), "--max-size", "64", "--iterations", "6", *extra,
    ]  # fmt: skip


def test_a_standby_runs_its_job_exactly_as_run_does(small_images, tmp_path):
    standby = Standby()
    ready = standby.next_event()
    assert ready == {"event": "ready", "protocol": 1, "device": ready["device"], "idle_timeout": 600.0}
    assert ready["device"] == "CPU" or ready["device"].startswith("GPU:")  # CI has no GPU; a developer may
    warm = tmp_path / "warm.png"
    standby.send(json.dumps(_job(small_images, warm, "--preview-every", "3")) + "\n")
    kinds = [event["event"] for event in standby.events_until_end()]
    assert standby.finish() == 0, standby.stderr
    assert kinds[:2] == ["ready", "start"] and kinds[-1] == "done"
    assert [e["iteration"] for e in standby.events if e["event"] == "progress"] == list(range(1, 7))
    assert [e["iteration"] for e in standby.events if e["event"] == "preview"] == [3]
    assert standby.events[-1]["output"] == str(warm)

    cold = tmp_path / "cold.png"
    result = run_engine("run", *_job(small_images, cold), "--progress", "json")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(read_rgba(warm), read_rgba(cold))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cold.png", "warm.png"]


@pytest.mark.parametrize("how", ["stdin closed", "idle timeout"])
def test_a_standby_without_a_job_exits_quietly(how):
    standby = Standby("--idle-timeout", "1" if how == "idle timeout" else "600")
    assert standby.next_event()["event"] == "ready"
    if how == "idle timeout":
        assert standby.process.wait(timeout=30) == 0
    assert standby.finish() == 0
    assert [event["event"] for event in standby.events] == ["ready"]


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM on Windows: closing stdin is the way there")
def test_sigterm_ends_a_waiting_standby_at_once():
    standby = Standby()
    assert standby.next_event()["event"] == "ready"
    standby.process.send_signal(signal.SIGTERM)
    assert standby.process.wait(timeout=10) == -signal.SIGTERM
    assert standby.finish() == -signal.SIGTERM
    assert [event["event"] for event in standby.events] == ["ready"]


@pytest.mark.parametrize(
    "line, words",
    [
        ("--content a.png\n", "JSON list of `nst-engine run` arguments"),
        ('["--style", "s.png"]\n', "--content"),
        ('["--help"]\n', "asks for help"),  # argparse would print help and exit 0 with no last event
    ],
)
def test_a_bad_job_line_gets_a_usage_error(line, words):
    standby = Standby()
    assert standby.next_event()["event"] == "ready"
    standby.send(line)
    events = standby.events_until_end()
    assert standby.finish() == 2
    assert [event["event"] for event in events] == ["ready", "error"]
    assert events[-1]["code"] == "usage" and words in events[-1]["message"]


def test_closing_stdin_cancels_the_job_and_writes_nothing(small_images, tmp_path):
    output = tmp_path / "out.png"
    standby = Standby()
    assert standby.next_event()["event"] == "ready"
    job = _job(small_images, output)
    job[job.index("--iterations") + 1] = "500"
    standby.send(json.dumps(job) + "\n")
    while (event := standby.next_event())["event"] != "progress":
        assert event["event"] == "start", event
    assert standby.finish(timeout=60) == 4
    assert standby.events[-1]["code"] == "cancelled"
    assert standby.events[-2]["iteration"] < 100
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seconds", ["0", "-5", "inf", "nan", "1e300"])
def test_an_idle_timeout_that_is_not_a_positive_number_of_seconds_is_refused(seconds):
    standby = Standby("--idle-timeout", seconds)
    assert standby.finish(timeout=30) == 2
    assert [event["event"] for event in standby.events] == ["error"]
    assert standby.events[0]["code"] == "bad_option" and "--idle-timeout" in standby.events[0]["message"]


def test_missing_weights_are_reported_before_anything_loads(tmp_path):
    standby = Standby("--weights", str(tmp_path / "missing.h5"))
    assert standby.finish(timeout=30) == 3
    assert [event["event"] for event in standby.events] == ["error"]
    assert standby.events[0]["code"] == "weights_missing" and "missing.h5" in standby.events[0]["message"]


def test_a_job_without_weights_uses_the_ones_its_standby_loaded(weights_path, small_images, tmp_path):
    """A front end that names the weights only when it starts the standby must not get
    `weights_missing` after `ready`."""
    nowhere = {"KERAS_HOME": str(tmp_path / "empty-keras"), "NST_VGG19_WEIGHTS": ""}
    standby = Standby("--weights", str(weights_path), env=nowhere)
    assert standby.next_event()["event"] == "ready"
    output = tmp_path / "out.png"
    standby.send(json.dumps(_job(small_images, output, "--iterations", "2")) + "\n")
    events = standby.events_until_end()
    assert standby.finish() == 0, standby.stderr
    assert events[-1]["event"] == "done" and output.exists()


def test_a_finish_line_after_the_job_ends_it_with_the_image_as_it_is(small_images, tmp_path):
    """The rest of stdin after the job line carries `finish` as it does for `run`. Sent with the
    job, before any evaluation, the result is the start image, the content itself."""
    standby = Standby()
    assert standby.next_event()["event"] == "ready"
    output = tmp_path / "out.png"
    standby.send(json.dumps(_job(small_images, output, "--iterations", "500", "--max-size", "128")) + "\n")
    standby.send("finish\n")
    events = standby.events_until_end()
    assert standby.finish() == 0, standby.stderr
    assert events[-1]["event"] == "done" and events[-1]["finished_early"] is True
    assert not [event for event in events if event["event"] == "progress"]
    content = read_rgba(small_images["tubingen"])
    assert np.abs(read_rgba(output) - content).max() <= 1.0
