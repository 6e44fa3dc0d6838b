"""plugin_host: effect chains as JSON, pedalboard rendering in blocks, VST3 scanning.

Its own top-level package (numpy, soundfile and pedalboard only; no grym_bridge,
no scipy), so it can be used and tested on its own::

    from plugin_host import parse_chain, render_file, RenderOptions
    render_file("loop.wav", [{"plugin": "Reverb", "params": {"room_size": 0.3}}], "out.wav",
                options=RenderOptions(ab=True))
"""

from plugin_host.catalog import ParamInfo, PluginInfo, builtin_plugins, catalog_text
from plugin_host.chain import (ChainSpec, PluginSpec, from_pedalboard, load_chain_file, make_plugin,
                               parse_chain, to_pedalboard)
from plugin_host.errors import AudioError, ChainError, OutputError, PluginHostError, PluginLoadError
from plugin_host.loudness import LoudnessMeter, MeterFactory, StreamingLoudness, integrated_lufs
from plugin_host.processor import Processor, process_array
from plugin_host.render import ABPair, RenderOptions, RenderResult, default_output_path, render_file
from plugin_host.vst3 import Vst3Entry, load_vst3, scan, standard_folders

__all__ = [
    "ABPair", "AudioError", "ChainError", "ChainSpec", "OutputError", "LoudnessMeter", "MeterFactory", "ParamInfo",
    "PluginHostError", "PluginInfo", "PluginLoadError", "PluginSpec", "Processor", "RenderOptions",
    "RenderResult", "StreamingLoudness", "Vst3Entry", "builtin_plugins", "catalog_text", "default_output_path",
    "from_pedalboard", "integrated_lufs", "load_chain_file", "load_vst3", "make_plugin", "parse_chain",
    "process_array", "render_file", "scan", "standard_folders", "to_pedalboard",
]
