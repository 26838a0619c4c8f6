"""The `motion-core` command line: generate motions to files, run the add-on's worker, describe the install.

Exit codes: 0 success, 2 bad arguments (argparse errors, inputs the engine refuses, a --checkpoint that is missing
or malformed, an --out that cannot be written), 1 any other failure, 143 SIGTERM.
Failures print one line to stderr; `--debug` adds the traceback. Written file paths go to stdout, one per line,
so scripts can consume them; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
MAX_MOTIONS = 256   # motions per generate run (prompts x takes), as the worker allows prompts per request


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


# motion_core.generation.diffusion.SAMPLERS' names, spelled out so that parsing arguments needs no torch (a test ties them)
SAMPLER_NAMES = ("ddim", "dpm_solver_pp")


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="model folder (config.json + model.safetensors); default: the bundled model")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu")
    parser.add_argument("--literal", action="store_true",
                        help="give the model the prompt's words as typed: do not read words it never learned as "
                             "the trained words that mean the same ('leaps' as 'jumps')")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motion-core", description="Text-to-motion for animators.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="generate motions from text prompts and write them to files")
    gen.add_argument("text", nargs="*", metavar="PROMPT", help="prompt(s), same as --prompt")
    gen.add_argument("--prompt", action="append", default=[], metavar="TEXT[:SECONDS]",
                     help="what the character does; repeat for several motions. Give every prompt a length, "
                          "e.g. --prompt 'walks forward:4' --prompt 'jumps:2', to make ONE continuous motion "
                          "that plays them in order (a timeline, any length up to an hour)")
    gen.add_argument("--seconds", type=_finite_float, default=None,
                     help="length of each motion (default: the model's estimate from the prompt (4 s if the model has "
                          "no length predictor); not used by a TEXT:SECONDS timeline)")
    gen.add_argument("--seed", type=int, default=0,
                     help="random seed; motion k of the run uses seed+k, so any single one can be reproduced")
    gen.add_argument("--steps", type=_positive_int, default=None,
                     help="denoising steps (1-1000; default: the model's, 10 for the bundled one)")
    gen.add_argument("--sampler", choices=SAMPLER_NAMES, default=None,
                     help="ddim or dpm_solver_pp (default: the model's, ddim for the bundled one); DPM-Solver++ with "
                          "--steps 5 is about twice as fast as the default 10 DDIM steps, at a small quality cost "
                          "(README, 'Speed settings')")
    gen.add_argument("--guidance", type=_finite_float, default=None,
                     help="classifier-free guidance scale (0-30; default: the model's, 7.5 for the bundled one)")
    gen.add_argument("--takes", type=_positive_int, default=1,
                     help=f"variations per prompt (at most {MAX_MOTIONS} motions per run in all)")
    gen.add_argument("--one-at-a-time", action="store_true",
                     help="sample each motion by itself rather than in batches: on the CPU, take k is then "
                          "bit-identical to generating it alone with --seed SEED+k (batched, it differs by "
                          "rounding, tens of micrometres), at a speed cost (README)")
    gen.add_argument("--out", type=Path, default=Path("motion_out"), metavar="DIR|FILE",
                     help="output folder, or a file ending in .bvh or .npz when the run makes one motion")
    gen.add_argument("--format", choices=("npz", "bvh", "both"), help="file format(s) to write (default npz)")
    gen.add_argument("--no-foot-cleanup", dest="foot_cleanup", action="store_false",
                     help="keep the model's feet as decoded (by default planted feet are locked with leg IK and "
                          "kept above the ground)")
    gen.add_argument("--no-smooth-joins", dest="smooth_joins", action="store_false",
                     help="timelines: keep the joins between segments as sampled (by default the step into each "
                          "join is smoothed so it does not pop)")
    gen.add_argument("--whole-prompt", dest="sequences", action="store_false",
                     help="sample 'jumps, then waves' as one prompt (by default: a timeline of its clauses)")
    gen.add_argument("--loop", action="store_true",
                     help="make each take seamless on repeat (walk cycles, idles, dances; not for timelines)")
    gen.add_argument("--path", type=Path, default=None, metavar="FILE.json",
                     help='root path to follow: {"waypoints": [{"frame" or "time", "x", "z"}, ...]} or {"curve": '
                          '[[x, z], ...]} in metres (start at the origin facing +z; a timeline\'s frames count from its '
                          'start; README)')
    gen.add_argument("--pins", type=Path, default=None, metavar="FILE.json",
                     help='key poses: [{"frame": F, "joints": [[x, y, z] x 22]} or {"frame": F, "effectors": '
                          '{"left_wrist": [x, y, z]}}, ...]')
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    gen.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show tracebacks on errors")
    _add_model_args(gen)

    serve = sub.add_parser("serve", help="run the JSON-lines worker the Blender add-on talks to")
    serve.add_argument("--stdio", action="store_true", required=True, help="speak the protocol on stdin/stdout")
    serve.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show tracebacks on errors")

    info = sub.add_parser("info", help="show the model, the device and the available backends")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show tracebacks on errors")
    _add_model_args(info)

    vocab = sub.add_parser("vocabulary", help="list the actions the model was trained on; check prompts against them")
    vocab.add_argument("prompts", nargs="*", metavar="PROMPT",
                       help="say for each whether the model knows its words (the warning generate would give)")
    vocab.add_argument("--words", action="store_true", help="also list every word of the training captions")
    vocab.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
    _add_model_args(vocab)
    return parser


# -- generate ------------------------------------------------------------------------------------------------

def _stderr_progress(enabled: bool):
    """A progress callback drawing one updating line on stderr (a terminal) or a line per 10% (a pipe)."""
    last = [-1]
    tty = sys.stderr.isatty()

    def report(fraction: float, message: str = "") -> None:
        percent = int(round(100 * fraction))
        if not enabled or (not tty and percent // 10 == last[0] // 10 and percent != 100):
            return
        last[0] = percent
        end = "" if tty and percent < 100 else "\n"
        print(f"\r[{percent:3d}%] {message}"[: 120], end=end, file=sys.stderr, flush=True)
    return report


def _file_stem(prompt: str, seed: int | None, index: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", prompt.lower()).strip("_")[:40].rstrip("_") or "motion"
    return f"{index:02d}_{slug}_seed{seed}"


# "TEXT:SECONDS": a trailing colon and number (signs, NaN and inf included, so the engine can say why they
# are wrong instead of the prompt silently becoming an untimed one); not a clock time ("waves at 10:30").
_TIMED_PROMPT = re.compile(r"^(?P<text>.*(?<!\d)):\s*(?P<seconds>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
                           r"|[-+]?nan|[-+]?inf)\s*$", re.IGNORECASE | re.DOTALL)


def parse_timeline(prompts: Sequence[str]) -> list[tuple[str, float]] | None:
    """``["walks:4", "jumps:2"]`` -> ``[("walks", 4.0), ("jumps", 2.0)]``; None when no prompt has a length.

    Mixing timed and untimed prompts is refused (InputError): it is ambiguous whether a batch or a timeline
    was meant. A prompt whose own text contains a colon still works: only a trailing ``:NUMBER`` counts.
    """
    from motion_core.engine import InputError
    matches = [_TIMED_PROMPT.match(p) for p in prompts]
    if not any(matches):
        return None
    untimed = [p for p, m in zip(prompts, matches) if m is None]
    if untimed:
        raise InputError(f"give every --prompt as TEXT:SECONDS for a timeline, or none for separate motions; "
                         f"{untimed[0]!r} has no :SECONDS")
    return [(m["text"].strip(), float(m["seconds"])) for m in matches]


def _run_generate(args: argparse.Namespace) -> int:
    from motion_core.formats.atomic_file import remove_stale_partials
    from motion_core.engine import Engine, InputError, check_seeds

    args.prompt = list(args.text) + list(args.prompt)
    if not args.prompt:
        raise InputError("give at least one prompt: motion-core generate \"a person waves\" (or --prompt TEXT)")
    timeline = parse_timeline(args.prompt)
    out_file = _single_output_file(args)
    if timeline is not None and (args.seconds is not None or args.loop):
        raise InputError("--seconds does not apply to a timeline: each prompt's TEXT:SECONDS sets its length"
                         if args.seconds is not None else "--loop does not apply to a timeline: a loop is one take")
    count = _motion_count(args)
    if count > MAX_MOTIONS:   # hours of work with nothing written until the end: surely a typo
        raise InputError(f"this run would make {count} motions; at most {MAX_MOTIONS} per run (fewer --takes or "
                         "prompts; run again with another --seed for more)")
    check_seeds(args.seed, count)   # before generating, not at the last timeline take
    controls = {"path": _read_json(args.path, "--path"), "pins": _read_json(args.pins, "--pins")}
    folder = args.out if out_file is None else out_file.parent
    _check_destination(folder, args.out, out_file)
    # A run killed while writing left its work in progress there; its process is gone, so it can go.
    remove_stale_partials(folder)
    started = time.perf_counter()
    engine = Engine.load(args.checkpoint, device=args.device, read_words=not args.literal)
    if args.sampler is not None:
        engine.sampler = args.sampler
    if args.one_at_a_time:   # batch kernels sum in another order than single ones: exact only one by one
        engine.max_batch = 1
    if timeline is not None:  # take k of a timeline uses seed + k, like take k of a prompt batch
        motions = [engine.generate_timeline(timeline, seed=args.seed + take, guidance=args.guidance,
                                            steps=args.steps, progress=_stderr_progress(not args.quiet),
                                            foot_cleanup=args.foot_cleanup, smooth_joins=args.smooth_joins,
                                            **controls)
                   for take in range(args.takes)]
    else:
        prompts = [p for p in args.prompt for _ in range(args.takes)]
        motions = engine.generate(prompts, seconds=args.seconds, seed=args.seed, guidance=args.guidance,
                                  steps=args.steps, progress=_stderr_progress(not args.quiet),
                                  foot_cleanup=args.foot_cleanup, loop=args.loop, sequences=args.sequences, **controls)
    _print_warnings(motions, readings=not args.quiet)
    if out_file is not None:
        _write_single(motions[0], out_file)
    else:
        _write_all(motions, args.out, args.format or "npz")
    if not args.quiet:
        print(f"{len(motions)} motion(s) in {time.perf_counter() - started:.1f}s on {engine.device}",
              file=sys.stderr)
    return EXIT_OK


def _read_json(path: Path | None, flag: str):
    """The JSON in `path` (None: None); InputError (exit 2) when it cannot be read or parsed."""
    from motion_core.engine import InputError
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{flag} {path}: {exc}") from None


def _print_warnings(motions, readings: bool = True) -> None:
    """Each distinct meta["warnings"] once, on stderr (also with --quiet: they say the result may be wrong);
    with `readings`, how each prompt was played ("played in order as ...") and read ("read 'leaps' as 'jumps'")."""
    seen = set()
    for motion in motions:
        prompt = motion.meta.get("prompt", "")
        for kind, key in (("note", "played_as"), ("note", "read_as"), ("warning", "warnings")):
            text = motion.meta.get(key) if readings or kind == "warning" else None
            if text and (kind, text) not in seen:
                seen.add((kind, text))
                print(f"{kind}: {prompt!r}: {text}", file=sys.stderr)


_FILE_SUFFIXES = (".bvh", ".npz")


def _motion_count(args: argparse.Namespace) -> int:
    """Motions the run makes: one per take of a timeline, else one per prompt and take."""
    return args.takes * (1 if parse_timeline(args.prompt) is not None else len(args.prompt))


def _single_output_file(args: argparse.Namespace) -> Path | None:
    """`--out walk.bvh` names the one file to write; refuse it when the run makes several motions."""
    from motion_core.engine import InputError

    if args.out.suffix.lower() not in _FILE_SUFFIXES:
        return None
    count = _motion_count(args)
    if count != 1:
        raise InputError(f"--out {args.out} names one file but this run makes {count} motions; "
                         "give a folder instead")
    if args.format not in (None, args.out.suffix.lower()[1:]):   # --out walk.npz --format bvh: which one?
        raise InputError(f"--out {args.out} names one {args.out.suffix} file but --format is {args.format}")
    return args.out


def _check_destination(folder: Path, out: Path, out_file: Path | None) -> None:
    """Refuse an --out that cannot be written (InputError: exit 2) before minutes of generating, not after.

    The folder is created and a probe file written in it; a path component that is a file is named as such."""
    from motion_core.formats.atomic_file import file_in_the_way, probe_writable
    from motion_core.engine import InputError

    blocker = file_in_the_way(folder)
    if blocker is not None:
        where = "" if blocker == out else f" in --out {out}"
        raise InputError(f"{blocker}{where} exists and is not a folder; give a folder (or a .npz/.bvh file "
                         "path in one)")
    if out_file is not None and out_file.is_dir():
        raise InputError(f"--out {out_file} is a folder, not a file: drop the .npz/.bvh ending or give another name")
    try:
        probe_writable(folder)
    except OSError as exc:
        raise InputError(f"cannot write into {folder} (--out {out}): {exc.strerror or exc}") from None


def _write_single(motion, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    (motion.to_bvh if path.suffix.lower() == ".bvh" else motion.save)(path)
    print(path)


def _write_all(motions, out: Path, fmt: str) -> None:
    """Every file of the run, or (on a failure or a kill while writing) none: they are written into a
    `.partial_*` folder in `out` first and moved into `out` together at the end."""
    from motion_core.formats.atomic_file import publish_files

    out.mkdir(parents=True, exist_ok=True)
    suffixes = {"npz": [".npz"], "bvh": [".bvh"], "both": [".npz", ".bvh"]}[fmt]
    written = []
    with publish_files(out) as staging:
        for index, motion in enumerate(motions):
            stem = _file_stem(motion.meta.get("prompt", ""), motion.meta.get("seed"), index)
            for suffix in suffixes:
                name = stem + suffix
                if suffix == ".npz":
                    motion.save(staging / name)
                else:
                    motion.to_bvh(staging / name)
                written.append(out / name)
    for path in written:
        print(path)


# -- info ------------------------------------------------------------------------------------------------------

def _info(args: argparse.Namespace) -> dict:
    import torch
    from motion_core import __version__
    from motion_core.runtime.device import available_backends, best_device
    from motion_core.engine import Engine, ModelNotFoundError

    report = {"motion_core": __version__, "torch": torch.__version__, "backends": available_backends()}
    device = best_device(args.device)
    report["device"] = str(device)
    # Which selective-scan implementation the Mamba blocks will use there (fused CUDA kernels or pure torch).
    from motion_core.ssm.backends import available_backends as ssm_backends, resolve_backend
    report["ssm_backends"] = ssm_backends()
    try:
        report["ssm_backend"] = resolve_backend(device)
    except (RuntimeError, ValueError) as exc:  # e.g. $MOTION_SSM_BACKEND=cuda on a CPU machine
        report["ssm_backend"] = f"unusable ({exc})"
    try:
        report["model"] = Engine.load(args.checkpoint, device=args.device).describe()
    except ModelNotFoundError as exc:
        report["model"] = None
        report["model_error"] = str(exc)
    return report


def _print_info(report: dict) -> None:
    print(f"motion-core {report['motion_core']} (torch {report['torch']})")
    backends = ", ".join(f"{k}={'yes' if ok else 'no'}" for k, ok in report["backends"].items())
    print(f"backends: {backends}; selective scan: {report['ssm_backend']} (available: "
          f"{', '.join(report['ssm_backends'])})")
    print(f"device: {report['device']}")
    model = report.get("model")
    if model is None:
        print(f"model: none ({report['model_error']})")
        return
    for key, value in model.items():
        print(f"model.{key}: {value}")


def _run_info(args: argparse.Namespace) -> int:
    report = _info(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_info(report)
    return EXIT_OK


# -- vocabulary ---------------------------------------------------------------------------------------------------

def _run_vocabulary(args: argparse.Namespace) -> int:
    from motion_core.engine import Engine
    from motion_core.generation.meta import describe_reading, vocabulary_warning
    from motion_core.text.vocabulary import action_label
    engine = Engine.load(args.checkpoint, device=args.device, read_words=not args.literal)
    check = engine.vocabulary
    if check is None:
        print("this checkpoint records no training vocabulary (exported before issue 21: "
              "python -m train.vocabulary can add it)")
        return EXIT_OK
    actions = check.known_actions()
    print(f"{len(actions)} actions: " + ", ".join(action_label(a) for a in actions))
    if args.words:
        print(f"{len(check.words)} words: " + " ".join(check.words))
    for prompt in args.prompts:
        reading = describe_reading(engine.read(prompt).read_as)
        verdict = vocabulary_warning(engine, prompt) or ("ok: every word is known" if not reading else "ok")
        print(f"{prompt!r}: " + "; ".join(t for t in (reading, verdict) if t))
    return EXIT_OK


# -- entry ------------------------------------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        return _run_generate(args)
    if args.command == "serve":
        from motion_core.interfaces.worker import serve_stdio
        return serve_stdio()
    if args.command == "vocabulary":
        return _run_vocabulary(args)
    return _run_info(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on bad arguments
    from motion_core.interfaces.worker import raise_terminated_on_sigterm
    previous = raise_terminated_on_sigterm()
    try:
        return _run_reporting_errors(args)
    finally:
        if previous is not None:   # a caller running main() in-process gets its own handler back
            signal.signal(signal.SIGTERM, previous)


def _run_reporting_errors(args: argparse.Namespace) -> int:
    from motion_core.formats.checkpoint import CheckpointError
    from motion_core.engine import InputError, ModelNotFoundError
    from motion_core.runtime.device import DeviceError
    from motion_core.interfaces.worker import Terminated
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("motion-core: interrupted", file=sys.stderr)
        return 130
    except Terminated:   # raised by SIGTERM, so that the files being written are cleaned up on the way out
        print("motion-core: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except (InputError, DeviceError) as exc:
        # Inputs the engine refuses (too long, bad guidance, unknown device...) are usage errors, like argparse's.
        return _fail(args, exc, EXIT_USAGE)
    except (ModelNotFoundError, CheckpointError) as exc:
        # A --checkpoint that is missing or malformed is bad input too; a missing bundled model is a broken install.
        return _fail(args, exc, EXIT_USAGE if getattr(args, "checkpoint", None) is not None else EXIT_RUNTIME)
    except Exception as exc:
        return _fail(args, exc, EXIT_RUNTIME)


def _fail(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    if args.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"motion-core {args.command}: error: {message}", file=sys.stderr)
    return code
