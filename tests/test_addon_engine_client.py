"""The add-on's engine client against real child processes speaking the JSON-lines protocol (a tiny fake
server written by the test), and the in-process client with a fake engine on its worker thread."""
import sys
import threading
import time

import pytest

from addon import engine_client as ec

FAKE_SERVER = r'''
import json, os, sys, threading, time
mode, flag = sys.argv[1], sys.argv[2]
lock = threading.Lock()
cancelled = threading.Event()

def send(obj):
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

def job(rid, params):
    send({"id": rid, "event": "progress", "fraction": 0.25, "message": "denoising 5/20"})
    if mode == "die" or (mode == "die_once" and not os.path.exists(flag)):
        open(flag, "w").close()
        print("fatal: out of memory", file=sys.stderr, flush=True)
        os._exit(3)
    if mode == "garbage":
        print("Traceback: this is not JSON", flush=True)
        return
    if mode in ("slow", "ignore_cancel"):
        while not (cancelled.is_set() and mode == "slow"):
            send({"id": rid, "event": "progress", "fraction": 0.5, "message": "still going"})
            time.sleep(0.05)
        send({"id": rid, "event": "cancelled"})
        return
    if mode == "silent":
        return
    n = len(params.get("prompts", [1]))
    send({"id": rid, "event": "result", "motions": [f"/tmp/take{i}.npz" for i in range(n)]})

for line in sys.stdin:
    req = json.loads(line)
    rid, method = req["id"], req["method"]
    if method == "ping":
        send({"id": rid, "event": "pong", "busy": False})
    elif method == "shutdown":
        break
    elif method == "cancel":
        cancelled.set()
    elif method == "generate" and req["params"].get("seconds", 1) < 0:
        send({"id": rid, "event": "error", "error": {"type": "invalid_params", "message": "seconds must be > 0"}})
    else:
        threading.Thread(target=job, args=(rid, req["params"]), daemon=True).start()
'''


@pytest.fixture
def make_engine(tmp_path):
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    engines = []

    def make(mode, **kw):
        engine = ec.SubprocessEngine(command=[sys.executable, str(script), mode, str(tmp_path / "flag")], **kw)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown(timeout=2)
        engine.kill()


GEN = {"prompts": ["a person waves", "a person waves"], "seconds": 2.0, "seed": 0}


def test_generate_progress_then_result(make_engine):
    engine = make_engine("normal")
    assert engine.ping(timeout=20)
    job = engine.submit("generate", GEN)
    job.wait(timeout=20)
    assert job.state == ec.DONE and job.results == ["/tmp/take0.npz", "/tmp/take1.npz"]
    assert job.fraction == 1.0
    pid = engine.pid
    second = engine.submit("generate", {"prompts": ["x"], "seconds": 1.0}).wait(timeout=20)
    assert second.state == ec.DONE and engine.pid == pid       # kept warm: same process


def test_progress_is_visible_before_completion(make_engine):
    engine = make_engine("slow")
    job = engine.submit("generate", GEN)
    deadline = time.monotonic() + 20
    while job.poll().fraction < 0.5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.state == ec.RUNNING and job.fraction == 0.5 and job.message == "still going"
    with pytest.raises(ec.EngineError, match="already running"):
        engine.submit("generate", GEN)
    job.cancel()
    job.wait(timeout=20)
    assert job.state == ec.CANCELLED and not job.cancel_timed_out
    assert engine.alive


def test_server_error_event(make_engine):
    job = make_engine("normal").submit("generate", {"prompts": ["x"], "seconds": -1}).wait(timeout=20)
    assert job.state == ec.ERROR and job.error == "invalid_params: seconds must be > 0"


def test_server_killed_mid_job_then_restarted(make_engine):
    engine = make_engine("die_once")
    job = engine.submit("generate", GEN).wait(timeout=20)
    assert job.state == ec.ERROR
    assert "exited (code 3)" in job.error and "out of memory" in job.error
    assert not engine.alive
    engine.release(job)
    again = engine.submit("generate", GEN).wait(timeout=20)     # a fresh child is started
    assert again.state == ec.DONE


def test_external_kill_is_reported(make_engine):
    engine = make_engine("slow")
    job = engine.submit("generate", GEN)
    while job.poll().fraction == 0:
        time.sleep(0.02)
    engine._proc.kill()
    job.wait(timeout=20)
    assert job.state == ec.ERROR and "exited" in job.error


def test_garbage_output_is_a_clear_error(make_engine):
    engine = make_engine("garbage")
    job = engine.submit("generate", GEN).wait(timeout=20)
    assert job.state == ec.ERROR
    assert "malformed output" in job.error and "this is not JSON" in job.error


def test_silence_times_out_and_kills_the_child(make_engine):
    engine = make_engine("silent", reply_timeout=0.5)
    job = engine.submit("generate", GEN).wait(timeout=20)
    assert job.state == ec.ERROR and "sent nothing" in job.error
    engine.release(job)
    assert not engine.alive


def test_cancel_ignored_is_forced_after_grace(make_engine):
    engine = make_engine("ignore_cancel", cancel_grace=0.3)
    job = engine.submit("generate", GEN)
    job.cancel()
    job.wait(timeout=20)
    assert job.state == ec.CANCELLED and job.cancel_timed_out
    engine.release(job)
    assert not engine.alive                    # a child that ignores cancel is not trusted again


def test_missing_interpreter_is_a_clear_error(tmp_path):
    engine = ec.SubprocessEngine(command=[str(tmp_path / "no_python"), "-m", "motion_core"])
    with pytest.raises(ec.EngineError, match="cannot start the engine"):
        engine.submit("generate", GEN)


class FakeEngine:
    def __init__(self, steps=4, fail=False, delay=0.0):
        self.steps, self.fail, self.delay = steps, fail, delay
        self.calls = []

    def generate(self, prompts, seconds=None, seed=None, guidance=None, steps=None, progress=None,
                 should_cancel=None):
        self.calls.append((prompts, seconds, seed))
        for i in range(self.steps):
            if should_cancel():
                raise InterruptedError("cancelled")
            progress((i + 1) / self.steps, f"denoising {i + 1}/{self.steps}")
            time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("CUDA out of memory")
        return [f"motion:{p}" for p in prompts]


def test_in_process_generate_progress_and_result():
    fake = FakeEngine()
    loads = []
    engine = ec.InProcessEngine(loader=lambda ckpt, dev: loads.append((ckpt, dev)) or fake, device="cpu")
    job = engine.submit("generate", {"prompts": ["a", "b"], "seconds": 3.0, "seed": 7}).wait(timeout=10)
    assert job.state == ec.DONE and job.results == ["motion:a", "motion:b"]
    assert fake.calls == [(["a", "b"], 3.0, 7)] and loads == [(None, "cpu")]
    engine.submit("generate", {"prompts": ["c"]}).wait(timeout=10)
    assert len(loads) == 1                      # the model stays loaded


def test_in_process_cancel_and_error():
    slow = ec.InProcessEngine(loader=lambda c, d: FakeEngine(steps=1000, delay=0.01))
    job = slow.submit("generate", {"prompts": ["a"]})
    while job.poll().fraction == 0:
        time.sleep(0.01)
    job.cancel()
    assert job.wait(timeout=10).state == ec.CANCELLED
    slow.shutdown()
    failing = ec.InProcessEngine(loader=lambda c, d: FakeEngine(fail=True))
    job = failing.submit("generate", {"prompts": ["a"]}).wait(timeout=10)
    assert job.state == ec.ERROR and "CUDA out of memory" in job.error


def test_job_state_changes_only_when_polled():
    job = ec.Job("1", "generate", canceller=lambda j: None)
    job.events.put({"event": "progress", "fraction": 0.4, "message": "m"})
    assert job.fraction == 0.0
    job.poll()
    assert job.fraction == 0.4
    job.events.put({"event": "result", "motions": []})
    assert job.poll().state == ec.ERROR and "no motions" in job.error
    assert threading.current_thread() is threading.main_thread()
