"""Text-to-audio generation (AudioLDM / AudioLDM 2 through diffusers), conformed to the session.

`TextToAudio` (runner.py) is the capability; `GenerateOptions` (options.py) the
request; conform.py fits audio to bars, loop point, loudness and rate;
render.py writes files with their provenance; prompts.py builds prompts from
analyses and kept clips. torch and diffusers load only when a model runs.
"""
