"""`/grym/analyze/file`: analyse a clip as a cpu job whose result is the analysis JSON."""

from __future__ import annotations

from grym_bridge.api.routes import Arg, Request, Route


def analyze_file(req: Request, path: str, embed: bool) -> None:
    """Check the path against the allowed roots now; analyse it in a worker."""
    checked = req.services.paths.check(path)
    config = req.services.config

    def work(job):  # type: ignore[no-untyped-def]
        from grym_bridge.analysis import analyze_file as analyse

        return analyse(checked, config, embed=embed, progress=job.progress)

    req.start_job("analyze", work, resource="gpu" if embed else "cpu")


ROUTES = [
    Route(
        "/grym/analyze/file",
        analyze_file,
        args=[Arg("path", str, help="an audio file (wav, aiff, flac, ogg, mp3) under the allowed folders")],
        options=[Arg("embed", bool, False, help="add a wav2vec2 embedding (needs the model; runs as a gpu job)")],
        reply="job: result is the analysis JSON (loudness, tempo, beats, key, chords, bands, patterns, vector)",
        resource="auto",  # gpu with embed
        doc="Analyse an audio file: loudness, peaks, tempo and beats, key and chords, spectrum, stereo, patterns.",
    ),
]
