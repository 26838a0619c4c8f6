"""The JSON-lines worker (`python -m motion_core serve --stdio`) as a real subprocess, driven like the add-on."""
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from motion_core.engine import Engine, tiny_config
from motion_core.formats.motion import Motion

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0


class WorkerProcess:
    """A worker child plus a reader thread that insists every stdout line is one JSON object."""

    def __init__(self, log_path: Path, command=None):
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(command or [sys.executable, "-m", "motion_core", "serve", "--stdio"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     cwd=ROOT, env=env, bufsize=1)
        self.events: queue.Queue = queue.Queue()
        self.bad_lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
                assert isinstance(event, dict)
            except (ValueError, AssertionError):
                self.bad_lines.append(line)
                continue
            self.events.put(event)

    def send(self, message):
        self.proc.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
        self.proc.stdin.flush()

    def next_event(self, timeout=TIMEOUT) -> dict:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s; stderr: {Path(self.log.name).read_text()[-2000:]}")

    def wait_for(self, predicate, timeout=TIMEOUT) -> tuple[dict, list[dict]]:
        """The first event matching `predicate`, and every event seen before it."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.01))
            if predicate(event):
                return event, seen
            seen.append(event)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.log.close()
        assert not self.bad_lines, f"non-protocol lines on stdout: {self.bad_lines[:3]}"


def finished(job_id):
    return lambda e: e.get("id") == job_id and e.get("event") in ("result", "error", "cancelled")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return str(Engine.random(tiny_config(), seed=0).save(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    process = WorkerProcess(tmp_path_factory.mktemp("worker") / "stderr.log")
    yield process
    process.close()


def generate_params(checkpoint, **overrides):
    params = {"prompts": ["a person walks"], "seconds": 1.0, "seed": 0, "guidance": 7.5, "steps": 3,
              "checkpoint": checkpoint, "device": "cpu"}
    params.update(overrides)
    return params


def test_ping(worker):
    worker.send({"id": "p1", "method": "ping"})
    assert worker.wait_for(lambda e: e.get("id") == "p1")[0] == {"id": "p1", "event": "pong", "busy": False}


def test_generate_then_extend(worker, checkpoint, tmp_path):
    worker.send({"id": "g1", "method": "generate",
                 "params": generate_params(checkpoint, prompts=["a person walks", "a person jumps"], seed=4,
                                           out_dir=str(tmp_path))})
    result, before = worker.wait_for(finished("g1"))
    assert result["event"] == "result", result
    progress = [e for e in before if e["id"] == "g1"]
    assert progress and all(e["event"] == "progress" for e in progress)
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and any("denoising step 3/3" in e["message"] for e in progress)
    motions = [Motion.load(p) for p in result["motions"]]
    # the job's files share a folder of their own in out_dir, published by one rename
    assert len({Path(p).parent for p in result["motions"]}) == 1
    assert all(Path(p).parent.parent == tmp_path for p in result["motions"])
    assert [m.meta["prompt"] for m in motions] == ["a person walks", "a person jumps"]
    assert [m.meta["seed"] for m in motions] == [4, 5] and motions[0].num_frames == 20

    worker.send({"id": "e1", "method": "extend",
                 "params": {"motion_path": result["motions"][0], "prompt": "then sits", "seconds": 1.0, "seed": 1,
                            "steps": 2, "checkpoint": checkpoint, "device": "cpu"}})
    extended, _ = worker.wait_for(finished("e1"))
    assert extended["event"] == "result", extended
    (path,) = extended["motions"]
    combined = Motion.load(path)  # no out_dir: a fresh temporary folder
    assert combined.num_frames == 40 and combined.meta["extend_start_frame"] == 20


@pytest.mark.parametrize("line, kind, reply_id", [
    ("this is not json", "parse_error", None),
    ("[1, 2]", "invalid_request", None),
    ('{"method": "ping"}', "invalid_request", None),
    ('{"id": "m1"}', "invalid_request", "m1"),
    ('{"id": "m2", "method": "ping", "params": [1]}', "invalid_request", "m2"),
    ('{"id": "m3", "method": "dance"}', "unknown_method", "m3"),
    ('{"id": "m4", "method": "cancel", "params": {"target": "nothing"}}', "not_running", "m4"),
    ('{"id": "m5", "method": "cancel"}', "invalid_params", "m5"),
    ('{"id": "m6", "method": "generate", "params": {"prompts": [], "checkpoint": CKPT}}', "invalid_params", "m6"),
    ('{"id": "m7", "method": "generate", "params": {"prompts": ["a"], "seconds": "long", "checkpoint": CKPT}}',
     "invalid_params", "m7"),
    ('{"id": "m8", "method": "generate", "params": {"prompts": ["a"], "seconds": 600, "checkpoint": CKPT}}',
     "invalid_params", "m8"),
    ('{"id": "m9", "method": "generate", "params": {"prompts": ["a"], "checkpoint": "/no/such/model"}}',
     "model_not_found", "m9"),
    ('{"id": "m10", "method": "extend", "params": {"motion_path": "/no/such.npz", "prompt": "a"}}',
     "invalid_params", "m10"),
])
def test_bad_requests_get_error_events_and_the_worker_survives(worker, checkpoint, line, kind, reply_id):
    worker.send(line.replace("CKPT", json.dumps(checkpoint)))
    error, _ = worker.wait_for(lambda e: e["event"] != "progress")
    assert error["event"] == "error" and error["id"] == reply_id, error
    assert error["error"]["type"] == kind and error["error"]["message"]
    worker.send({"id": "alive", "method": "ping"})
    assert worker.next_event()["event"] == "pong"


def test_ping_busy_and_cancel_while_generating(worker, checkpoint):
    worker.send({"id": "long", "method": "generate", "params": generate_params(checkpoint, steps=1000)})
    worker.wait_for(lambda e: e.get("id") == "long" and "denoising" in e.get("message", ""))
    worker.send({"id": "p2", "method": "ping"})
    pong, _ = worker.wait_for(lambda e: e.get("id") == "p2")
    assert pong == {"id": "p2", "event": "pong", "busy": True}
    worker.send({"id": "second", "method": "generate", "params": generate_params(checkpoint)})
    busy, _ = worker.wait_for(lambda e: e.get("id") == "second")
    assert busy["event"] == "error" and busy["error"]["type"] == "busy"
    worker.send({"id": "c1", "method": "cancel", "params": {"target": "long"}})
    cancelled, _ = worker.wait_for(finished("long"), timeout=60)
    assert cancelled == {"id": "long", "event": "cancelled"}
    worker.send({"id": "after", "method": "generate", "params": generate_params(checkpoint, steps=1)})
    assert worker.wait_for(finished("after"))[0]["event"] == "result"


def test_kill_9_mid_job_leaves_only_complete_files(worker, checkpoint, tmp_path):
    out = tmp_path / "takes"
    doomed = WorkerProcess(tmp_path / "stderr.log")
    try:
        doomed.send({"id": "ok", "method": "generate", "params": generate_params(checkpoint, out_dir=str(out))})
        assert doomed.wait_for(finished("ok"))[0]["event"] == "result"
        doomed.send({"id": "doomed", "method": "generate",
                     "params": generate_params(checkpoint, prompts=["walk"] * 4, steps=1000, out_dir=str(out))})
        doomed.wait_for(lambda e: e.get("id") == "doomed" and "denoising" in e.get("message", ""))
        os.kill(doomed.proc.pid, signal.SIGKILL)
        assert doomed.proc.wait(10) == -signal.SIGKILL
    finally:
        doomed.close()
    files = sorted(out.rglob("*.npz"))
    assert len(files) == 1 and all(Motion.load(f).num_frames == 20 for f in files)
    # Another worker writes into the same folder as if nothing happened.
    worker.send({"id": "again", "method": "generate", "params": generate_params(checkpoint, out_dir=str(out))})
    result, _ = worker.wait_for(finished("again"))
    assert result["event"] == "result" and Motion.load(result["motions"][0]).num_frames == 20
    assert len(list(out.rglob("*.npz"))) == 2


def _published(folder: Path) -> list[Path]:
    """.npz files under `folder` outside any `.partial_*` work in progress."""
    return [p for p in folder.rglob("*.npz")
            if not any(part.startswith(".partial_") for part in p.relative_to(folder).parts)]


def _slow_saving_worker(log_path: Path, checkpoint: str) -> WorkerProcess:
    """A worker whose every Motion.save takes 50 ms longer, so a signal lands while a job writes its files."""
    script = textwrap.dedent(f"""
        import time
        from motion_core.engine import Engine
        from motion_core.formats.motion import Motion
        from motion_core.interfaces.worker import serve_stdio

        save = Motion.save
        def slow_save(self, path):
            time.sleep(0.05)
            return save(self, path)
        Motion.save = slow_save
        raise SystemExit(serve_stdio(lambda checkpoint, device: Engine.load({checkpoint!r}, device="cpu")))
    """)
    return WorkerProcess(log_path, command=[sys.executable, "-c", script])


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_signal_while_writing_leaves_none_of_the_jobs_files(worker, checkpoint, tmp_path, signum):
    """Issue 24 #1: the files of a job appear all at once or not at all, whatever stops the worker."""
    out = tmp_path / "takes"
    doomed = _slow_saving_worker(tmp_path / "stderr.log", checkpoint)
    try:
        doomed.send({"id": "big", "method": "generate", "params": generate_params(
            checkpoint, prompts=["walk"] * 40, steps=1, guidance=1.0, out_dir=str(out))})
        deadline = time.monotonic() + TIMEOUT
        while len(list(out.rglob("*.npz"))) < 10:   # 10 of the 40 files written
            assert time.monotonic() < deadline and doomed.proc.poll() is None, "the job never wrote 10 files"
            time.sleep(0.01)
        os.kill(doomed.proc.pid, signum)
        status = doomed.proc.wait(30)
        if signum == signal.SIGTERM:   # handled: the job is cancelled and answered, the worker exits cleanly
            assert status == 128 + signal.SIGTERM
            assert doomed.wait_for(finished("big"))[0] == {"id": "big", "event": "cancelled"}
            assert list(out.iterdir()) == []
        else:
            assert status == -signal.SIGKILL
    finally:
        doomed.close()
    assert _published(out) == []
    # The next job there removes the dead worker's work in progress, and publishes its own files whole.
    worker.send({"id": "next", "method": "generate", "params": generate_params(checkpoint, out_dir=str(out))})
    result, _ = worker.wait_for(finished("next"))
    assert result["event"] == "result", result
    assert [p.name for p in out.iterdir() if p.name.startswith(".partial_")] == []
    assert sorted(map(str, _published(out))) == result["motions"]


def test_stray_stdout_writes_go_to_stderr(checkpoint, tmp_path):
    """Prints and C-level writes to fd 1 (e.g. from a library while loading) must not corrupt the protocol."""
    script = textwrap.dedent(f"""
        import os
        from motion_core.engine import Engine
        from motion_core.interfaces.worker import serve_stdio

        def noisy_loader(checkpoint, device):
            print("python print noise")
            os.write(1, b"C-level noise\\n")
            return Engine.load({checkpoint!r}, device="cpu")

        raise SystemExit(serve_stdio(noisy_loader))
    """)
    log = tmp_path / "stderr.log"
    process = WorkerProcess(log, command=[sys.executable, "-c", script])
    try:
        process.send({"id": "g", "method": "generate", "params": generate_params(None, steps=1)})
        result, _ = process.wait_for(finished("g"))
        assert result["event"] == "result", result
        process.proc.stdin.close()  # end of input: the worker exits cleanly
        assert process.proc.wait(30) == 0
    finally:
        process.close()  # asserts that stdout held protocol lines only
    text = log.read_text()
    assert "python print noise" in text and "C-level noise" in text


def test_shutdown_exits_zero(worker):
    """Runs last (file order): stops the module's worker."""
    worker.send({"id": "bye", "method": "shutdown"})
    assert worker.proc.wait(30) == 0


def test_every_event_stays_one_line_for_unicode_aware_readers():
    """An id or message holding U+0085 / U+2028 must not split the event for a reader using str.splitlines."""
    import io
    from motion_core.interfaces.worker_protocol import LineWriter
    stream = io.StringIO()
    LineWriter(stream).send({"event": "error", "id": "a\x85b\u2028c", "error": {"message": "人が歩く"}})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["id"] == "a\x85b\u2028c"
