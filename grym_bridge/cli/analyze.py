"""`grym analyze FILE...`: what each clip is, as a readable summary or one JSON object per line."""

from __future__ import annotations

import math
import sys
import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.cli.progress import progress_bar
from grym_bridge.config import Config
from grym_bridge.errors import GrymError


def _db(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if math.isfinite(value) else f"-inf {unit}"


def summary(result) -> str:  # type: ignore[no-untyped-def]
    """A few lines a producer can read at a glance."""
    channels = {1: "mono", 2: "stereo"}.get(result.channels, f"{result.channels} channels")
    lines = [f"{result.path}  {result.duration_s:.1f} s, {result.sample_rate / 1000:g} kHz, {channels}"]
    lines.append(
        f"  loudness  {_db(result.lufs_integrated, 'LUFS')} integrated, range {result.loudness_range_lu:.1f} LU, "
        f"true peak {_db(result.true_peak_dbtp, 'dBTP')}, RMS {_db(result.rms_dbfs, 'dBFS')}, "
        f"crest {result.crest_factor_db:.1f} dB"
    )
    if result.tempo_bpm > 0:
        others = ", ".join(f"{a['bpm']:.1f}" for a in result.tempo_alternatives if a["confidence"] >= 0.5)
        lines.append(f"  tempo     {result.tempo_bpm:.1f} BPM (confidence {result.tempo_confidence:.2f}), "
                     f"{result.meter or '-'}, {len(result.beats)} beats, {result.onset_density:.1f} onsets/s"
                     + (f"; or {others}" if others else ""))
    else:
        lines.append("  tempo     none found")
    if result.key:
        chords = " ".join(result.harmonic_pattern[:8]) or "-"
        lines.append(f"  key       {result.key} (confidence {result.key_confidence:.2f}); bars: {chords}")
    else:
        lines.append("  key       none (no pitched material)")
    lines.append(f"  spectrum  centroid {result.spectral_centroid_hz:.0f} Hz, "
                 f"rolloff {result.spectral_rolloff_hz:.0f} Hz, "
                 f"tilt {result.spectral_tilt_db_per_oct:.1f} dB/oct, flatness {result.spectral_flatness:.2f}")
    lines.append("  bands     " + "  ".join(f"{name} {value:.1f}" for name, value in result.bands_db.items()) + " dB")
    if result.channels > 1:
        lines.append(f"  stereo    correlation {result.stereo_correlation:.2f}, width {result.stereo_width:.2f}")
    if result.rhythm_pattern:
        first = "".join("x" if v >= 0.5 else ("." if v < 0.2 else "-") for v in result.rhythm_pattern[0])
        lines.append(f"  rhythm    {first}  (first bar, 16ths: x strong, - weak, . none)")
    if result.embedding is not None:
        lines.append(f"  embedding {len(result.embedding)} values (wav2vec2)")
    return "\n".join(lines)


def _analyse_with_bar(path: str, config: Config, embed: bool, time_signature: str | None):  # type: ignore[no-untyped-def]
    """`analyze_file` with a bar on stderr when it is a terminal; the bar is gone before anything is printed."""
    from grym_bridge.analysis import analyze_file

    with progress_bar(path, tty_only=True, show_message=False) as update:
        return analyze_file(path, config, embed=embed, progress=update, time_signature=time_signature)


def _check_time_signature(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from grym_bridge.analysis import METER_OF_TIME_SIGNATURE, meter_class

    if value is not None and meter_class(value) is None:
        raise click.BadParameter(f"{value!r}: the analysis follows {', '.join(METER_OF_TIME_SIGNATURE)} "
                                 "(leave it out to detect the meter)")
    return value


@click.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file, one per line (JSON Lines).")
@click.option("--embed", is_flag=True,
              help="Add a wav2vec2 embedding (needs torch, transformers and the model named by "
                   "analysis.embedding_model).")
@click.option("--time-signature", "time_signature", default=None, callback=_check_time_signature,
              help="Count bars in this meter (4/4, 3/4, 6/8, ...) instead of detecting it.")
@pass_config
def analyze_command(config: Config, files: tuple[str, ...], as_json: bool, embed: bool,
                    time_signature: str | None) -> None:
    """Analyse audio FILES: loudness, peaks, tempo and beats, key and chords, spectrum, stereo, patterns.

    Reads anything libsndfile reads (wav, aiff, flac, ogg, mp3), mono to 8
    channels, up to audio.max_duration_s long. A file that cannot be analysed
    is reported on stderr and the others still are; the exit status is 1 when
    any failed.
    """
    failed = 0
    for path in files:
        try:
            result = _analyse_with_bar(path, config, embed, time_signature)
        except GrymError as exc:
            click.echo(f"error: {exc.message}", err=True)
            failed += 1
            continue
        if as_json:
            echo_json(result)
        else:
            click.echo(summary(result))
    if failed:
        sys.exit(1)


commands = [analyze_command]
