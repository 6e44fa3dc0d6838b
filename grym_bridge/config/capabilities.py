"""Config sections of the capabilities: models, generation, the feature memory, analysis, MIDI and effects."""

from __future__ import annotations

from dataclasses import dataclass

from grym_bridge.config.fields import setting


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
        "auto", "Also compile the UNet, VAE and vocoder with torch.compile under their CUDA graphs: auto (where a "
        "CUDA GPU and Triton are), on, or off. AudioLDM 2 runs about 1.3x faster; the first clip of a new length "
        "or batch size waits for one more compile (kernels cached in <data dir>/cache/compile across runs).",
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
    """The feature memory: an SQLite file under the data directory (or a shared PostgreSQL database) and its
    vector index."""

    backend: str = setting(
        "sqlite", "sqlite: one file in the data directory; postgresql: a database shared by a studio's bridges "
        "(memory.dsn).", choices=["sqlite", "postgresql"],
    )
    dsn: str = setting(
        "", "PostgreSQL connection string (postgresql://user:password@host:5432/db, or key=value form) when "
        "memory.backend is postgresql; set it with GRYM_MEMORY_DSN to keep the password out of files. Never "
        "shown with its password.",
    )
    machine: str = setting(
        "", "This bridge's name in the shared memory's locations table (which machine holds which file); "
        "empty: the host name.",
    )
    listen: bool = setting(
        True, "Hear other bridges' writes at once through LISTEN on a direct connection. Set false when memory.dsn "
        "goes through a pooler in transaction mode (PgBouncer, Supabase's pooler), which does not deliver "
        "notifications; then each search checks the shared write counter instead.",
    )
    pgvector: str = setting(
        "auto", "auto: search in PostgreSQL with the vector extension when the database has it, else in a local "
        "index fed by the change log; off: always the local index.", choices=["auto", "off"],
    )
    file: str = setting("memory.sqlite3", "The memory database, relative to the data directory (or absolute).")
    synchronous: str = setting(
        "full", "full: every acknowledged write survives power loss (an fsync per write); "
        "normal: survives a killed process, may lose the last writes on power loss.",
        choices=["full", "normal"],
    )
    exact_below: int = setting(20_000, "Below this many vectors similarity search is exact; above, an HNSW index.", min=1)
    ef_search: int = setting(128, "HNSW search breadth: higher is more accurate and slower.", min=10, max=4096)
    cache_size: int = setting(2048, "Clips kept in the hot-read cache (0: no cache).", min=0, max=10_000_000)
    max_tags: int = setting(32, "Most tags one request (or plan step) may give a clip.", min=1, max=10_000)
    max_tag_chars: int = setting(64, "Longest tag, in characters.", min=1, max=100)


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
