"""Configuration: embedded defaults, a TOML file, `GRYM_*` variables and flags.

Later sources win: default < file < environment < command-line flag. Every
effective value remembers where it came from, so `grym config show` can say.

The schema is a set of small dataclasses, one per TOML table. A field's
metadata carries its help text and limits; that is all a capability needs to
add a setting::

    @dataclass
    class FooConfig:
        level: float = setting(0.5, "How much foo.", min=0.0, max=1.0)

and a `foo: FooConfig = section(FooConfig)` field on `Config`.

Environment variables are `GRYM_<TABLE>_<KEY>` (`GRYM_SERVER_OSC_PORT`), and
`GRYM_<KEY>` for top-level keys (`GRYM_DATA_DIR`, `GRYM_LOG_LEVEL`).
`GRYM_CONFIG` names the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, get_args, get_origin, get_type_hints

import platformdirs

from grym_bridge.errors import ConfigError

APP_NAME = "grym-bridge"
ENV_PREFIX = "GRYM_"


def setting(default: Any, help: str, **limits: Any) -> Any:
    """A config field with help text and optional `min`, `max` or `choices`."""
    meta = {"help": help, **limits}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def section(cls: type) -> Any:
    """A config field holding one TOML table."""
    return field(default_factory=cls, metadata={"section": True})


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


@dataclass
class ServerConfig:
    host: str = setting(
        "127.0.0.1",
        "Address to serve on. 127.0.0.1 keeps the bridge private to this machine; "
        "0.0.0.0 exposes it to every network the machine is on.",
    )
    osc_port: int = setting(9130, "OSC port, for UDP and for OSC over TCP (SLIP).", min=1, max=65535)
    max_message_bytes: int = setting(
        65507, "Largest OSC message accepted; larger ones get a too_large error.", min=64, max=16 * 1024 * 1024
    )


@dataclass
class PathsConfig:
    allowed_roots: list[str] = setting(
        ["~"],
        "Folders whose files clients may name in requests (the data directory is always allowed).",
    )


@dataclass
class JobsConfig:
    queue_size: int = setting(64, "Jobs waiting at most; more get a busy error.", min=1, max=100_000)
    cpu_workers: int = setting(2, "Jobs of the cpu class that run at once.", min=1, max=64)
    gpu_workers: int = setting(1, "Jobs of the gpu class that run at once.", min=1, max=16)
    timeout_s: float = setting(600.0, "A job running longer than this is cancelled.", min=0.1)
    result_ttl_s: float = setting(3600.0, "How long finished jobs stay queryable.", min=0.0)


@dataclass
class AudioConfig:
    max_duration_s: float = setting(1200.0, "Longest audio file accepted, in seconds.", min=0.1)
    max_channels: int = setting(8, "Most channels accepted in an audio file.", min=1, max=64)


@dataclass
class NetworkConfig:
    """The studio network: zeroconf advertising, OSCQuery, the msgpack RPC and the relay."""

    advertise: str = setting(
        "auto", "Zeroconf advertising: auto (on when serving beyond loopback), on, or off.",
        choices=["auto", "on", "off"],
    )
    name: str = setting("", "Name the bridge is advertised under (empty: grym-bridge on <hostname>).")
    rpc_port: int = setting(9131, "TCP port of the msgpack RPC (0: any free port).", min=0, max=65535)
    oscquery_port: int = setting(9132, "TCP port of the OSCQuery HTTP endpoint (0: any free port).", min=0, max=65535)
    token: str = setting(
        "", "Shared studio token (empty: generated on first use in the data directory). "
        "Clients beyond loopback must present it.",
    )
    max_frame_bytes: int = setting(4 * 1024 * 1024, "Largest RPC frame accepted.", min=1024, max=256 * 1024 * 1024)
    max_upload_bytes: int = setting(2 * 1024**3, "Largest file one RPC upload may carry.", min=1, max=1024**4)
    max_connections: int = setting(32, "RPC connections served at once; more are closed with a busy error.", min=1, max=10_000)
    idle_timeout_s: float = setting(600.0, "An RPC connection that sends nothing this long is closed.", min=0.1)
    frame_timeout_s: float = setting(30.0, "A started frame (or an open upload) that stalls this long closes the connection.", min=0.1)
    upload_ttl_s: float = setting(86400.0, "Uploaded files older than this are deleted.", min=0.0)
    relay_dir: str = setting("", "Where `grym relay` keeps downloaded results (empty: <data dir>/relay).")


@dataclass
class ModelsConfig:
    dirs: list[str] = setting(
        [],
        "Folders holding model weights, one sub-folder per model id (<dir>/cvssp/audioldm2-music); "
        "searched before the Hugging Face cache.",
    )
    hf_cache: str = setting("", "Hugging Face hub cache folder; empty uses HF_HUB_CACHE / HF_HOME or ~/.cache/huggingface.")
    default_model: str = setting("cvssp/audioldm2-music", "Text-to-audio model used when a request names none.")
    device: str = setting("auto", "Where models run.", choices=["auto", "cuda", "mps", "cpu"])
    dtype: str = setting("auto", "Weights' precision: auto is fp16 on a GPU, fp32 on the CPU.",
                         choices=["auto", "float16", "bfloat16", "float32"])
    memory_mode: str = setting(
        "auto",
        "full (all on the GPU), model_offload, sequential (slowest, least VRAM), low_vram (fits a 6 GB GPU), "
        "or auto (full when the GPU has room, else low_vram).",
        choices=["auto", "full", "model_offload", "sequential", "low_vram"],
    )
    memory_budget_gb: float = setting(
        12.0, "Memory all loaded models may hold together; the least recently used is unloaded beyond it.", min=0.05
    )
    cuda_graphs: bool = setting(
        True, "Replay the UNet, VAE, vocoder and text encoders as CUDA graphs when a model sits whole on a CUDA GPU "
        "(memory mode full).")
    compile: str = setting(
        "auto", "Also compile the UNet with torch.compile under its CUDA graphs: auto (where a CUDA GPU and Triton "
        "are), on, or off. AudioLDM 2 runs about 1.3x faster; the first clip of a new length or batch size waits "
        "for one more compile (kernels cached in <data dir>/cache/compile across runs).",
        choices=["auto", "on", "off"],
    )


@dataclass
class GenerateConfig:
    tempo_bpm: float = setting(120.0, "Tempo generated loops are cut to when the session sets none.", min=20.0, max=400.0)
    beats_per_bar: int = setting(4, "Beats in a bar, for --bars.", min=1, max=32)
    sample_rate: int = setting(48000, "Sample rate generated files are written at (the DAW's).", min=8000, max=192000)
    channels: int = setting(2, "1 for mono files, 2 for stereo.", min=1, max=2)
    target_lufs: float = setting(-14.0, "Integrated loudness generated audio is normalized to.", min=-60.0, max=0.0)
    max_duration_s: float = setting(60.0, "Longest audio one request may generate, in seconds.", min=1.0, max=600.0)


@dataclass
class MemoryConfig:
    """The feature memory: an SQLite file under the data directory and its vector index."""

    file: str = setting("memory.sqlite3", "The memory database, relative to the data directory (or absolute).")
    synchronous: str = setting(
        "full", "full: every acknowledged write survives power loss (an fsync per write); "
        "normal: survives a killed process, may lose the last writes on power loss.",
        choices=["full", "normal"],
    )
    exact_below: int = setting(20_000, "Below this many vectors similarity search is exact; above, an HNSW index.", min=1)
    ef_search: int = setting(128, "HNSW search breadth: higher is more accurate and slower.", min=10, max=4096)
    cache_size: int = setting(2048, "Clips kept in the hot-read cache (0: no cache).", min=0, max=10_000_000)


@dataclass
class OrchestratorConfig:
    """Turning requests in words into chains of steps: the planner, the LLM, retries."""

    planner: str = setting("rules", "Who plans requests: rules (embedded), ollama, or openai (LM Studio and "
                           "other OpenAI-compatible servers). LLM plans fall back to the rules.",
                           choices=["rules", "ollama", "openai"])
    llm_url: str = setting("", "Base URL of the LLM server (empty: http://127.0.0.1:11434 for ollama, "
                           "http://127.0.0.1:1234/v1 for openai).")
    llm_model: str = setting("llama3.2", "Model name the LLM server knows.")
    llm_api_key: str = setting("", "Bearer token for OpenAI-compatible servers that want one.")
    llm_timeout_s: float = setting(20.0, "Longest wait for a plan from the LLM before the rules plan instead.", min=0.1)
    llm_context_tokens: int = setting(1024, "Token budget for the context (session, clip analysis) sent to the LLM.",
                                      min=64, max=131072)
    step_retries: int = setting(2, "Retries of a step after a transient failure (busy, timeout, connection).",
                                min=0, max=10)
    retry_backoff_s: float = setting(0.5, "First retry waits this long; each further retry waits twice as long.",
                                     min=0.0, max=60.0)


@dataclass
class HealthConfig:
    """Health states with hysteresis: warning and critical enter at these levels, exit below them by `hysteresis`.

    A level of 0 is never entered (a metric that only warns, say)."""

    interval_s: float = setting(2.0, "How often the server measures its health.", min=0.05)
    min_time_in_state_s: float = setting(10.0, "A state is kept at least this long before health improves.", min=0.0)
    hysteresis: float = setting(0.15, "A state is left only when a reading drops this fraction below where it "
                                "entered (0.15: entered at 90%, left below 76.5%).", min=0.0, max=0.9)
    error_half_life_s: float = setting(60.0, "Half-life of the smoothed job error rate.", min=0.1)
    cpu_warning: float = setting(85.0, "CPU use (%) that enters warning.", min=1.0, max=100.0)
    cpu_critical: float = setting(0.0, "CPU use (%) that enters critical (0: never; a busy CPU slows jobs down but "
                                  "is no reason to refuse GPU work).", min=0.0, max=100.0)
    memory_warning: float = setting(85.0, "Memory use (%) that enters warning.", min=1.0, max=100.0)
    memory_critical: float = setting(95.0, "Memory use (%) that enters critical.", min=1.0, max=100.0)
    gpu_memory_warning: float = setting(85.0, "GPU memory use (%) that enters warning.", min=1.0, max=100.0)
    gpu_memory_critical: float = setting(95.0, "GPU memory use (%) that enters critical.", min=1.0, max=100.0)
    queue_warning: float = setting(16.0, "Jobs waiting that enter warning.", min=1.0)
    queue_critical: float = setting(0.0, "Jobs waiting that enter critical (0: never; the queue refuses jobs "
                                    "itself when full).", min=0.0)
    error_rate_warning: float = setting(0.25, "Smoothed fraction of failed jobs that enters warning.", min=0.0, max=1.0)
    error_rate_critical: float = setting(0.6, "Smoothed fraction of failed jobs that enters critical.", min=0.0, max=1.0)
    loop_lag_warning_s: float = setting(0.1, "Event-loop lag (s) that enters warning.", min=0.001)
    loop_lag_critical_s: float = setting(1.0, "Event-loop lag (s) that enters critical.", min=0.001)


@dataclass
class ResourcesConfig:
    """Cleanup of old renders, temporary and result files (the model memory budget is models.memory_budget_gb)."""

    cleanup_interval_s: float = setting(600.0, "How often the server cleans up (0: never while serving).", min=0.0)
    renders_max_age_days: float = setting(30.0, "Renders older than this are deleted (0: keep forever).", min=0.0)
    renders_max_total_mb: float = setting(4096.0, "The oldest renders go once renders/ holds more (0: no limit).",
                                          min=0.0)
    temp_max_age_hours: float = setting(24.0, "Temporary files and result files older than this are deleted.",
                                        min=0.0)


@dataclass
class AnalysisConfig:
    """Audio analysis and wav2vec2 embeddings."""

    embedding_model: str = setting(
        "facebook/wav2vec2-base",
        "wav2vec2 model for embeddings: a local folder, or a Hugging Face id found in models.dirs or the "
        "Hugging Face cache (safetensors weights only).",
    )
    embedding_chunk_s: float = setting(10.0, "Long audio is embedded in chunks of this many seconds.", min=1.0, max=120.0)
    embedding_batch_size: int = setting(8, "Chunks embedded together in one batch.", min=1, max=256)


@dataclass
class MidiConfig:
    enabled: bool = setting(
        False, "Open the MIDI transport when the server starts (virtual ports, controller mapping, feedback).")
    api: str = setting("auto", "MIDI backend: auto (the platform's), alsa, jack, coremidi or windows_mm.",
                       choices=["auto", "alsa", "jack", "coremidi", "windows_mm"])
    port_name: str = setting("grym-bridge", "Name of the virtual input and output port the bridge creates.")
    virtual: bool = setting(True, "Create the virtual ports (Windows has none: use loopMIDI and list it in inputs).")
    inputs: list[str] = setting([], "Hardware or loopMIDI input ports to listen to (a name or part of one).")
    outputs: list[str] = setting([], "Output ports that get controller feedback (LEDs) and played clips.")
    mapping: str = setting("", "TOML mapping file (controls to actions); empty: midi_mapping.toml in the data dir.")
    learn_timeout_s: float = setting(30.0, "How long MIDI learn waits for a control to move.", min=1.0, max=600.0)


@dataclass
class FxConfig:
    """Effect suggestions, mix recommendations and renders."""

    streaming_lufs: float = setting(-14.0, "Loudness target for `--target streaming` (Spotify, YouTube, Tidal).",
                                    min=-40.0, max=0.0)
    club_lufs: float = setting(-8.0, "Loudness target for `--target club` (DJ sets, dance masters).", min=-40.0, max=0.0)
    broadcast_lufs: float = setting(-23.0, "Loudness target for `--target broadcast` (EBU R128).", min=-40.0, max=0.0)
    podcast_lufs: float = setting(-16.0, "Loudness target for `--target podcast` (spoken word).", min=-40.0, max=0.0)
    true_peak_ceiling_dbtp: float = setting(-1.0, "Highest true peak a suggested chain lets through.",
                                            min=-12.0, max=0.0)
    default_target: str = setting("streaming", "Loudness target when none is given.",
                                  choices=["streaming", "club", "broadcast", "podcast", "none"])
    mix_headroom_db: float = setting(6.0, "Headroom below 0 dBTP the summed stems should leave (gain staging).",
                                     min=0.0, max=30.0)
    max_tail_s: float = setting(30.0, "Longest effect tail (reverb, echoes) a render keeps.", min=0.0, max=300.0)


@dataclass
class Config:
    """The effective configuration of one process."""

    data_dir: Path = setting(default_data_dir(), "Where the store, renders and logs live.")
    log_level: str = setting("info", "Logging level.", choices=["debug", "info", "warning", "error"])
    server: ServerConfig = section(ServerConfig)
    paths: PathsConfig = section(PathsConfig)
    jobs: JobsConfig = section(JobsConfig)
    audio: AudioConfig = section(AudioConfig)
    network: NetworkConfig = section(NetworkConfig)
    orchestrator: OrchestratorConfig = section(OrchestratorConfig)
    health: HealthConfig = section(HealthConfig)
    resources: ResourcesConfig = section(ResourcesConfig)
    memory: MemoryConfig = section(MemoryConfig)
    models: ModelsConfig = section(ModelsConfig)
    generate: GenerateConfig = section(GenerateConfig)
    analysis: AnalysisConfig = section(AnalysisConfig)
    midi: MidiConfig = section(MidiConfig)
    fx: FxConfig = section(FxConfig)

    #: Where each effective value came from, by dotted key.
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False, metadata={"internal": True})
    #: The config file that was read, if any.
    file: Path | None = field(default=None, compare=False, metadata={"internal": True})

    def items(self) -> list[tuple[str, Any, str, str]]:
        """(dotted key, value, source, help) for every setting, in schema order."""
        rows = []
        for key, (obj, f) in _walk(self).items():
            rows.append((key, getattr(obj, f.name), self.sources.get(key, "default"), f.metadata.get("help", "")))
        return rows

    def renders_dir(self) -> Path:
        return self.data_dir / "renders"


def _walk(obj: Any, prefix: str = "") -> dict[str, tuple[Any, dataclasses.Field]]:
    """Map dotted keys to (owning object, field) for every setting under `obj`."""
    out: dict[str, tuple[Any, dataclasses.Field]] = {}
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        if f.metadata.get("section"):
            out.update(_walk(getattr(obj, f.name), f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = (obj, f)
    return out


def env_name(key: str) -> str:
    """`server.osc_port` -> `GRYM_SERVER_OSC_PORT`."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def _field_type(obj: Any, f: dataclasses.Field) -> Any:
    return get_type_hints(type(obj))[f.name]


def _coerce(key: str, raw: Any, obj: Any, f: dataclasses.Field, where: str) -> Any:
    """Convert `raw` (from TOML, an env string or a flag) to the field's type and check its limits."""
    typ = _field_type(obj, f)
    meta = f.metadata

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"config key '{key}' ({where}): expected {expected}, got {raw!r}")

    try:
        if typ is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif isinstance(raw, str) and raw.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                value = raw.strip().lower() in {"1", "true", "yes", "on"}
            else:
                raise bad("true or false")
        elif typ is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise bad("an integer")
            value = int(raw)
        elif typ is float:
            if isinstance(raw, bool):
                raise bad("a number")
            value = float(raw)
        elif typ is Path:
            if not isinstance(raw, (str, Path)) or not str(raw):
                raise bad("a path")
            value = Path(raw).expanduser()
        elif get_origin(typ) is list:
            if isinstance(raw, str):
                raw_items = [p for p in raw.replace(os.pathsep, ",").split(",") if p.strip()]
            elif isinstance(raw, (list, tuple)):
                raw_items = list(raw)
            else:
                raise bad("a list")
            (item_type,) = get_args(typ) or (str,)
            value = [item_type(x.strip() if isinstance(x, str) else x) for x in raw_items]
        else:
            if not isinstance(raw, str):
                raise bad("a string")
            value = raw
    except (TypeError, ValueError):
        raise bad(f"a value of type {getattr(typ, '__name__', typ)}") from None

    if "min" in meta and value < meta["min"]:
        raise bad(f"a value of at least {meta['min']}")
    if "max" in meta and value > meta["max"]:
        raise bad(f"a value of at most {meta['max']}")
    if "choices" in meta and value not in meta["choices"]:
        raise bad("one of " + ", ".join(map(str, meta["choices"])))
    return value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def load_config(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective configuration.

    `config_file` is the `--config` flag (else `GRYM_CONFIG`, else the platform
    default if it exists). `overrides` maps dotted keys to flag values; `None`
    values are ignored so unset flags fall through.
    """
    env = os.environ if environ is None else environ
    cfg = Config()
    fields = _walk(cfg)

    explicit = config_file or env.get(ENV_PREFIX + "CONFIG")
    path = Path(explicit).expanduser() if explicit else default_config_file()
    if explicit and not path.is_file():
        raise ConfigError(f"config file {path} does not exist (from {'--config' if config_file else 'GRYM_CONFIG'})")
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if path.is_file():
        cfg.file = path
        data = _flatten(_read_file(path))
        unknown = [k for k in data if k not in fields]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, list(fields), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known keys: {', '.join(fields)}."
            raise ConfigError(f"config file {path}: unknown key '{k}'.{hint}")
        layers.append((f"file {path}", data))

    layers.append(("env", {k: env[env_name(k)] for k in fields if env_name(k) in env}))
    layers.append(("flag", {k: v for k, v in (overrides or {}).items() if v is not None}))

    for origin, values in layers:
        for key, raw in values.items():
            if key not in fields:
                raise ConfigError(f"unknown config key '{key}' ({origin})")
            obj, f = fields[key]
            where = f"environment variable {env_name(key)}" if origin == "env" else origin
            setattr(obj, f.name, _coerce(key, raw, obj, f, where))
            cfg.sources[key] = f"env {env_name(key)}" if origin == "env" else origin
    cfg.data_dir = Path(cfg.data_dir).expanduser()
    return cfg
