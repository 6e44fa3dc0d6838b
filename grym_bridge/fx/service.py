"""The fx capability as the CLI and the transports use it: files in, JSON-able results out.

Every path a client names (the clip, a reference, stems, the output, a chain
file, and paths inside a chain: VST3 bundles, impulse responses) goes
through the path policy first when one is given; the CLI, run by the user
on their own files, passes none. plugin_host's errors become grym's.

A chain file is read with a size cap (`paths.max_read_bytes`), only if it is
a regular file; call `chain()` with a path only in a worker. A render goes to
a new name under renders/ unless an output is named; a named output must be
in an existing folder and never replaces a file unless `overwrite` is asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from grym_bridge import __version__
from grym_bridge.audio_io import Audio, load_limited
from grym_bridge.config import Config
from grym_bridge.errors import AudioFileError, BadRequest, disk_full, is_disk_full
from grym_bridge.files import check_regular, read_text_bounded
from grym_bridge.fx.daw_map import DawMapping, map_chain
from grym_bridge.fx.meter import analysis_meter
from grym_bridge.fx.mix import MixRecommendation, recommend_mix
from grym_bridge.fx.suggest import suggest
from grym_bridge.fx.targets import loudness_target
from grym_bridge.fx.types import LoudnessTarget, Suggestion
from grym_bridge.paths import PathPolicy, ensure_data_dir
from plugin_host import (AudioError, ChainError, ChainSpec, OutputError, PluginHostError, PluginLoadError,
                         RenderOptions, RenderResult)
from plugin_host import default_output_path, parse_chain, render_file

Progress = Callable[[float, str], None]


def translate(exc: PluginHostError) -> BadRequest | AudioFileError:
    """plugin_host's error as the GrymError a transport reports."""
    if isinstance(exc, OutputError):
        return BadRequest(str(exc), code="bad_output")
    if isinstance(exc, AudioError):
        return AudioFileError(str(exc))
    if isinstance(exc, PluginLoadError):
        return BadRequest(str(exc), code="plugin_load")
    return BadRequest(str(exc), code="bad_chain")


class FxService:
    """Suggest, render, map and mix; `policy` checks client paths (None: trust them, as the CLI does)."""

    def __init__(self, config: Config, policy: PathPolicy | None = None) -> None:
        self.config = config
        self.policy = policy

    def _path(self, path: str | os.PathLike[str]) -> Path:
        return self.policy.check(path) if self.policy is not None else Path(path).expanduser().resolve()

    def _load(self, path: str | os.PathLike[str]) -> Audio:
        return load_limited(self._path(path), self.config.audio)

    def _chain_file(self, path: str) -> str:
        """A file a chain names (impulse response, VST3 bundle): inside the roots, and no FIFO or device."""
        resolved = self._path(path)
        if resolved.exists() and not resolved.is_dir():
            check_regular(resolved, "file the chain names")
        return str(resolved)

    @staticmethod
    def is_chain_file(chain: Any) -> bool:
        """Whether `chain` names a chain file (read in a worker) rather than holding the chain itself."""
        return isinstance(chain, (str, os.PathLike)) and not str(chain).lstrip().startswith(("[", "{"))

    def chain(self, chain: Any) -> ChainSpec:
        """A validated chain object from JSON text, a list/dict, a `ChainSpec`, or the path of a .json file.

        Parsed once: pass the returned `ChainSpec` on (render, map) and it is not
        parsed again. Every file the chain names (VST3 bundles, impulse responses)
        is checked against the allowed roots before anything looks at it.
        """
        if isinstance(chain, ChainSpec):
            return chain
        if self.is_chain_file(chain):
            chain = read_text_bounded(self._path(chain), self.config.paths.max_read_bytes, what="chain file")
        try:
            return parse_chain(chain, resolve_path=self._chain_file)
        except ChainError as exc:
            raise translate(exc) from None

    def suggest(self, path: str | os.PathLike[str], *, style: str | None = None,
                target: str | LoudnessTarget | None = None, reference: str | os.PathLike[str] | None = None,
                analysis: Any = None, progress: Progress | None = None, goals: Sequence[str] = (),
                fix: Sequence[str] = ()) -> Suggestion:
        """Analyse the clip at `path` (or reuse `analysis` of it) and suggest a chain (see `fx.suggest.suggest`).

        `goals` (directions such as darker, wider) and `fix` (named problems such as rumble, mud) come
        from a request in words: the chain then holds what was asked, checked on the clip.
        """
        audio = self._load(path)
        ref = self._load(reference) if reference else None
        if isinstance(target, LoudnessTarget):
            goal = target
        elif ref is not None and target is None:
            goal = loudness_target(self.config, "streaming")
            goal.name = "reference"  # match the reference's loudness, under the configured ceiling
        else:
            goal = loudness_target(self.config, target)
        try:
            return suggest(audio, target=goal, style=style, reference=ref, analysis=analysis, progress=progress,
                           goals=goals, fix=fix, ceiling_dbtp=self.config.fx.true_peak_ceiling_dbtp)
        except PluginHostError as exc:
            raise translate(exc) from None

    def render(self, path: str | os.PathLike[str], chain: Any, *, output: str | os.PathLike[str] | None = None,
               ab: bool = False, keep_tail: bool = True, overwrite: bool = False,
               provenance: dict[str, Any] | None = None, progress: Progress | None = None,
               subtype: str | None = None) -> RenderResult:
        """Render the clip through `chain` under the data dir's renders/ (or `output`), with a provenance sidecar.

        The source is opened once, by the renderer, which checks the duration, channel
        and decoded-size limits on the open file; a `ChainSpec` from `chain()` is not parsed
        again. Without `output` the render gets a new name under renders/; a named
        `output` must be in an existing folder and replaces an existing regular file only
        with `overwrite` (never the source, never a FIFO, device or folder). The file's
        sample format follows the source's (PCM_16 dithered, PCM_24, FLOAT) unless `subtype` says.
        """
        source = self._path(path)
        if not source.is_file():
            raise AudioFileError(f"{source}: no such file; check the path")
        check_regular(source, "clip")
        spec = self.chain(chain)
        ensure_data_dir(self.config)
        out = self._path(output) if output else default_output_path(self.config.renders_dir(), source, spec)
        limits = self.config.audio
        options = RenderOptions(ab=ab, keep_tail=keep_tail, max_tail_s=self.config.fx.max_tail_s,
                                max_duration_s=limits.max_duration_s, max_channels=limits.max_channels,
                                subtype=subtype, overwrite=overwrite,  # streamed in blocks: no decoded-size limit
                                create_parents=self.policy is None)
        try:
            return render_file(source, spec, out, options=options, progress=progress, meter=analysis_meter,
                               provenance={"grym_bridge": __version__, "capability": "fx.render",
                                           **(provenance or {})})
        except PluginHostError as exc:
            raise translate(exc) from None
        except (OSError, RuntimeError) as exc:  # libsndfile reports a full disk as a RuntimeError
            if is_disk_full(exc):
                raise disk_full(exc, f"the render {out}") from None
            raise

    def map(self, chain: Any, daw: str) -> DawMapping:
        """The chain as `daw`'s own devices."""
        return map_chain(self.chain(chain), daw)

    def mix(self, paths: list[str | os.PathLike[str]], *, headroom_db: float | None = None,
            progress: Progress | None = None) -> MixRecommendation:
        """Recommendations for the stems at `paths`."""
        stems = [self._load(p) for p in paths]
        headroom = self.config.fx.mix_headroom_db if headroom_db is None else headroom_db
        return recommend_mix(stems, headroom_db=headroom, progress=progress)
