"""Benchmark: neuroit.models.extract_features (images on disk → cached features) vs a bare torch forward.

For each model, in the same run and on the same images:

- bare:  ``model(x)`` over ready-made batches of the same images, already decoded, preprocessed and on
  the device (``torch.inference_mode``; on CUDA the model in ``--dtype`` and channels-last) — the rate
  of a plain forward loop, not counting any image reading;
- e2e:   ``extract_features(spec, paths, cache_dir=<fresh>, decode=--decode)``: reading and hashing the
  files in DataLoader workers, decoding + preprocessing (default ``decode="auto"``: nvJPEG + torch resize
  on the GPU for JPEGs on CUDA, PIL in the workers otherwise), the forward to the penultimate layer,
  writing the cache. The decode path used is printed.

Prints images/s of both (best of ``--repeats`` alternating runs: the machine may be shared) and the
ratio e2e/bare (CPU target: overhead < 10%, i.e. ratio > 0.90;
CUDA target: ratio ≥ 0.5). Synthetic images are written to a temporary folder by this script.

CPU here:   python benchmarks/bench_features.py
CUDA:       python benchmarks/bench_features.py --device cuda --dtype bf16 --batch-size 256 \\
                --models resnet50,efficientnet_lite0,crossvit_18_240
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _write_image(args):
    path, seed, size, quality = args
    from PIL import Image

    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    image = np.asarray(coarse, dtype=np.int16) + rng.integers(-12, 13, (size, size, 3))
    image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if path.endswith(".jpg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    return path


def write_images(folder: Path, n: int, *, size: int, fmt: str, workers: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(folder / f"im{i:06d}.{fmt}"), i, size, 90) for i in range(n)]
    if workers > 1 and n > 64:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(_write_image, jobs, chunksize=64))
    return [_write_image(j) for j in jobs]


def prepare_batches(paths, preprocess, *, device, dtype, batch_size, n_batches, channels_last, torch):
    """The first images, decoded, preprocessed and normalised exactly as extract_features does, on the device."""
    from neuroit.models._data import load_image, normalize_batch

    batches = []
    for b in range(n_batches):
        chunk = paths[b * batch_size:(b + 1) * batch_size]
        if len(chunk) < batch_size:
            break
        uint8 = torch.stack([load_image(p, preprocess) for p in chunk])
        batches.append(normalize_batch(uint8, preprocess, device=device, dtype=dtype, channels_last=channels_last))
    return batches


def check_device_decode(module, paths, preprocess, *, device, dtype, channels_last, torch) -> str:
    """GPU-decoded vs PIL-decoded pixels and features of the first 64 images (one line of text)."""
    from neuroit.models._data import load_image, normalize_batch
    from neuroit.models._decode import decode_batch

    paths = paths[:64]
    pil = torch.stack([load_image(p, preprocess) for p in paths]).to(device).float()
    data = [torch.from_numpy(np.fromfile(p, dtype=np.uint8)) for p in paths]
    gpu = decode_batch(data, preprocess, device=device)
    diff = (gpu - pil).abs()
    with torch.inference_mode():
        a, b = (module(normalize_batch(x, preprocess, device=device, dtype=dtype, channels_last=channels_last))
                .float().flatten(1).cpu().numpy() for x in (pil, gpu))
    corr = min(np.corrcoef(u, v)[0, 1] for u, v in zip(a, b))
    return (f"device decode vs PIL on {len(paths)} images: pixel mean |diff| {diff.mean().item():.3f} "
            f"(max per image {diff.mean(dim=(1, 2, 3)).max().item():.3f}), min output correlation {corr:.5f}")


def bare_rate(module, batches, *, device, n_images, torch) -> float:
    """Images/s of a plain ``module(x)`` loop over ready-made batches of the same images (cycled)."""
    batch_size = len(batches[0])
    n_batches = max(2, -(-n_images // batch_size))
    with torch.inference_mode():
        for x in batches[:2]:
            module(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(n_batches):
            module(batches[i % len(batches)])
        if device.type == "cuda":
            torch.cuda.synchronize()
        return n_batches * batch_size / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--batch-size", type=int, default=None, help="default 16 on CPU, 256 on CUDA")
    parser.add_argument("--models", default="efficientnet_lite0,resnet50")
    parser.add_argument("--n-images", type=int, default=None, help="default 48 on CPU, 32768 on CUDA")
    parser.add_argument("--image-size", type=int, default=256, help="side of the square images written")
    parser.add_argument("--format", default=None, choices=["png", "jpg"], help="default png on CPU, jpg on CUDA")
    parser.add_argument("--repeats", type=int, default=None, help="best of N (default 5 on CPU, 2 on CUDA)")
    parser.add_argument("--decode", default="auto", choices=["auto", "cpu", "gpu"],
                        help="extract_features' decode path for the e2e run (default auto)")
    parser.add_argument("--num-workers", type=int, default=None, help="DataLoader workers (default: automatic)")
    parser.add_argument("--workdir", default=None, help="where to write images and caches (default: a temp dir)")
    args = parser.parse_args(argv)

    import torch

    from neuroit.models import get_model
    from neuroit.models.features import _extract

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    batch_size = args.batch_size or (256 if cuda else 16)
    n_images = args.n_images or (32768 if cuda else 48)
    fmt = args.format or ("jpg" if cuda else "png")
    repeats = args.repeats or (2 if cuda else 5)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    if cuda:
        torch.backends.cudnn.benchmark = True  # for the bare forward too (extract_features sets it itself)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="neuroit-bench-"))
    print(f"device={device} ({torch.cuda.get_device_name(device) if cuda else f'{os.cpu_count()} CPUs'}) "
          f"dtype={args.dtype} batch={batch_size} images={n_images} {args.image_size}px {fmt} "
          f"torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    t0 = time.perf_counter()
    paths = write_images(workdir / "images", n_images, size=args.image_size, fmt=fmt,
                         workers=min(16, os.cpu_count() or 1))
    print(f"wrote {len(paths)} images in {time.perf_counter() - t0:.1f} s", flush=True)

    rows = []
    try:
        for name in [m.strip() for m in args.models.split(",") if m.strip()]:
            try:
                spec = get_model(name, weights=None if name == "efficientnet_lite0" else "random")
            except ImportError as err:  # the packaged lite0 weights are not installed: same speed with random ones
                print(f"{name}: {err}; using random weights", flush=True)
                spec = get_model(name, weights="random")
            size = spec.preprocess["input_size"][1]
            module = spec.module.to(device=device, dtype=dtype)
            channels_last = cuda and any(isinstance(m, torch.nn.Conv2d) for m in module.modules())
            if channels_last:
                module = module.to(memory_format=torch.channels_last)
            batches = prepare_batches(paths, spec.preprocess, device=device, dtype=dtype, batch_size=batch_size,
                                      n_batches=4, channels_last=channels_last, torch=torch)
            spec.module = module  # extract_features then uses it as is (same device, dtype, layout)
            kw = dict(layer=None, batch_size=batch_size, device=device, dtype=dtype, progress=False,
                      num_workers=args.num_workers, weights=None, preprocess=None, stimulus_ids=None,
                      decode=args.decode)
            if cuda:  # warm-up: CUDA context, cuDNN autotuning, worker start-up code paths
                _, _, _, warm = _extract(spec, paths[:2 * batch_size], cache_dir=None, **kw)
                if warm["decode"] != "pil":
                    print(f"{name}: " + check_device_decode(module, paths, spec.preprocess, device=device, dtype=dtype,
                                                            channels_last=channels_last, torch=torch), flush=True)
            bare, e2e = [], []
            for r in range(repeats):
                bare.append(bare_rate(module, batches, device=device, n_images=n_images, torch=torch))
                cache = workdir / f"cache-{name}-{r}"
                start = time.perf_counter()
                ids, out, _, attrs = _extract(spec, paths, cache_dir=cache, **kw)
                e2e.append(len(paths) / (time.perf_counter() - start))
                assert out.shape[0] == len(paths) and attrs["n_from_cache"] == 0
                shutil.rmtree(cache, ignore_errors=True)
            ratios = sorted(e / b for e, b in zip(e2e, bare))
            median = ratios[len(ratios) // 2]
            rows.append((name, size, out.shape[1], max(bare), max(e2e), median, attrs["decode"]))
            print(f"{name:>20s} {size}px {out.shape[1]:>5d} units: bare forward {max(bare):9.1f} img/s | "
                  f"decode {attrs['decode']} | "
                  f"extract_features e2e {max(e2e):9.1f} img/s | best/best {max(e2e) / max(bare):.3f} | "
                  f"median of {repeats} paired ratios {median:.3f}", flush=True)
            del spec, module, batches
            if cuda:
                torch.cuda.empty_cache()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    target = 0.5 if cuda else 0.9
    print(f"\n| model | input | decode | bare forward img/s | extract_features img/s | e2e/bare, best of {repeats} "
          f"(target ≥ {target}) | median paired ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, size, units, bare, e2e, median, decode in rows:
        print(f"| {name} | {size}px | {decode} | {bare:.1f} | {e2e:.1f} | {e2e / bare:.3f} | {median:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
