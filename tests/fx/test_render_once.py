"""`/grym/fx/render` parses its chain once and opens its source once, from datagram to rendered file.

The counts are taken on the real objects: every `ChainSpec` built (one per
parse) and every `soundfile` open of the source clip, across the handler,
the fx service and plugin_host's renderer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

import plugin_host.chain
from grym_bridge.audio_io import Audio
from tests.fx.conftest import write_clip
from tests.fx.material import SR, base
from tests.osc_client import RunningServer, osc_server  # noqa: F401


def test_render_parses_its_chain_once_and_opens_its_source_once(osc_server: RunningServer, tmp_path: Path,  # noqa: F811
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    clip = write_clip(tmp_path, "clip", Audio(base(2.0), SR))
    chain = json.dumps([{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 120.0}},
                        {"plugin": "Reverb", "params": {"room_size": 0.3}}])
    parses: list[int] = []
    opens: list[str] = []
    spec_init = plugin_host.chain.ChainSpec.__init__
    file_init = sf.SoundFile.__init__
    info = sf.info

    def counting_spec(self: Any, *args: Any, **kwargs: Any) -> None:
        parses.append(1)
        spec_init(self, *args, **kwargs)

    def counting_open(self: Any, file: Any, *args: Any, **kwargs: Any) -> None:
        opens.append(str(file))
        file_init(self, file, *args, **kwargs)

    def counting_info(file: Any, *args: Any, **kwargs: Any) -> Any:
        opens.append(str(file))
        return info(file, *args, **kwargs)

    monkeypatch.setattr(plugin_host.chain.ChainSpec, "__init__", counting_spec)
    monkeypatch.setattr(sf.SoundFile, "__init__", counting_open)
    monkeypatch.setattr(sf, "info", counting_info)
    with osc_server.client() as client:
        result = client.wait_job(client.start_job("/grym/fx/render", str(clip), chain))
    assert Path(result["path"]).is_file() and result["chain"]["chain"][1]["plugin"] == "Reverb"
    assert len(parses) == 1, f"the chain was parsed {len(parses)} times"
    assert opens.count(str(clip)) == 1, f"the source was opened {opens.count(str(clip))} times: {opens}"
