"""extract_features: one layer's activations of a network for a set of images, as an xarray.

Images stream from disk through DataLoader workers, which read each file once (hashing it for
the cache) and either decode + resize + crop it with PIL (``decode="cpu"``) or pass the bytes on
for batched decoding and resizing on the CUDA device (``decode="gpu"``, :mod:`._decode`); batches
are normalised on the model's device, and only the requested layer is kept: a forward hook grabs
its output and stops the forward pass there. timm models without ``layer`` give their pre-logits
features (``forward_head(pre_logits=True)``).
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os

import sys

import numpy as np

from neuroit.errors import NeuroitError
from neuroit.models._deps import import_optional

__all__ = ["extract_features"]

log = logging.getLogger(__name__)

_DTYPES = {None: "float32", "float32": "float32", "fp32": "float32", "float": "float32",
           "float16": "float16", "fp16": "float16", "half": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


#: copy features back to the host every N batches (fewer device synchronisations on GPUs)
_SYNC_EVERY = {"cuda": 16}


class _StopForward(Exception):
    """Raised by the layer hook once it has the layer's output: the rest of the network is skipped."""


def _dtype_name(dtype) -> str:
    torch = import_optional("torch")
    if isinstance(dtype, torch.dtype):
        dtype = str(dtype).replace("torch.", "")
    if dtype not in _DTYPES:
        raise NeuroitError(f"The 'dtype' parameter of extract_features must be one of None, 'fp32', 'fp16', 'bf16' "
                           f"(or a torch dtype). Got {dtype!r} instead.")
    return _DTYPES[dtype]


def _as_images(images, stimulus_ids):
    """(stimulus ids, sources: paths or arrays, table or None) from the accepted ``images`` forms."""
    table = None
    pd = sys.modules.get("pandas")  # a stimulus table can only exist if pandas is loaded
    if pd is not None and isinstance(images, pd.DataFrame):
        path_col = "image_path" if "image_path" in images.columns else "image_file" if "image_file" in images else None
        if path_col is None or "stimulus_id" not in images.columns:
            raise NeuroitError("The 'images' table must have columns 'stimulus_id' and 'image_path' "
                               f"(a stimulus table); got {list(images.columns)}.")
        table = images.reset_index(drop=True)
        ids, sources = table["stimulus_id"].astype(str).tolist(), table[path_col].astype(str).tolist()
    elif isinstance(images, dict):
        ids, sources = [str(k) for k in images], list(images.values())
    elif isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise NeuroitError("An 'images' array must have shape (n, height, width) or (n, height, width, channels); "
                               f"got {images.shape}.")
        sources = list(images)
        ids = [str(i) for i in range(len(sources))]
    elif isinstance(images, (str, os.PathLike)):
        raise NeuroitError("The 'images' parameter must be a stimulus table, a list of image paths, a dict "
                           f"stimulus_id → path, or an array of images; got the single path {images!r}.")
    else:
        sources = list(images)
        ids = [os.path.splitext(os.path.basename(str(s)))[0] if not isinstance(s, np.ndarray) else str(i)
               for i, s in enumerate(sources)]
    if stimulus_ids is not None:
        ids = [str(s) for s in stimulus_ids]
        if len(ids) != len(sources):
            raise NeuroitError(f"The 'stimulus_ids' parameter must have one id per image ({len(sources)}); "
                               f"got {len(ids)}.")
    if not sources:
        raise NeuroitError("The 'images' parameter of extract_features holds no images.")
    if len(set(ids)) != len(ids):
        raise NeuroitError("Stimulus ids must be unique; pass stimulus_ids=... or a stimulus table.")
    missing = [s for s in sources if not isinstance(s, np.ndarray) and not os.path.isfile(str(s))]
    if missing:
        raise FileNotFoundError(f"{len(missing)} image file(s) do not exist, first {missing[0]}.")
    return ids, sources, table


def _resolve_model(model, *, layer, preprocess, weights):
    """(name, module, layer, preprocess dict, weights label) from a name, ModelSpec or nn.Module."""
    torch = import_optional("torch")
    from neuroit.models._data import resolve_preprocess
    from neuroit.models.registry import ModelSpec, get_model

    if isinstance(model, str):
        model = get_model(model, weights=weights)
    if isinstance(model, ModelSpec):
        return (model.name, model.module, layer if layer is not None else model.layer,
                resolve_preprocess(preprocess or model.preprocess), model.weights)
    if not isinstance(model, torch.nn.Module):
        raise NeuroitError("The 'model' parameter of extract_features must be a registered model name, a ModelSpec "
                           f"or a torch.nn.Module. Got {type(model).__name__} instead.")
    is_timm = hasattr(model, "pretrained_cfg") and hasattr(model, "forward_head")
    if preprocess is None:
        if is_timm:
            timm_data = import_optional("timm.data")
            preprocess = timm_data.resolve_data_config({}, model=model)
        else:
            preprocess = {}
    if layer is None and not is_timm:
        raise NeuroitError("For a torch.nn.Module that is not a timm model, pass layer=<module name> "
                           "(one of its named_modules(), e.g. 'avgpool').")
    name = model.pretrained_cfg.get("architecture", type(model).__name__) if is_timm else \
        f"{type(model).__module__}.{type(model).__qualname__}"
    return name, model, layer, resolve_preprocess(preprocess), "module"


def _find_layer(module, layer):
    names = dict(module.named_modules())
    if layer not in names:
        close = [n for n in names if n and layer.split(".")[-1] in n][:5]
        raise NeuroitError(f"The 'layer' parameter must name a submodule of the model; {layer!r} is not one "
                           f"(similar: {close}).")
    return names[layer]


@contextlib.contextmanager
def _layer_output(module, layer):
    """Yield a function ``run(x) -> layer output`` (hook + early stop), or pre-logits for ``layer=None``."""
    if layer is None:
        yield lambda x: module.forward_head(module.forward_features(x), pre_logits=True)
        return
    store = {}

    def hook(_module, _inputs, output):
        store["out"] = output[0] if isinstance(output, (tuple, list)) else output
        raise _StopForward

    handle = _find_layer(module, layer).register_forward_hook(hook)

    def run(x):
        store.clear()
        try:
            module(x)
        except _StopForward:
            pass
        if "out" not in store:
            raise NeuroitError(f"Layer {layer!r} was never called in the model's forward pass.")
        return store["out"]

    try:
        yield run
    finally:
        handle.remove()


def _auto_workers(device_type: str, n_images: int, batch_size: int, *, read_only: bool = False) -> int:
    cpus = os.cpu_count() or 1
    if n_images <= batch_size // 2:
        return 0
    if device_type == "cuda":  # workers that only read + hash (GPU decode) need fewer processes
        return max(1, min(cpus - 1, 8 if read_only else 16))
    return 0 if cpus <= 4 else min(4, cpus // 4)


def _resolve_decode(decode, device, sources, preprocess) -> str:
    """The decode path: ``"pil"`` (workers decode with PIL) or ``"tensor"`` (bytes decoded on the device)."""
    from neuroit.models._decode import JPEG_EXTENSIONS, MODES, probe_device_decode

    if decode not in ("auto", "cpu", "gpu"):
        raise NeuroitError(f"The 'decode' parameter of extract_features must be 'auto', 'cpu' or 'gpu'. "
                           f"Got {decode!r} instead.")
    supported = preprocess["interpolation"] in MODES and preprocess.get("crop_mode", "center") in ("center", "squash")
    if decode == "gpu":
        if device.type != "cuda":
            torch = import_optional("torch")
            raise NeuroitError(f"decode='gpu' decodes images on a CUDA device, but the device is {str(device)!r} "
                               f"(CUDA available: {torch.cuda.is_available()}); use decode='auto' or 'cpu'.")
        if not supported:
            raise NeuroitError(f"decode='gpu' supports the interpolations {sorted(MODES)} with crop_mode 'center' "
                               f"or 'squash'; this model's preprocessing asks for {preprocess['interpolation']!r} / "
                               f"{preprocess.get('crop_mode', 'center')!r}: use decode='cpu'.")
        problem = probe_device_decode(str(device))
        if problem:
            raise NeuroitError(f"decode='gpu' needs torchvision.io.decode_jpeg on {device}, which failed here "
                               f"({problem}); use decode='cpu'.")
        return "tensor"
    if decode == "auto" and device.type == "cuda" and supported and all(
            not isinstance(s, np.ndarray) and str(s).lower().endswith(JPEG_EXTENSIONS) for s in sources):
        problem = probe_device_decode(str(device))
        if not problem:
            return "tensor"
        log.warning("decoding JPEGs on %s is not available (%s); decoding with PIL on the CPU", device, problem)
    return "pil"


def extract_features(model, images, *, layer=None, batch_size: int = 64, device=None, dtype=None,
                     cache_dir=None, progress=None, num_workers=None, weights=None, preprocess=None,
                     stimulus_ids=None, decode: str = "auto"):
    """Activations of one layer for every image, as an ``xarray.DataArray`` (stimulus_id × unit).

    ``model``: a registered name (see :func:`neuroit.models.list_models`; ``weights`` passed to
    :func:`get_model`), a :class:`ModelSpec`, or any ``torch.nn.Module`` (timm models: pre-logits by
    default and their own data config; other modules need ``layer``). ``images``: a stimulus table
    (its columns become coordinates), image paths, a dict id → path, or an array (n, H, W[, C]).
    ``layer``: a module name (its output, flattened; the forward stops there); default the model's
    penultimate layer. ``device``: default CUDA when available. ``dtype``: None/fp32, fp16 or bf16.
    ``cache_dir``: reuse/stores features keyed by model, weights checksum, layer, preprocessing,
    dtype, decode path and image contents. ``preprocess``: override the timm-style data config.
    ``decode``: ``"cpu"`` — DataLoader workers decode + resize + crop with PIL (bit-identical to timm's
    eval transform); ``"gpu"`` — workers only read the file bytes, JPEGs are decoded in batches with
    nvJPEG on the CUDA device (other formats on the CPU) and resized/cropped there with torch
    (antialiased; pixels within a fraction of a grey level of PIL's); ``"auto"`` (default) — ``"gpu"``
    when the device is CUDA and every image is a JPEG file, else ``"cpu"``.
    """
    xr = import_optional("xarray")
    ids, out, coords, attrs = _extract(model, images, layer=layer, batch_size=batch_size, device=device, dtype=dtype,
                                       cache_dir=cache_dir, progress=progress, num_workers=num_workers,
                                       weights=weights, preprocess=preprocess, stimulus_ids=stimulus_ids,
                                       decode=decode)
    coords = {"stimulus_id": ids, "unit": np.arange(out.shape[1]), **coords}
    return xr.DataArray(out, dims=("stimulus_id", "unit"), coords=coords, name="features", attrs=attrs)


def _extract(model, images, *, layer, batch_size, device, dtype, cache_dir, progress, num_workers, weights,
             preprocess, stimulus_ids, decode="auto"):
    """extract_features without xarray: (stimulus ids, float32 array, extra coords, attrs)."""
    torch = import_optional("torch")
    from neuroit.models.cache import FeatureCache, cache_key
    from neuroit.models.registry import weights_checksum

    if int(batch_size) < 1:
        raise NeuroitError(f"The 'batch_size' parameter must be a positive integer. Got {batch_size!r} instead.")
    batch_size = int(batch_size)
    ids, sources, table = _as_images(images, stimulus_ids)
    name, module, layer, prep, weights_label = _resolve_model(model, layer=layer, preprocess=preprocess,
                                                              weights=weights)
    dtype_name = _dtype_name(dtype)
    device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if layer is not None:
        _find_layer(module, layer)
    mode = _resolve_decode(decode, device, sources, prep)
    decode_id = "pil" if mode == "pil" else f"torchvision-{device.type}"

    checksum = cache = None
    known: set = set()
    if cache_dir is not None:
        checksum = weights_checksum(module)
        key, fields = cache_key(model=name, weights_checksum=checksum, layer=layer, preprocess=prep, dtype=dtype_name,
                                decode=decode_id)
        cache = FeatureCache(cache_dir, key, fields)
        known = cache.known()
    # workers hash each file from the bytes they read anyway; cached images and repeats of an image
    # already queued (same content hash) are not decoded or computed again
    computed, hashes, rows = _run(module, sources, layer=layer, preprocess=prep, batch_size=batch_size,
                                  device=device, dtype=getattr(torch, dtype_name), progress=progress,
                                  num_workers=num_workers, mode=mode, hash=cache is not None, skip=known)
    if cache is not None and rows:
        cache.save([hashes[i] for i in rows], computed)
    if len(rows) == len(sources):  # nothing cached, no duplicates: rows are already in order
        out = computed
    else:
        hits = cache.load({h for h in hashes if h in known})
        by_hash = {hashes[i]: r for r, i in enumerate(rows)}
        n_units = computed.shape[1] if rows else len(next(iter(hits.values())))
        out = np.empty((len(sources), n_units), np.float32)
        for i, h in enumerate(hashes):
            if h in by_hash:
                out[i] = computed[by_hash[h]]
            elif h in hits:
                out[i] = hits[h]
            else:  # pragma: no cover - the cache changed on disk while we ran
                raise NeuroitError(f"The feature cache {cache.folder} lost the features of {sources[i]!r} during "
                                   "the run; run again.")

    coords = {}
    if table is not None:
        for column in ("object_label", "domain", "source_id", "is_normalizer", "image_path"):
            if column in table.columns:
                coords[column] = ("stimulus_id", table[column].to_numpy())
    attrs = dict(model=name, layer="pre_logits" if layer is None else layer, weights=str(weights_label),
                 weights_checksum=checksum or "", preprocess=json.dumps(prep), dtype=dtype_name,
                 device=str(device), decode=decode_id, batch_size=batch_size,
                 n_from_cache=len(sources) - len(rows), cache_dir="" if cache_dir is None else str(cache_dir))
    log.info("features of %d images from %s/%s (%d from cache, decode %s)", len(sources), name, attrs["layer"],
             attrs["n_from_cache"], decode_id)
    return ids, out, coords, attrs


def _prepare_module(module, *, device, dtype):
    """(module to run: the user's or a copy on ``device`` in ``dtype``, whether to feed channels-last input)."""
    torch = import_optional("torch")
    work = module
    moved = next((p for p in list(module.parameters()) + list(module.buffers())), None)
    needs_copy = moved is not None and (moved.device != device or (moved.is_floating_point() and moved.dtype != dtype))
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    if needs_copy:
        work = copy.deepcopy(module).to(device=device, dtype=dtype)
        if device.type == "cuda" and convs:
            work = work.to(memory_format=torch.channels_last)
        convs = [m for m in work.modules() if isinstance(m, torch.nn.Conv2d)]
    # feed channels-last input to a channels-last (CUDA) network
    channels_last = device.type == "cuda" and bool(convs) and convs[0].weight.is_contiguous(
        memory_format=torch.channels_last) and not convs[0].weight.is_contiguous()
    return work, channels_last


def _run(module, sources, *, layer, preprocess, batch_size, device, dtype, progress, num_workers, mode="pil",
         hash=False, skip=frozenset()):
    """Forward ``sources`` in batches of ``batch_size``.

    Returns (float32 (m, units) features, content hash per source ("" without ``hash``), the source
    index of each of the m computed rows, in order). Sources whose hash is in ``skip``, and repeats of
    a hash seen before, are not computed; the remaining images are re-batched to full batches.
    """
    torch = import_optional("torch")
    from tqdm.auto import tqdm

    from neuroit.models._data import ImageDataset, Normalizer, collate_items, split_payloads
    from neuroit.models._decode import decode_batch

    work, channels_last = _prepare_module(module, device=device, dtype=dtype)
    normalize = Normalizer(preprocess, device=device, dtype=dtype, channels_last=channels_last)
    was_training = work.training
    work.eval()
    workers = _auto_workers(device.type, len(sources), batch_size, read_only=mode == "tensor") \
        if num_workers is None else int(num_workers)
    loader = torch.utils.data.DataLoader(
        ImageDataset(sources, preprocess, mode="bytes" if mode == "tensor" else "pil", hash=hash, skip=skip),
        batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate_items,
        pin_memory=device.type == "cuda" and mode == "pil",
        prefetch_factor=(2 if device.type == "cuda" and mode == "pil" else 4) if workers else None,
        persistent_workers=False)
    out = None
    row = 0
    hashes: list = []
    rows: list = []
    seen = set(skip)
    queue_rows: list = []
    queue: list = []  # pil: uint8 (k, 3, H, W) tensors; tensor: lists of (payload, is JPEG bytes)
    cudnn = torch.backends.cudnn
    old_benchmark = cudnn.benchmark
    try:
        cudnn.benchmark = device.type == "cuda"
        pending = []  # device outputs not yet copied back: sync with the device every few batches only

        def flush():
            nonlocal out, row
            if not pending:
                return
            y = torch.cat(pending).cpu().numpy()
            pending.clear()
            if out is None:
                out = np.empty((len(sources), y.shape[1]), np.float32)
            out[row:row + len(y)] = y
            row += len(y)

        def forward(n):
            """Run the first ``n`` queued images."""
            nonlocal queue, queue_rows
            if mode == "pil":
                buf = queue[0] if len(queue) == 1 else torch.cat(queue)
                x = normalize(buf[:n])
                queue = [buf[n:]] if len(buf) > n else []
            else:
                flat = queue[0] if len(queue) == 1 else [p for part in queue for p in part]
                x = normalize(decode_batch([p for p, _ in flat[:n]], preprocess, device=device,
                                           jpeg=[j for _, j in flat[:n]]))
                queue = [flat[n:]] if len(flat) > n else []
            rows.extend(queue_rows[:n])
            queue_rows = queue_rows[n:]
            pending.append(run(x).flatten(1).float())
            if len(pending) >= _SYNC_EVERY.get(device.type, 1):
                flush()

        with torch.inference_mode(), _layer_output(work, layer) as run:
            for batch in tqdm(loader, disable=(not progress) if progress is not None else None,
                              desc="features", unit="batch"):
                start = len(hashes)
                hashes.extend(batch["hashes"])
                kept = batch["kept"]
                if not kept:
                    continue
                if mode == "pil":
                    payload = batch["images"]
                else:
                    payload = [(p, False) for p in batch["images"]] if "images" in batch else \
                        list(zip(split_payloads(batch), batch["jpeg"]))
                select = list(range(len(kept)))
                if hash:
                    select = [j for j, k in enumerate(kept) if batch["hashes"][k] not in seen
                              and not seen.add(batch["hashes"][k])]
                    if len(select) < len(kept):
                        payload = payload[select] if mode == "pil" else [payload[j] for j in select]
                if not select:
                    continue
                queue.append(payload)
                queue_rows.extend(start + kept[j] for j in select)
                while len(queue_rows) >= batch_size:
                    forward(batch_size)
            if queue_rows:
                forward(len(queue_rows))
            flush()
    finally:
        cudnn.benchmark = old_benchmark
        if was_training:
            work.train()
    assert row == len(rows) and len(hashes) == len(sources)
    if out is None:
        return np.zeros((0, 0), np.float32), hashes, rows
    return out[:row], hashes, rows
