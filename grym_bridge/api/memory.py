"""`/grym/memory/*`: remember clips, find similar ones, list, tag, rate, read and forget them.

Adding (analysis) and searching (which may build the index on a large memory)
run as jobs; reading, tagging, rating and forgetting are one small SQLite
transaction each and answer at once. The store is the one the orchestrator's
steps use, opened on first use.
"""

from __future__ import annotations

from typing import Any

from grym_bridge.results import dumps, to_jsonable
from grym_bridge.api.routes import Arg, Request, Route


def _store(req: Request) -> Any:
    return req.services.memory()


def _tags(req: Request, text: str) -> list[str]:
    """Tags as Max sends them: one comma-separated symbol, or a JSON list; bounded by the config."""
    from grym_bridge.memory.checks import parse_tags

    limits = req.services.config.memory
    return parse_tags(text, max_tags=limits.max_tags, max_chars=limits.max_tag_chars)


def add(req: Request, path: str, tags: str, source: str, provenance: dict) -> None:
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import add_paths

    checked = req.services.paths.check(path)
    tag_list = _tags(req, tags)
    config = req.services.config
    store = _store(req)
    policy = req.services.paths
    req.start_job("memory.add", lambda job: add_paths(store, [checked], analyzer=default_analyzer(config),
                                                      source=source, tags=tag_list, provenance=provenance,
                                                      progress=job.progress, check=policy.check))


def similar(req: Request, query: str, k: int, threshold: float, space: str, taste: bool) -> None:
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import query_for
    from grym_bridge.memory.taste import like_my_kept, personalize

    text = query.strip()
    if text != "kept" and not text.isdigit():
        text = str(req.services.paths.check(text))
    limit = None if threshold <= -1.0 else threshold
    config = req.services.config
    store = _store(req)

    def work(job: Any) -> Any:
        job.progress(0.0, "searching")
        if text == "kept":
            return like_my_kept(store, k, limit, space=space)
        matches = store.similar(query_for(store, default_analyzer(config), text, space), k * 4 if taste else k,
                                limit, space=space)
        return personalize(store, matches, space=space)[:k] if taste else matches

    req.start_job("memory.similar", work)


def get(req: Request, clip_id: int, features: bool) -> None:
    clip = to_jsonable(_store(req).get(clip_id))
    if not features:
        clip.pop("features", None)
    req.reply_json(clip)


def list_clips(req: Request, q: str, tag: str, source: str, limit: int) -> None:
    from grym_bridge.api.views import clips  # the page's clip list, one filter for both

    req.reply_json(clips(req.services, {"q": q, "tag": tag, "source": source, "limit": str(limit)}))


def tag(req: Request, clip_id: int, tags: str, remove: bool) -> tuple[Any, ...]:
    words = _tags(req, tags)
    store = _store(req)
    clip = store.tag(clip_id, remove=words) if remove else store.tag(clip_id, add=words)
    return (clip.id, dumps(list(clip.tags)))


def rate(req: Request, clip_id: int, value: str) -> tuple[Any, ...]:
    clip = _store(req).rate(clip_id, value)
    return (clip.id, dumps(clip.feedback))


def forget(req: Request, clip_id: int) -> tuple[Any, ...]:
    _store(req).forget(clip_id)
    return (clip_id, "forgotten")


_CLIP = Arg("clip_id", int, help="clip id (from add, similar or `grym memory list`)")

ROUTES = [
    Route("/grym/memory/add", add,
          args=[Arg("path", str, help="an audio file, or a folder (searched recursively)")],
          options=[Arg("tags", str, "", help="tags for every added clip: 'dark,pad' or a JSON list"),
                   Arg("source", str, "analyzed", choices=("analyzed", "generated", "rendered", "imported"),
                       help="where the audio came from"),
                   Arg("provenance", dict, {}, help="JSON object: prompt, model, seed, chain, ...")],
          reply="job: result {added: [ids], known: [ids], failed: [{path, code, message}]}",
          doc="Analyze and remember audio files (already known content is not analyzed again)."),
    Route("/grym/memory/similar", similar,
          args=[Arg("query", str, help="a clip id, an audio file path, or 'kept' for more like the clips you kept")],
          options=[Arg("k", int, 10, min=1, max=1000, help="how many matches"),
                   Arg("threshold", float, -1.0, min=-1.0, max=1.0,
                       help="only matches at least this similar (cosine; -1 keeps all)"),
                   Arg("space", str, "features", choices=("features", "embedding"), help="what to compare"),
                   Arg("taste", bool, False, help="re-rank by your kept and rejected clips")],
          reply="job: result [{id, path, score}], best first",
          doc="Clips that sound like a clip, a file, or your taste."),
    Route("/grym/memory/get", get, args=[_CLIP],
          options=[Arg("features", bool, False, help="include the full analysis")],
          reply="<req_id> <json clip>",
          doc="One clip: path, source, tags, provenance, feedback, duration, sample rate (and features)."),
    Route("/grym/memory/list", list_clips,
          options=[Arg("q", str, "", help="only clips whose path or tags contain this text"),
                   Arg("tag", str, "", help="only clips with this tag"),
                   Arg("source", str, "", choices=("", "analyzed", "generated", "rendered", "imported"),
                       help="only clips from this source (empty: all)"),
                   Arg("limit", int, 200, min=1, max=5000, help="at most this many, newest first")],
          reply="<req_id> <json {clips: [{id, path, source, tags, rating, kept, rejected, ...}]}>",
          doc="The remembered clips, newest first, filtered by text, tag or source."),
    Route("/grym/memory/tag", tag, args=[_CLIP, Arg("tags", str, help="'dark,pad' or a JSON list")],
          options=[Arg("remove", bool, False, help="remove these tags instead of adding them")],
          reply="<req_id> <clip_id> <json tags>", doc="Add or remove tags on a clip; tags teach classification."),
    Route("/grym/memory/rate", rate, args=[_CLIP, Arg("value", str, help="a rating 0..5, kept, rejected or clear")],
          reply="<req_id> <clip_id> <json {rating, kept, rejected}>",
          doc="Give feedback on a clip; it shifts what 'more like my kept clips' returns."),
    Route("/grym/memory/forget", forget, args=[_CLIP], reply="<req_id> <clip_id> forgotten",
          doc="Delete a clip from the memory (its audio file is left alone)."),
]
