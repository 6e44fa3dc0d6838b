"""Configuration: embedded defaults, a TOML file, `GRYM_*` variables and flags (see `config.loading`).

The sections live beside their concerns: `core` (server, paths, jobs, audio,
network), `capabilities` (models, generate, memory, analysis, midi, fx),
`orchestration` (orchestrator, health, resources); `fields` has `setting`
and `section`, what a new section is built from. Every name is importable
from `grym_bridge.config` as before.
"""

from grym_bridge.config.capabilities import (AnalysisConfig, FxConfig, GenerateConfig, MemoryConfig, MidiConfig,
                                             ModelsConfig)
from grym_bridge.config.core import AudioConfig, HttpConfig, JobsConfig, NetworkConfig, PathsConfig, ServerConfig
from grym_bridge.config.fields import (APP_NAME, ENV_PREFIX, default_config_file, default_data_dir, section,
                                       setting)
from grym_bridge.config.loading import Config, env_name, load_config
from grym_bridge.config.orchestration import HealthConfig, OrchestratorConfig, ResourcesConfig

__all__ = [
    "APP_NAME", "AnalysisConfig", "AudioConfig", "Config", "ENV_PREFIX", "FxConfig", "GenerateConfig", "HealthConfig",
    "HttpConfig", "JobsConfig", "MemoryConfig", "MidiConfig", "ModelsConfig", "NetworkConfig", "OrchestratorConfig", "PathsConfig",
    "ResourcesConfig", "ServerConfig", "default_config_file", "default_data_dir", "env_name", "load_config",
    "section", "setting",
]
