"""Configuration layering, sources and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from grym_bridge.config import load_config
from grym_bridge.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_file_env_and_flags_layer_in_order(tmp_path: Path) -> None:
    cfg_file = write(tmp_path / "c.toml", '[server]\nosc_port = 9200\nhost = "0.0.0.0"\n[jobs]\nqueue_size = 8\n')
    env = {"GRYM_SERVER_OSC_PORT": "9300", "GRYM_JOBS_CPU_WORKERS": "3"}
    cfg = load_config(cfg_file, {"server.osc_port": 9400, "server.host": None}, environ=env)
    assert cfg.server.osc_port == 9400 and cfg.sources["server.osc_port"] == "flag"
    assert cfg.server.host == "0.0.0.0" and cfg.sources["server.host"] == f"file {cfg_file}"
    assert cfg.jobs.cpu_workers == 3 and cfg.sources["jobs.cpu_workers"] == "env GRYM_JOBS_CPU_WORKERS"
    assert cfg.jobs.queue_size == 8
    assert cfg.jobs.gpu_workers == 1 and "jobs.gpu_workers" not in cfg.sources
    assert cfg.file == cfg_file


def test_env_names_the_file_and_data_dir(tmp_path: Path) -> None:
    cfg_file = write(tmp_path / "c.toml", 'log_level = "debug"\n')
    cfg = load_config(None, None, environ={"GRYM_CONFIG": str(cfg_file), "GRYM_DATA_DIR": str(tmp_path / "d")})
    assert cfg.log_level == "debug" and cfg.data_dir == tmp_path / "d"


def test_lists_come_from_toml_arrays_or_comma_separated_env(tmp_path: Path) -> None:
    cfg = load_config(None, None, environ={"GRYM_PATHS_ALLOWED_ROOTS": "/a,/b"})
    assert cfg.paths.allowed_roots == ["/a", "/b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nosc_port = 'abc'\n", "server.osc_port"),
        ("[server]\nosc_port = 70000\n", "at most 65535"),
        ("[server]\nosc_prot = 9000\n", "Did you mean 'server.osc_port'"),
        ("log_level = 'loud'\n", "one of debug, info, warning, error"),
        ("[server\nosc_port = 1\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_key_and_the_file(tmp_path: Path, text: str, expected: str) -> None:
    cfg_file = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file, environ={})
    assert expected in err.value.message and str(cfg_file) in err.value.message


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, None, environ={"GRYM_JOBS_QUEUE_SIZE": "lots"})
    assert "GRYM_JOBS_QUEUE_SIZE" in err.value.message and "jobs.queue_size" in err.value.message


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_a_relative_client_path_is_refused_with_what_to_send(config, tmp_path: Path, monkeypatch) -> None:
    from grym_bridge.errors import PathNotAllowed
    from grym_bridge.paths import PathPolicy

    policy = PathPolicy.from_config(config)
    monkeypatch.chdir(tmp_path.anchor)  # the server's folder, outside the allowed roots
    with pytest.raises(PathNotAllowed) as relative:
        policy.check("loops/song.wav")
    assert "loops/song.wav is not a full path" in relative.value.message
    assert f"{Path(tmp_path.anchor, 'loops', 'song.wav')}" in relative.value.message
    assert relative.value.message.endswith("send the file's absolute path")
    with pytest.raises(PathNotAllowed) as outside:
        policy.check("/etc/hostname")
    assert "add its folder to paths.allowed_roots" in outside.value.message
