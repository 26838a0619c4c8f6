"""Prompt timelines: window planning, inpainted continuation, chunked decoding, meta, validation, CLI, worker.

A tiny untrained model (`Engine.random(tiny_config())`) cannot show motion quality, so continuity is checked
structurally: each window is sampled with the previous latents as known context, later segments never change
earlier frames beyond the decoder's reach, and the root path has no jumps at the joins.
"""
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from motion_core.generation import decoding
from motion_core.generation import timeline as tl
from motion_core.generation.diffusion import Cancelled
from motion_core.engine import Engine, InputError, tiny_config
from motion_core.formats.motion import Motion
from motion_core.kinematics.motion_metrics import (foot_skating, foot_skating_speed, joint_jerk, near_joins_mask, peak_jerk,
                                        root_continuity, transition_report)
from motion_core.kinematics.skeleton import HUMANML3D

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(steps=2, guidance=1.0)   # guidance 1 skips the unconditional half: half the work


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The tiny model gains nothing from a second thread, and loses a lot when the cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def engine():
    return Engine.random(tiny_config(), seed=0)


@pytest.fixture(scope="module")
def four_segments(engine):
    segments = [("a person walks forward", 3.0), ("a person jumps", 2.0), ("a person runs", 3.0),
                ("a person waves", 2.0)]
    return segments, engine.generate_timeline(segments, seed=5, **FAST)


# ---- planning ---------------------------------------------------------------------------------------------

def test_segments_resolve_to_frames_without_cumulative_drift():
    segments = tl.check_timeline([("a", 1.26), ("b", 0.77), ("c", 2.0)], fps=20.0)
    assert [(s.start_frame, s.end_frame) for s in segments] == [(0, 25), (25, 41), (41, 81)]
    assert sum(s.frames for s in segments) == round(4.03 * 20)


def test_windows_cover_every_latent_once_and_never_cross_a_segment():
    bounds = [0, 30, 33, 150, 151]
    windows = tl.plan_windows(bounds, window=49, context=10)
    new = [i for w in windows for i in range(w.new_start, w.end)]
    assert new == list(range(151))
    for w in windows:
        assert w.length <= 49 and w.new_start - w.start == min(10, w.new_start)
        assert bounds[w.segment] <= w.new_start < w.end <= bounds[w.segment + 1]
    # Linear cost: the latents a window processes per new latent stay bounded by the window layout.
    assert sum(w.length for w in windows) <= 151 * 49 / 39 + 10 * len(bounds)


# ---- generation ---------------------------------------------------------------------------------------------

def test_timeline_length_meta_and_per_frame_segments(engine, four_segments, tmp_path):
    segments, motion = four_segments
    assert motion.num_frames == 200 and np.isfinite(motion.joints).all()
    assert motion.meta["prompt"] == " | ".join(p for p, _ in segments)
    assert motion.meta["seed"] == 5 and motion.meta["timeline_segments"] == 4
    assert motion.meta["window_frames"] == engine.max_frames and motion.meta["context_frames"] == 40
    loaded = Motion.load(motion.save(tmp_path / "timeline.npz"))  # meta survives the file round trip
    recorded = tl.timeline_segments(loaded)
    assert [(s.prompt, s.seconds) for s in recorded] == segments
    assert [(s.start_frame, s.end_frame) for s in recorded] == [(0, 60), (60, 100), (100, 160), (160, 200)]
    owners = tl.segment_index_per_frame(loaded)
    assert owners[0] == 0 and owners[59] == 0 and owners[60] == 1 and owners[199] == 3 and (owners >= 0).all()


def test_each_window_continues_from_the_previous_latents(engine, monkeypatch):
    """The core mechanism: every window but the first gets the latents already made as known context,
    and is conditioned on the prompt of the segment that owns its new latents."""
    calls, original = [], tl.sample_latents

    def spy(engine, prompts, seeds, num_frames, guidance, steps, report, should_cancel, known=None):
        out = original(engine, prompts, seeds, num_frames, guidance, steps, report, should_cancel, known=known)
        calls.append((prompts[0], num_frames, None if known is None else known.clone(), out.clone()))
        return out

    monkeypatch.setattr(tl, "sample_latents", spy)
    engine.generate_timeline([("walk", 10.0), ("jump", 1.0)], seed=1, steps=1, guidance=1.0)
    # 10 s = 50 latents: a 49-latent window, then 1 more with 10 known; then the jump's 5 with 10 known.
    assert [(p, n // 4, k is None or k.shape[1]) for p, n, k, _ in calls] == \
        [("walk", 49, True), ("walk", 11, 10), ("jump", 15, 10)]
    made = torch.cat([calls[0][3][0], calls[1][3][0, 10:]])   # latents 0..49
    torch.testing.assert_close(calls[1][2][0], made[39:49] * engine.latent_scale)
    torch.testing.assert_close(calls[2][2][0], made[40:50] * engine.latent_scale)
    torch.testing.assert_close(calls[1][3][0, :10], made[39:49])  # the context comes back unchanged


def test_later_segments_never_change_earlier_frames(engine):
    """Causality: appending a segment leaves the frames before it untouched, except the last few the decoder
    mixes with the new latents (its receptive radius)."""
    short = engine.generate_timeline([("walk", 4.0)], seed=2, **FAST)
    longer = engine.generate_timeline([("walk", 4.0), ("turn around", 2.0)], seed=2, **FAST)
    safe = 80 - 4 * decoding.decoder_radius(engine.vae)
    np.testing.assert_allclose(longer.joints[:safe], short.joints[:safe], atol=1e-5)


def test_a_one_window_timeline_is_plain_generate(engine):
    (plain,) = engine.generate(["a person waves"], frames=70, seed=9, **FAST)
    timeline = engine.generate_timeline([("a person waves", 3.5)], seed=9, **FAST)
    np.testing.assert_array_equal(timeline.joints, plain.joints)


def test_root_is_continuous_at_the_joins(four_segments):
    """Root positions come from integrating the features once over the whole take: no teleport and no
    sudden change of pace at a segment or window join compared with the frames inside segments."""
    _, motion = four_segments
    joins = [s.start_frame for s in tl.timeline_segments(motion)[1:]]
    report = transition_report(motion.joints, motion.skeleton, motion.fps, joins)
    assert report["joins"]["root_max_speed"] <= 1.5 * report["inside"]["root_max_speed"] + 0.05
    assert report["joins"]["root_max_accel"] <= 1.5 * report["inside"]["root_max_accel"] + 0.5
    step = np.linalg.norm(np.diff(motion.joints[:, 0], axis=0), axis=-1)
    assert max(step[b - 1] for b in joins) <= 2 * np.median(step) + 0.01   # metres per frame


def test_same_seed_same_timeline_other_seed_other_timeline(engine):
    segments = [("walk", 1.0), ("sit down", 1.5)]
    a = engine.generate_timeline(segments, seed=3, steps=1, guidance=1.0)
    b = engine.generate_timeline(segments, seed=3, steps=1, guidance=1.0)
    c = engine.generate_timeline(segments, seed=4, steps=1, guidance=1.0)
    np.testing.assert_array_equal(a.joints, b.joints)
    assert np.abs(a.joints - c.joints).max() > 1e-3
    assert a.meta == b.meta


def test_a_2000_frame_timeline(engine):
    segments = [("walk forward", 20.0), ("jog in a circle", 30.0), ("wave", 0.5), ("walk back", 49.5)]
    started = time.perf_counter()
    motion = engine.generate_timeline(segments, seed=0, steps=1, guidance=1.0)
    assert motion.num_frames == 2000 and np.isfinite(motion.joints).all()
    assert motion.meta["windows"] <= math.ceil(2000 / 4 / 39) + len(segments)
    assert time.perf_counter() - started < 120


def test_progress_rises_to_one_and_cancel_stops(engine):
    events = []
    engine.generate_timeline([("walk", 3.0), ("jump", 1.0)], seed=0, progress=lambda f, m: events.append(f),
                             **FAST)
    assert events == sorted(events) and events[-1] == 1.0 and len(events) > 5
    calls = []
    with pytest.raises(Cancelled):
        engine.generate_timeline([("walk", 3.0), ("jump", 1.0)], seed=0,
                                 should_cancel=lambda: calls.append(1) or len(calls) > 3, **FAST)


# ---- decoding -------------------------------------------------------------------------------------------------

def test_decoder_radius_bounds_the_reach_of_one_latent(engine):
    radius = decoding.decoder_radius(engine.vae)
    z = torch.randn(1, 60, engine.vae.config.latent_dim)
    bumped = z.clone()
    bumped[0, 30] += 3.0
    with torch.inference_mode():
        change = (engine.vae.decode(bumped) - engine.vae.decode(z)).abs().amax(dim=(0, 2))
    changed = torch.nonzero(change > 1e-6).flatten()
    assert len(changed) and changed.min() >= 4 * (30 - radius) and changed.max() < 4 * (31 + radius)


def test_chunked_decoding_equals_one_decode(engine):
    latents = torch.randn(300, engine.vae.config.latent_dim)
    chunked = decoding.decode_latents_chunked(engine, latents, 1198, chunk=37)
    whole = decoding.decode_latents(engine, latents[None], 1198)[0]
    assert chunked.shape == whole.shape == (1198, 263)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


# ---- validation --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("segments, message", [
    ([], "timeline is empty"),
    ("walk:2", "list of (prompt, seconds) pairs"),
    ([("walk",)], "must be a (prompt, seconds) pair"),
    ([(3, 1.0)], "the prompt must be a string"),
    ([("walk", 0)], "seconds must be positive"),
    ([("walk", -2.0)], "seconds must be positive"),
    ([("walk", float("nan"))], "finite number"),
    ([("walk", float("inf"))], "finite number"),
    ([("walk", "2")], "finite number"),
    ([("walk", 2.0), ("hop", 0.2)], "segment 2 ('hop') lasts 0.2 s; the minimum is 0.5 s"),
    ([("walk", 1.0)] * 1001, "at most 1000 are supported"),
    ([("walk", 3000.0), ("run", 700.0)], "at most 3600 s"),
    # the rules of plain prompts (issue 24 #2): an empty or whitespace prompt, or a pasted document
    ([("walk", 1.0), ("   ", 1.0)], "segment 2's prompt is empty"),
    ([("walk", 1.0), ("a" * 100_000, 1.0)], "segment 2's prompt is 100000 characters long; the limit is 1000"),
])
def test_bad_timelines_are_refused_clearly(engine, segments, message):
    with pytest.raises(InputError) as info:
        engine.generate_timeline(segments)
    assert message in str(info.value)


def test_bad_sampling_options_are_refused(engine):
    with pytest.raises(InputError, match="guidance"):
        engine.generate_timeline([("walk", 1.0)], guidance=float("nan"))
    with pytest.raises(InputError, match="steps"):
        engine.generate_timeline([("walk", 1.0)], steps=0)
    with pytest.raises(InputError, match="seed"):
        engine.generate_timeline([("walk", 1.0)], seed=-1)


# ---- metrics ------------------------------------------------------------------------------------------------------

def _still_pose(frames):
    rest = HUMANML3D.rest_positions()
    return np.repeat((rest - [0.0, rest[:, 1].min(), 0.0])[None], frames, axis=0)


def test_jerk_is_zero_for_constant_acceleration_and_finds_a_kink():
    t = np.arange(30)[:, None, None] / 20.0
    joints = _still_pose(30) + 0.5 * t ** 2 * np.array([1.0, 0.0, 0.0])
    assert joint_jerk(joints, 20.0).max() < 1e-6
    joints[15:, 3] += [0.0, 0.0, 0.02]   # one joint steps 2 cm in one frame: third difference h, -2h, h
    assert peak_jerk(joints, 20.0) == pytest.approx(2 * 0.02 * 20 ** 3, rel=1e-6)
    mask = np.zeros(30, bool)
    mask[:5] = True
    assert peak_jerk(joints, 20.0, mask) < 1e-6


def test_foot_skating_counts_only_planted_feet():
    joints = _still_pose(20)
    assert foot_skating_speed(joints, HUMANML3D, 20.0).max() == 0.0
    sliding = joints + (np.arange(20) * 0.01)[:, None, None] * np.array([1.0, 0.0, 0.0])  # 0.2 m/s, on the floor
    np.testing.assert_allclose(foot_skating_speed(sliding, HUMANML3D, 20.0), 0.2)
    assert foot_skating(sliding, HUMANML3D, 20.0)["mean"] == pytest.approx(0.2)
    assert foot_skating(sliding, HUMANML3D, 20.0)["skating_share"] == 0.0     # 0.2 m/s is under SKATING_SPEED
    fast = joints + (np.arange(20) * 0.04)[:, None, None] * np.array([1.0, 0.0, 0.0])   # 0.8 m/s: skating
    assert foot_skating(fast, HUMANML3D, 20.0)["skating_share"] == 1.0
    half = joints + (np.minimum(np.arange(20), 10) * 0.04)[:, None, None] * np.array([1.0, 0.0, 0.0])
    assert foot_skating(half, HUMANML3D, 20.0)["skating_share"] == pytest.approx(10 / 19)
    flying = sliding.copy()
    flying[:, :, 1] += np.where(np.arange(20) >= 10, 0.5, 0.0)[:, None]  # both feet leave the floor at 10
    speed = foot_skating_speed(flying, HUMANML3D, 20.0)
    assert speed[:9].min() == pytest.approx(0.2) and speed[10:].max() == 0.0


def test_root_continuity_sees_a_teleport_and_the_report_splits_joins():
    joints = _still_pose(40) + (np.arange(40) * 0.01)[:, None, None] * np.array([0.0, 0.0, 1.0])
    smooth = root_continuity(joints, 20.0)
    assert smooth["max_speed"] == pytest.approx(0.2) and smooth["max_accel"] < 1e-9
    joints[20:] += [1.0, 0.0, 0.0]
    assert root_continuity(joints, 20.0)["max_speed"] > 19.0
    assert near_joins_mask(40, [20], 3).nonzero()[0].tolist() == [17, 18, 19, 20, 21, 22]
    report = transition_report(joints, HUMANML3D, 20.0, [20], radius_seconds=0.25)
    assert report["joins"]["root_max_speed"] > 19.0 and report["inside"]["root_max_speed"] < 0.3


# ---- CLI and worker -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(engine, tmp_path_factory):
    return engine.save(tmp_path_factory.mktemp("model") / "tiny")


def run_cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_cli_text_seconds_prompts_make_one_timeline(checkpoint, tmp_path):
    result = run_cli("generate", "--prompt", "walks forward: 1.5", "--prompt", "says: hi:1", "--steps", "1",
                     "--guidance", "1", "--seed", "4", "--out", tmp_path, "--checkpoint", checkpoint,
                     "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    motion = Motion.load(path)
    assert motion.num_frames == 50 and motion.meta["seed"] == 4
    assert [(s.prompt, s.seconds) for s in tl.timeline_segments(motion)] == [("walks forward", 1.5),
                                                                             ("says: hi", 1.0)]


@pytest.mark.parametrize("prompts, extra, message", [
    (["walks:2", "jumps"], [], "'jumps' has no :SECONDS"),
    (["walks:2", "waves at 10:30"], [], "'waves at 10:30' has no :SECONDS"),   # a clock time is no length
    (["walks:2", "jumps:nan"], [], "finite number"),
    (["walks:2", "jumps:-1"], [], "seconds must be positive"),
    (["walks:2"], ["--seconds", "3"], "--seconds does not apply to a timeline"),
    (["walks:2"], ["--loop"], "--loop does not apply to a timeline"),
    ([":4"], [], "segment 1's prompt is empty"),
    (["a" * 100_000 + ":1"], [], "the limit is 1000"),
])
def test_cli_bad_timelines_exit_2(checkpoint, tmp_path, capsys, prompts, extra, message):
    from motion_core.interfaces.cli import main  # in-process: the subprocess path is covered above
    args = [a for p in prompts for a in ("--prompt", p)]
    code = main(["generate", *args, *extra, "--out", str(tmp_path), "--checkpoint", str(checkpoint),
                 "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_a_clock_time_in_a_prompt_is_not_a_length():
    from motion_core.interfaces.cli import parse_timeline
    assert parse_timeline(["a person waves at 10:30"]) is None and parse_timeline(["holds it for 1:30"]) is None
    assert parse_timeline(["walks :2", "says: hi:1"]) == [("walks", 2.0), ("says: hi", 1.0)]


def test_cli_help_documents_the_timeline_form(capsys):
    from motion_core.interfaces.cli import main
    with pytest.raises(SystemExit) as info:
        main(["generate", "--help"])
    assert info.value.code == 0 and "TEXT:SECONDS" in capsys.readouterr().out


def _run_worker_job(engine, request: dict) -> dict:
    from motion_core.interfaces.worker import Worker
    out = io.StringIO()
    worker = Worker(out, engine_loader=lambda checkpoint, device: engine, log=io.StringIO())
    worker.handle_line(json.dumps(request))
    deadline = time.monotonic() + 120
    while worker._busy() and time.monotonic() < deadline:
        time.sleep(0.02)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert events, "the worker sent nothing"
    return events


def test_worker_timeline_method_writes_one_motion(engine, tmp_path):
    events = _run_worker_job(engine, {"id": "t1", "method": "timeline", "params": {
        "segments": [["walk", 1.0], {"prompt": "jump", "seconds": 1.0}], "seed": 2, "steps": 1, "guidance": 1.0,
        "out_dir": str(tmp_path)}})
    final = events[-1]
    assert final["event"] == "result", final
    assert any(e["event"] == "progress" for e in events[:-1])
    (path,) = final["motions"]
    motion = Motion.load(path)
    assert motion.num_frames == 40 and len(tl.timeline_segments(motion)) == 2


@pytest.mark.parametrize("params, message", [
    ({}, "params.segments"),
    ({"segments": ["walk:2"]}, "each timeline segment"),
    ({"segments": [["walk", 0.1]]}, "minimum is 0.5 s"),
    ({"segments": [["walk", 1.0], ["", 1.0]]}, "segment 2's prompt is empty"),
])
def test_worker_timeline_bad_segments_are_invalid_params(engine, params, message):
    events = _run_worker_job(engine, {"id": "t2", "method": "timeline", "params": params})
    final = events[-1]
    assert final["event"] == "error" and final["error"]["type"] == "invalid_params"
    assert message in final["error"]["message"]
