"""Data only the page needs, which the OSC API has no reason to carry: HTTP-only endpoints.

- `GET /api/web/peaks?path=&width=`: a waveform's min/max per column, for drawing.
- `GET /api/web/spectrogram?path=&width=&height=`: a log-frequency spectrogram, dB as bytes.
- `GET /api/web/balance?path=`: third-octave band levels against the fx target curve (what
  fx/suggest measures, without planning and rendering a chain: a 3-minute clip in well under a second).
- `GET /api/web/clips?q=&tag=&source=&limit=`: the memory's clips, searchable by path and tag.
- `GET /api/web/map?space=`: every remembered clip placed in 2-D (PCA of its feature vector).
- `GET /api/web/config`: the effective settings, and the loudness targets the meters draw.

Each is a plain function of the services (and a checked path), run in a
worker thread: file reads and the store never block the loop.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np

from grym_bridge.audio_io import load_limited
from grym_bridge.errors import BadRequest
from grym_bridge.results import to_jsonable
from grym_bridge.paths import download_roots

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services

MAX_COLUMNS = 4000
LOUDNESS_TARGETS = ("streaming", "club", "broadcast")


def _memory(services: "Services") -> Any:
    """The feature memory the handlers use (opened on first use)."""
    return services.memory()


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise BadRequest(f"{name} must be a whole number; got {params.get(name)!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}; got {value}")
    return value


def _mono(services: "Services", params: dict[str, str]) -> tuple[np.ndarray, int, int]:
    path = services.paths.check(params.get("path", ""))
    audio = load_limited(path, services.config.audio)
    return audio.samples.mean(axis=0), audio.sample_rate, audio.channels


def peaks(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """Min and max of the mono mix over `width` equal columns (what a waveform canvas draws)."""
    width = _int(params, "width", 1200, 16, MAX_COLUMNS)
    mono, sr, channels = _mono(services, params)
    edges = np.linspace(0, len(mono), width + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], len(mono) - 1)
    lo = np.minimum.reduceat(mono, starts)
    hi = np.maximum.reduceat(mono, starts)
    return {"duration_s": len(mono) / sr, "sample_rate": sr, "channels": channels,
            "min": np.round(lo.astype(np.float64), 4).tolist(), "max": np.round(hi.astype(np.float64), 4).tolist()}


def spectrogram(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """`height` log-spaced bands from 30 Hz to Nyquist over `width` frames, in dB mapped to 0..255."""
    width = _int(params, "width", 600, 16, MAX_COLUMNS)
    height = _int(params, "height", 96, 8, 512)
    mono, sr, _ = _mono(services, params)
    n_fft = 2048
    padded = np.pad(mono, (n_fft // 2, n_fft // 2))
    # One window per column: a 3-minute clip costs `width` FFTs, not one per hop of a full STFT.
    starts = np.linspace(0, len(padded) - n_fft, width).astype(np.int64)
    frames = np.stack([padded[s:s + n_fft] for s in starts]) * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fmin, fmax = 30.0, sr / 2
    edges = np.geomspace(fmin, fmax, height + 1)
    bins = np.clip(np.searchsorted(freqs, edges), 1, len(freqs) - 1)
    bands = np.stack([power[:, lo:max(hi, lo + 1)].mean(axis=1) for lo, hi in zip(bins[:-1], bins[1:])], axis=1)
    db = 10 * np.log10(bands + 1e-12)
    top = float(db.max())
    floor = top - 80.0
    scaled = np.clip((db - floor) / 80.0 * 255.0, 0, 255).astype(np.uint8)
    return {"width": width, "height": height, "fmin": fmin, "fmax": fmax, "db_max": top, "db_range": 80.0,
            "duration_s": len(mono) / sr, "data": base64.b64encode(scaled.T[::-1].tobytes()).decode()}


def balance(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """Each third-octave band's departure from the fx target curve, in dB (0: on the curve)."""
    from grym_bridge.fx.spectrum import band_spectrum, deviation  # the capability's own measure

    path = services.paths.check(params.get("path", ""))
    audio = load_limited(path, services.config.audio)
    spectrum = band_spectrum(audio.samples, audio.sample_rate)
    dev = deviation(spectrum)
    return {"band_deviation_db": {f"{c:.0f}": round(float(d), 2) for c, d in zip(spectrum.centres, dev)}}


def clips(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """Remembered clips, newest first; `q` keeps those whose path or tags contain it."""
    limit = _int(params, "limit", 200, 1, 5000)
    query = params.get("q", "").strip().lower()
    rows = _memory(services).list_clips(tag=params.get("tag") or None, source=params.get("source") or None,
                                        limit=limit if not query else 5000)
    if query:
        rows = [r for r in rows if query in r.path.lower() or any(query in t.lower() for t in r.tags)][:limit]
    return {"clips": to_jsonable(rows)}


def clip_map(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """Each clip at the first two principal components of its vectors: similar material sits together."""
    space = params.get("space", "features")
    if space not in ("features", "embedding"):
        raise BadRequest(f"space must be features or embedding; got {space!r}")
    store = _memory(services)
    ids, matrix = store.vectors(space)
    points = np.zeros((len(ids), 2))
    if len(ids) >= 2:
        centred = matrix - matrix.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        points[:, : min(2, vt.shape[0])] = centred @ vt[:2].T
        scale = np.abs(points).max(axis=0)
        points /= np.where(scale > 0, scale, 1.0)
    by_id = {r.id: r for r in store.list_clips(limit=100_000)}
    out = []
    for clip_id, (x, y) in zip(ids.tolist(), points.tolist()):
        row = by_id.get(clip_id)
        if row is not None:
            out.append({"id": clip_id, "x": round(x, 4), "y": round(y, 4), "path": row.path, "source": row.source,
                        "tags": list(row.tags), "kept": row.kept, "rejected": row.rejected, "rating": row.rating})
    return {"space": space, "points": out}


def settings(services: "Services", params: dict[str, str]) -> dict[str, Any]:
    """Every setting with its value and source, and the loudness targets for the meters."""
    config = services.config
    rows = [{"key": k, "value": to_jsonable(v), "source": s, "help": h} for k, v, s, h in config.items()
            if k != "network.token"]
    targets = {name: {"lufs": float(getattr(config.fx, f"{name}_lufs")),
                      "true_peak_dbtp": float(config.fx.true_peak_ceiling_dbtp)} for name in LOUDNESS_TARGETS}
    roots = [str(root) for root in download_roots(config)]
    from grym_bridge.fx.styles import STYLES  # the choices the effects page offers (the handler checks them)
    from grym_bridge.fx.targets import DESTINATIONS

    return {"settings": rows, "loudness_targets": targets, "download_roots": roots,
            "fx_styles": list(STYLES), "fx_targets": list(DESTINATIONS)}


VIEWS = {"peaks": peaks, "spectrogram": spectrogram, "balance": balance, "clips": clips, "map": clip_map, "config": settings}
