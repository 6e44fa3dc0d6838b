"""Text-to-audio generation (AudioLDM / AudioLDM 2 through diffusers), conformed to the session.

`TextToAudio` (runner.py) is the capability; `GenerateOptions` (options.py) the
request; conform.py fits audio to bars, loop point, loudness and rate;
render.py writes files with their provenance; prompts.py builds prompts from
analyses and kept clips. torch and diffusers load only when a model runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grym_bridge.config import Config


def status(config: "Config") -> tuple[str, str]:
    """For the banner and the self-test: is the default model's weights folder on this machine?

    Cheap: looks for folders, imports neither torch nor diffusers.
    """
    import importlib.util

    from grym_bridge.models.registry import ModelRegistry

    missing = [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        return "unavailable", f"install the models extra: pip install 'grym-bridge[models]' ({', '.join(missing)} missing)"
    model_id = config.models.default_model
    if ModelRegistry(config).locate(model_id) is None:
        return "needs_weights", f"{model_id} is not downloaded: grym models pull {model_id}"
    return "ready", model_id
