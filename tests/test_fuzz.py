"""Property-based fuzzing (hypothesis) of the surfaces that take outside input: the worker protocol (in-process
and, briefly, the real subprocess), the CLI argument layer (in-process and a handful as subprocesses), and the
BVH / .npz readers.

Invariants: nothing crashes or hangs; every reply is one JSON object; every bad input gets a *classified*
error (invalid_params / parse_error / ..., or exit status 2), never an unexpected exception (runtime_error,
exit status 1, a traceback). Example counts are bounded so the file runs in well under a minute on two cores;
`INPUTS` tallies how many inputs each target saw (printed with -s at the end of the run).
"""
import collections
import contextlib
import io
import json
import math
import os
import string
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from motion_core.interfaces import cli  # noqa: E402
from motion_core.interfaces import worker as worker_module  # noqa: E402
from motion_core.formats.bvh import BvhError, read_bvh, write_bvh  # noqa: E402
from motion_core.runtime.device import best_device  # noqa: E402
from motion_core.engine import Engine, tiny_config  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.generation import batching, extend, sampling, timeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INPUTS: collections.Counter = collections.Counter()
FOUND: collections.Counter = collections.Counter()   # classified outcomes, for the report
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
FINAL = {"result", "error", "cancelled", "pong"}
CLASSIFIED = {"parse_error", "invalid_request", "unknown_method", "invalid_params", "busy", "not_running",
              "model_not_found", "invalid_checkpoint", "device_error", "io_error"}


def teardown_module(module):
    print(f"\nfuzz inputs tried: {dict(INPUTS)}; outcomes: {dict(FOUND)}")


# ---- a fast engine: the real validation, text encoder, decoder and IK, with a stub instead of the sampler -------

@pytest.fixture(scope="module")
def fast_engine():
    engine = Engine.random(tiny_config(), seed=0)
    real_sample = sampling.sample_latents

    def fast_sample(caller, prompts, seeds, num_frames, guidance, steps, report, should_cancel, known=None,
                    guide=None):
        if caller is not engine:
            return real_sample(caller, prompts, seeds, num_frames, guidance, steps, report, should_cancel, known,
                               guide)
        engine.text_encoder.encode(prompts)           # random Unicode goes through the real tokenizer/encoder
        report(0.5, "denoising step 1/1")
        length = engine.vae.latent_length(num_frames)
        generator = torch.Generator().manual_seed(seeds[0])
        return 0.1 * torch.randn(len(prompts), length, engine.vae.config.latent_dim, generator=generator)

    # Every part that samples (generate's passes, extend, timelines) gets the stub, for this engine only.
    with pytest.MonkeyPatch.context() as patch:
        for module in (batching, extend, timeline):
            patch.setattr(module, "sample_latents", fast_sample)
        yield engine


def _loader(engine):
    """Like the worker's real loader: a bad device or checkpoint is refused the way Engine.load refuses it."""
    def load(checkpoint, device):
        best_device(device)
        if checkpoint is not None:
            return Engine.load(checkpoint, device=device)
        return engine
    return load


class Recorder:
    """A Worker writing into a buffer; `final(id)` waits for that request's final event."""

    def __init__(self, engine):
        self.out = io.StringIO()
        self.worker = worker_module.Worker(self.out, engine_loader=_loader(engine), log=io.StringIO())

    def events(self):
        events = []
        for line in self.out.getvalue().splitlines():
            event = json.loads(line)
            assert isinstance(event, dict) and "event" in event, line
            events.append(event)
        return events

    def final(self, request_id, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [e for e in self.events() if e.get("id") == request_id and e["event"] in FINAL]
            if done:
                assert len(done) == 1, done
                return done[0]
            time.sleep(0.005)
        raise AssertionError(f"no final event for {request_id!r}")


# ---- worker: arbitrary lines ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
request_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=8), st.integers(), st.floats(), st.none(), st.booleans())},
    optional={"method": st.one_of(st.sampled_from(["ping", "cancel", "generate", "extend", "dance", ""]),
                                  json_values),
              "params": json_values})
lines = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),   # what serve_stdio reads
    json_values.map(json.dumps),
    request_like.map(json.dumps),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),           # deep nesting
    st.integers(4300, 6000).map(lambda digits: '{"id": "x", "method": "ping", "n": ' + "9" * digits + "}"),
)


@FUZZ
@given(line=lines)
def test_worker_answers_any_line_without_crashing(fast_engine, line):
    INPUTS["worker line (in-process)"] += 1
    recorder = Recorder(fast_engine)
    keep_going = recorder.worker.handle_line(line)
    assert keep_going is True
    recorder.worker._stop_job()                     # a random line may have started a (fast) job: let it end
    for event in recorder.events():
        if event["event"] == "error":
            FOUND[event["error"]["type"]] += 1
            assert event["error"]["type"] in CLASSIFIED, event


# ---- worker: generate / extend with random params -----------------------------------------------------------

def _weird(values):
    return st.one_of(st.sampled_from(values), st.none(), st.booleans(), st.text(max_size=6),
                     st.lists(st.integers(), max_size=2), st.floats(allow_nan=True, allow_infinity=True),
                     st.integers(-10 ** 30, 10 ** 30))


prompt_text = st.one_of(st.text(max_size=60), st.sampled_from(["walk", "人が歩く", "🕺", "", " ", "x" * 1200]))
generate_params = st.fixed_dictionaries({}, optional={
    "prompts": st.one_of(st.lists(prompt_text, max_size=3), st.lists(st.integers(), max_size=2), st.text(max_size=5),
                         st.none()),
    "prompt": prompt_text,
    "seconds": _weird([0.5, 1.0, 2.5, 0.0, -1.0, 9.8, 10.0, 1e9, 10 ** 400]),
    "frames": _weird([10, 20, 37, 196, 197, 0, -5]),
    "seed": _weird([0, 1, 2 ** 62, 2 ** 62 + 1, -1]),
    "guidance": _weird([0.0, 7.5, 30.0, 30.1, -1.0]),
    "steps": _weird([1, 20, 1000, 1001, 0, 2.0]),
    "device": st.one_of(st.sampled_from(["cpu", "auto", "cuda:7", "tpu", "", "cpu\0"]), st.none(),
                        st.integers()),
    "checkpoint": st.one_of(st.none(), st.sampled_from(["/no/such/model", "", "bad\0path", "."]), st.integers()),
    "out_dir": st.one_of(st.none(), st.sampled_from(["FILE", "SUB", 7])),
    "motion_path": st.one_of(st.sampled_from(["CLIP", "/no/such.npz", "bad\0.npz", "FILE"]), st.integers()),
    "extra": json_values,
})


# Mostly-valid requests with one or two odd values, so the success path (files written, results read back)
# is fuzzed too, not only the refusals.
VALID = {"prompts": ["a person walks", "人が歩く"], "prompt": "then jumps", "seconds": 1.0, "seed": 3, "steps": 1,
         "guidance": 7.5, "device": "cpu", "motion_path": "CLIP"}
nearly_valid = st.tuples(generate_params, st.sets(st.sampled_from(sorted(VALID)), max_size=2)).map(
    lambda pair: {**VALID, **{k: v for k, v in pair[0].items() if k in pair[1] or k not in VALID}})


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory, fast_engine):
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "a_file").write_text("not a folder")
    (motion,) = fast_engine.generate(["walk"], seconds=2.0, steps=1)
    motion.save(directory / "clip.npz")
    return directory


def _resolve(params, directory):
    """Replace placeholders with real paths (random folder names must not litter the working tree)."""
    places = {"FILE": str(directory / "a_file"), "SUB": str(directory / "out"), "CLIP": str(directory / "clip.npz")}
    return {k: places.get(v, v) if isinstance(v, str) else v for k, v in params.items()}


@FUZZ
@given(method=st.sampled_from(["generate", "extend"]), params=st.one_of(generate_params, nearly_valid))
def test_worker_jobs_with_random_params_get_one_classified_answer(fast_engine, fuzz_dir, method, params):
    INPUTS[f"worker {method} params"] += 1
    recorder = Recorder(fast_engine)
    recorder.worker.handle_line(json.dumps({"id": "j", "method": method, "params": _resolve(params, fuzz_dir)}))
    event = recorder.final("j")
    if event["event"] == "error":
        FOUND[event["error"]["type"]] += 1
        assert event["error"]["type"] in CLASSIFIED, event     # runtime_error would be an unexpected exception
    else:
        FOUND["result"] += 1
        assert event["event"] == "result" and event["motions"]
        for path in event["motions"]:
            assert Motion.load(path).num_frames >= 10
            os.unlink(path)


# ---- worker: the real subprocess -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_worker(tmp_path_factory):
    checkpoint = Engine.random(tiny_config(), seed=0).save(tmp_path_factory.mktemp("model") / "tiny")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "motion_core", "serve", "--stdio"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    replies: list = []
    reader = threading.Thread(target=lambda: replies.extend(proc.stdout), daemon=True)
    reader.start()
    yield proc, replies, str(checkpoint)
    proc.kill()
    proc.wait(10)


def _wait_for_pong(replies, ping_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in list(replies):
            if json.loads(raw).get("id") == ping_id:
                return
        time.sleep(0.02)
    raise AssertionError(f"the worker did not answer ping {ping_id}")


raw_lines = st.one_of(st.binary(max_size=120).map(lambda b: b.replace(b"\n", b" ")),
                      request_like.filter(lambda r: r.get("method") != "shutdown").map(
                          lambda r: json.dumps(r).encode()),
                      st.text(max_size=80).map(lambda t: t.replace("\n", " ").encode("utf-8", "surrogatepass")))


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(batch=st.lists(raw_lines, min_size=15, max_size=30),
       params=st.lists(generate_params, min_size=1, max_size=3))
def test_real_worker_survives_random_bytes_and_requests(live_worker, batch, params):
    proc, replies, checkpoint = live_worker
    INPUTS["worker line (subprocess)"] += len(batch) + len(params)
    for number, p in enumerate(params):           # valid-looking jobs, kept short and pointed at the tiny model
        p = {k: v for k, v in p.items() if k not in ("out_dir", "motion_path", "checkpoint")}
        p.update(checkpoint=checkpoint, steps=1, device="cpu")
        batch.append(json.dumps({"id": f"g{number}", "method": "generate", "params": p}).encode())
    for raw in batch:
        proc.stdin.write(raw + b"\n")
    ping_id = f"ping{INPUTS['worker line (subprocess)']}"
    proc.stdin.write(json.dumps({"id": ping_id, "method": "ping"}).encode() + b"\n")
    proc.stdin.flush()
    _wait_for_pong(replies, ping_id)
    assert proc.poll() is None
    for raw in replies:
        event = json.loads(raw)
        assert isinstance(event, dict)
        if event["event"] == "error":
            assert event["error"]["type"] in CLASSIFIED, event
    # let any job started above finish, so the next batch is not answered "busy" only
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        proc.stdin.write(b'{"id": "idle?", "method": "ping"}\n')
        proc.stdin.flush()
        time.sleep(0.1)
        pongs = [json.loads(r) for r in replies if b'"idle?"' in r]
        if pongs and not pongs[-1]["busy"]:
            break


# ---- CLI ----------------------------------------------------------------------------------------------------------

OPTIONS = ["--prompt", "--seconds", "--seed", "--steps", "--guidance", "--takes", "--format", "--device", "--quiet",
           "--debug", "--help-me", "-x", "--"]
values = st.one_of(st.sampled_from(["1", "0", "-1", "nan", "inf", "-inf", "1e9", "1e400", "2.5", "", " ", "walk",
                                    "人が歩く", "npz", "bvh", "both", "fbx", "cpu", "cuda", "tpu", "auto", "0x10",
                                    "9" * 40, "--seconds"]),
                   st.text(alphabet=string.printable + "éü人🕺", max_size=12))
argv_tail = st.lists(st.one_of(st.sampled_from(OPTIONS), values), max_size=10)


def _fast_cli(engine):
    """Engine.load replaced by the fast engine (after the real device check) for in-process CLI runs."""
    return mock.patch.object(Engine, "load", staticmethod(lambda checkpoint=None, device="auto", **options:
                                                          best_device(device) and engine))


def _run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(tail=argv_tail, command=st.sampled_from(["generate", "info", "serve", "dance"]), valid_start=st.booleans())
def test_cli_parser_and_validation_classify_every_input(fast_engine, tmp_path_factory, tail, command, valid_start):
    INPUTS["cli argv (in-process)"] += 1
    if "serve" == command:
        tail = [t for t in tail if t != "--stdio"]   # never start a worker on the test's stdin
    out_dir = tmp_path_factory.mktemp("cli")
    if valid_start:                                  # a working command line with odd options after it
        tail = ["--prompt", "a person walks", "--seconds", "1", "--steps", "1", *tail]
    argv = [command, *tail]
    if command == "generate":
        argv += ["--out", str(out_dir)]
    # Inside out_dir: a tail with "--" turns the trailing --out into prompts, and the default output folder
    # must then not land in the repository.
    with _fast_cli(fast_engine), contextlib.chdir(out_dir):
        code, out, err = _run_cli(argv)
        written = [Path(p).is_file() for p in out.splitlines()] if code == 0 and command == "generate" else []
    FOUND[f"cli exit {code}"] += 1
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err or "--debug" in argv
    assert all(written)


CLI_SUBPROCESS_CASES = [
    ["--prompt", "人が歩く 🕺", "--seconds", "0.5"],
    ["--prompt", "walk", "--seconds", "nan"],
    ["--prompt", " ", "--steps", "1"],
    ["--prompt", "walk", "--seed", "9" * 40],
]


@pytest.mark.slow   # four interpreters importing torch: ~10 s on an idle 2-core machine, more under load
def test_cli_subprocess_handful(live_worker, tmp_path):
    """A few inputs through the real console entry point, started together (each pays torch's import)."""
    checkpoint = live_worker[2]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-m", "motion_core", "generate", *tail, "--steps", "1",
                               "--checkpoint", checkpoint, "--device", "cpu", "--out", str(tmp_path / str(i)),
                               "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=ROOT)
             for i, tail in enumerate(CLI_SUBPROCESS_CASES)]
    for tail, proc in zip(CLI_SUBPROCESS_CASES, procs):
        INPUTS["cli argv (subprocess)"] += 1
        out, err = proc.communicate(timeout=180)
        assert proc.returncode in (0, 2), (tail, err)
        assert "Traceback" not in err
        if proc.returncode == 2:                    # argparse may print its usage lines first
            assert "error:" in err.strip().splitlines()[-1] and out == ""
    assert [p.returncode for p in procs] == [0, 2, 2, 2]


# ---- file readers -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bvh_text(fast_engine, tmp_path_factory):
    (motion,) = fast_engine.generate(["walk"], frames=12, steps=1)
    return write_bvh(motion, tmp_path_factory.mktemp("bvh") / "clip.bvh").read_text()


mutation = st.tuples(st.sampled_from(["replace", "delete", "insert", "truncate"]), st.integers(0, 10 ** 6),
                     st.sampled_from(["nan", "inf", "-1", "1e308", "}", "{", "JOINT", "End", "CHANNELS", "99999999",
                                      "OFFSET", "Frames:", "MOTION", "Xrotation", "Wrotation", "\0", "ROOT", "0"]))


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_bvh_files_parse_or_fail_cleanly(bvh_text, tmp_path_factory, mutations):
    INPUTS["bvh mutation"] += 1
    tokens = bvh_text.split()
    for kind, where, token in mutations:
        i = where % len(tokens)
        if kind == "replace":
            tokens[i] = token
        elif kind == "delete":
            del tokens[i]
        elif kind == "insert":
            tokens.insert(i, token)
        else:
            tokens = tokens[:i]
        tokens = tokens or ["HIERARCHY"]
    path = tmp_path_factory.mktemp("mut") / "m.bvh"
    path.write_text(" ".join(tokens))
    started = time.perf_counter()
    try:
        data = read_bvh(path)
    except BvhError:
        FOUND["bvh refused"] += 1
    else:
        FOUND["bvh parsed"] += 1
        assert np.isfinite(data.values).all() and data.positions.shape[0] == data.num_frames
    assert time.perf_counter() - started < 2.0


@pytest.fixture(scope="module")
def npz_bytes(fast_engine, tmp_path_factory):
    (motion,) = fast_engine.generate(["walk"], frames=12, steps=1)
    return motion.save(tmp_path_factory.mktemp("npz") / "clip.npz").read_bytes()


@pytest.mark.parametrize("old, new", [(b"'shape': (12, 22, 4)", b"'shape[: (12, 22, 4)"),    # the fuzzer's find
                                      (b"'shape': (12, 22, 4)", b"'shape': (12, 22, 4("),
                                      (b"'descr': '<f4'", b"'descr': '<f4 ")])
def test_an_array_header_numpy_cannot_parse_is_a_value_error(npz_bytes, tmp_path, old, new):
    """A flipped byte in a member's header made numpy's parser raise SyntaxError / TokenError, not ValueError;
    the add-on's own reader (used where motion_core is not importable) the same."""
    from addon.motion_io import _read_npz
    assert npz_bytes.count(old) >= 1
    path = tmp_path / "c.npz"
    path.write_bytes(npz_bytes.replace(old, new, 1))
    for load in (Motion.load, _read_npz):
        with pytest.raises(ValueError, match="not a readable"):
            load(path)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10 ** 7), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10 ** 7)))
def test_corrupted_motion_files_load_or_fail_with_value_error(npz_bytes, tmp_path_factory, flips, cut):
    INPUTS["npz corruption"] += 1
    data = bytearray(npz_bytes)
    for where, value in flips:
        data[where % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path_factory.mktemp("npz") / "c.npz"
    path.write_bytes(bytes(data))
    try:
        motion = Motion.load(path)
    except ValueError as exc:
        FOUND["npz refused"] += 1
        assert str(exc)
    else:
        FOUND["npz loaded"] += 1
        assert np.isfinite(motion.joints).all() and math.isfinite(motion.fps)
