"""`/grym/analyze/file`: analyse a clip as a cpu job whose result is the analysis JSON."""

from __future__ import annotations

from grym_bridge.api.routes import Arg, Request, Route
from grym_bridge.errors import BadRequest

#: What the analysis can follow (grym_bridge.analysis.METER_OF_TIME_SIGNATURE, spelled here so that
#: building the route table does not import the analysis and numpy).
FOLLOWED = ("4/4", "2/4", "2/2", "3/4", "6/8", "12/8")


def _time_signature(req: Request, given: str, session_id: str) -> str | None:
    """The meter the analysis follows: the request's, else the session's once the DAW has set it, else None
    (detect). A request's unsupported signature is refused; a session's (7/8, say) leaves detection on."""
    from grym_bridge.analysis import meter_class

    if given.strip():
        if meter_class(given) is None:
            raise BadRequest(f"time_signature {given!r}: the analysis follows {', '.join(FOLLOWED)}; "
                             "leave it empty to detect the meter")
        return given.strip()
    session = req.services.orchestrator.sessions.get(session_id).time_signature
    return session if meter_class(session) else None


def analyze_file(req: Request, path: str, embed: bool, time_signature: str, session: str) -> None:
    """Check the path (and the meter to follow) now; analyse it in a worker."""
    checked = req.services.paths.check(path)
    meter = _time_signature(req, time_signature, session)
    config = req.services.config

    def work(job):  # type: ignore[no-untyped-def]
        from grym_bridge.analysis import analyze_file as analyse

        return analyse(checked, config, embed=embed, progress=job.progress, time_signature=meter)

    req.start_job("analyze", work, resource="gpu" if embed else "cpu")


ROUTES = [
    Route(
        "/grym/analyze/file",
        analyze_file,
        args=[Arg("path", str, help="an audio file (wav, aiff, flac, ogg, mp3) under the allowed folders")],
        options=[Arg("embed", bool, False, help="add a wav2vec2 embedding (needs the model; runs as a gpu job)"),
                 Arg("time_signature", str, "",
                     help=f"the meter bars follow: {', '.join(FOLLOWED)} (default: the session's once set, "
                          "else detected)"),
                 Arg("session", str, "default", help="the session whose time signature bars follow")],
        reply="job: result is the analysis JSON (loudness, tempo, beats, key and chords, meter and bars, bands, "
              "patterns, vector)",
        resource="auto",  # gpu with embed
        doc="Analyse an audio file: loudness, peaks, tempo and beats, key and chords, meter and bars, spectrum, "
            "stereo, patterns.",
    ),
]
