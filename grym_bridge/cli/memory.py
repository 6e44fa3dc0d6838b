"""`grym memory`: what the bridge remembers, and what sounds like what."""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from typing import Any, Iterator

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.cli.progress import progress_bar
from grym_bridge.config import Config
from grym_bridge.paths import ensure_data_dir


@contextmanager
def _store(config: Config) -> Iterator[Any]:
    from grym_bridge.memory import open_memory

    ensure_data_dir(config)
    store = open_memory(config)
    try:
        yield store
    finally:
        store.close()


@click.group("memory")
def memory_group() -> None:
    """The feature memory: every clip analyzed, generated or rendered, searchable by similarity.

    It lives in one SQLite file in the data folder (memory.sqlite3), shared by the
    server and these commands, or in a PostgreSQL database a studio's bridges share
    (memory.backend = "postgresql", GRYM_MEMORY_DSN). Feedback (`rate`) teaches it your taste.
    """


@memory_group.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--tag", "tags", multiple=True, help="Tag every added clip (repeat for more tags).")
@click.option("--source", type=click.Choice(["analyzed", "generated", "rendered", "imported"]), default="analyzed",
              show_default=True, help="Where the audio came from.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_config
def add(config: Config, paths: tuple[str, ...], tags: tuple[str, ...], source: str, as_json: bool) -> None:
    """Analyze and remember audio files; folders are searched recursively.

    Files already remembered (same content) are not analyzed again unless the
    analyzer has changed since. A bad file is reported and skipped.
    """
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import add_paths

    with _store(config) as store, progress_bar("adding", enabled=not as_json) as progress:
        report = add_paths(store, paths, analyzer=default_analyzer(config), source=source, tags=tags, progress=progress)
    if as_json:
        echo_json(report)
        return
    for failure in report.failed:
        click.echo(f"skipped {failure['path']}: {failure['message']}", err=True)
    click.echo(f"{len(report.added)} added, {len(report.known)} already known, {len(report.failed)} skipped")


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@memory_group.command("list")
@click.option("--tag", default=None, help="Only clips with this tag.")
@click.option("--source", type=click.Choice(["analyzed", "generated", "rendered", "imported"]), default=None,
              help="Only clips from this source.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_config
def list_(config: Config, tag: str | None, source: str | None, limit: int, offset: int, as_json: bool) -> None:
    """Remembered clips, newest first."""
    with _store(config) as store:
        clips = store.list_clips(tag=tag, source=source, limit=limit, offset=offset)
    if as_json:
        echo_json(clips)
        return
    for c in clips:
        mark = "kept" if c.kept else "rejected" if c.rejected else ""
        rating = f"{c.rating:g}/5" if c.rating is not None else ""
        click.echo(f"{c.id:>7}  {_when(c.created_at)}  {c.source:<9} {mark:<8} {rating:<5} {c.path}"
                   + (f"  [{', '.join(c.tags)}]" if c.tags else ""))


@memory_group.command("show")
@click.argument("clip_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the clip, with its features, as JSON.")
@pass_config
def show(config: Config, clip_id: int, as_json: bool) -> None:
    """One clip: where it is, where it came from, its tags, feedback and main features."""
    with _store(config) as store:
        clip = store.get(clip_id)
    if as_json:
        echo_json(clip)
        return
    fb = clip.feedback
    click.echo(f"clip {clip.id}: {clip.path}")
    click.echo(f"  source {clip.source}, added {_when(clip.created_at)}, content {clip.content_hash[:16]}")
    if clip.duration_s is not None:
        click.echo(f"  {clip.duration_s:.2f} s at {clip.sample_rate} Hz")
    click.echo(f"  tags: {', '.join(clip.tags) or '-'}")
    click.echo(f"  feedback: {'kept' if fb.kept else 'rejected' if fb.rejected else '-'}"
               + (f", rated {fb.rating:g}/5" if fb.rating is not None else ""))
    for key, value in clip.provenance.items():
        click.echo(f"  {key}: {value}")
    features = clip.features or {}
    for key in ("tempo_bpm", "key", "lufs_integrated", "spectral_centroid_hz", "harmonic_pattern"):
        if key in features:
            click.echo(f"  {key}: {features[key]}")
    click.echo(f"  vectors: {', '.join(clip.spaces) or 'none'} (analyzer {clip.analyzer_version or '-'})")


@memory_group.command("similar")
@click.argument("file_or_id", required=False)
@click.option("-k", "--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many matches.")
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), default=None,
              help="Only matches at least this similar (cosine, -1..1; 1 is identical).")
@click.option("--space", type=click.Choice(["features", "embedding"]), default="features", show_default=True,
              help="Compare analyzer features or neural embeddings.")
@click.option("--taste", is_flag=True, help="Re-rank by your feedback; with no FILE_OR_ID: more like the clips you kept.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {id, path, score, locations} (locations: machine -> path, shared memory).")
@pass_config
def similar(config: Config, file_or_id: str | None, k: int, threshold: float | None, space: str, taste: bool,
            as_json: bool) -> None:
    """Clips that sound like a remembered clip (by id) or an audio file, best first."""
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import query_for
    from grym_bridge.memory.taste import like_my_kept, personalize

    if file_or_id is None and not taste:
        raise click.UsageError("give a FILE_OR_ID, or --taste for more like the clips you kept")
    with _store(config) as store:
        if file_or_id is None:
            matches = like_my_kept(store, k, threshold, space=space)
        else:
            query = query_for(store, default_analyzer(config), file_or_id, space)
            matches = store.similar(query, k * 4 if taste else k, threshold, space=space)
            if taste:
                matches = personalize(store, matches, space=space)[:k]
    if as_json:
        echo_json(matches)
        return
    if not matches:
        click.echo("no matches" + (f" at or above {threshold}" if threshold is not None else ""))
    for m in matches:
        where = "  (" + ", ".join(f"{machine}: {p}" for machine, p in m.locations.items()) + ")" if m.locations else ""
        click.echo(f"{m.score:7.4f}  {m.id:>7}  {m.path}{where}")


_AXES = ["features", "embedding", "rhythm", "harmony", "spectral"]


@memory_group.command("classify")
@click.argument("file_or_id")
@click.option("--by", "axis", type=click.Choice(_AXES), default="features", show_default=True,
              help="Compare the whole sound, or only its rhythm, harmony or spectral pattern.")
@click.option("-k", "--k", "k", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many nearest tagged clips vote.")
@click.option("--json", "as_json", is_flag=True, help="Print {label, confidence, votes, neighbours} as JSON.")
@pass_config
def classify(config: Config, file_or_id: str, axis: str, k: int, as_json: bool) -> None:
    """Which of your tags fits a clip or file: its nearest tagged clips vote by similarity."""
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import query_for
    from grym_bridge.memory.patterns import PatternRecognizer

    with _store(config) as store:
        result = PatternRecognizer(store).classify_pattern(query_for(store, default_analyzer(config), file_or_id, axis),
                                                           axis, k)
    if as_json:
        echo_json(result)
    elif result.label is None:
        click.echo("no tagged clips to compare with yet: tag some with `grym memory tag ID WORD`")
    else:
        # votes are summed similarities; shown as the same share of the neighbours' similarity as the confidence
        scale = result.confidence / result.votes[result.label] if result.votes.get(result.label) else 0.0
        runners_up = [(t, v) for t, v in result.votes.items() if t != result.label][:3]
        others = ", ".join(f"{t} {min(1.0, v * scale):.2f}" for t, v in runners_up)
        click.echo(f"{result.label} (confidence {result.confidence:.2f})" + (f"; also {others}" if others else ""))


@memory_group.command("patterns")
@click.argument("file_or_id")
@click.option("--kind", type=click.Choice(["rhythm", "harmony", "spectral"]), default="rhythm", show_default=True)
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), default=0.8, show_default=True,
              help="Only patterns correlating at least this much (-1..1).")
@click.option("-k", "--k", "k", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the matches, the related patterns and tags as JSON.")
@pass_config
def patterns(config: Config, file_or_id: str, kind: str, threshold: float, k: int, as_json: bool) -> None:
    """Clips sharing a groove, harmony or spectral shape, and what goes with it in your library."""
    from grym_bridge.memory.analyzer import default_analyzer
    from grym_bridge.memory.ingest import query_for
    from grym_bridge.memory.patterns import PatternRecognizer

    with _store(config) as store:
        query = query_for(store, default_analyzer(config), file_or_id, kind)
        related = PatternRecognizer(store).get_related_patterns(query, kind, k, threshold)
        paths = {m.id: store.get(m.id).path for m in related.matches}
    if as_json:
        echo_json(related)
        return
    if not related.matches:
        click.echo(f"no {kind} pattern at or above {threshold}")
    for m in related.matches:
        click.echo(f"{m.score:7.4f}  {m.id:>7}  {paths[m.id]}")
    if related.tags:
        click.echo("tags they carry: " + ", ".join(f"{t} ({n})" for t, n in related.tags.items()))


@memory_group.command("tag")
@click.argument("clip_id", type=int)
@click.argument("tags", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Remove these tags instead of adding them.")
@pass_config
def tag(config: Config, clip_id: int, tags: tuple[str, ...], remove: bool) -> None:
    """Add (or --remove) tags on a clip. Your tags are what `classify` learns from."""
    with _store(config) as store:
        clip = store.tag(clip_id, remove=tags) if remove else store.tag(clip_id, add=tags)
    click.echo(f"clip {clip.id}: {', '.join(clip.tags) or 'no tags'}")


@memory_group.command("rate")
@click.argument("clip_id", type=int)
@click.argument("value")
@pass_config
def rate(config: Config, clip_id: int, value: str) -> None:
    """Tell the memory what you think: VALUE is a rating 0..5, kept, rejected or clear."""
    with _store(config) as store:
        fb = store.rate(clip_id, value).feedback
    state = "kept" if fb.kept else "rejected" if fb.rejected else "no verdict"
    click.echo(f"clip {clip_id}: {state}" + (f", rated {fb.rating:g}/5" if fb.rating is not None else ""))


@memory_group.command("forget")
@click.argument("clip_ids", nargs=-1, required=True, type=int)
@pass_config
def forget(config: Config, clip_ids: tuple[int, ...]) -> None:
    """Delete clips from the memory (their audio files are left alone)."""
    with _store(config) as store:
        for clip_id in clip_ids:
            store.get(clip_id)  # all exist, or nothing is forgotten
        for clip_id in clip_ids:
            store.forget(clip_id)
    click.echo(f"forgot {len(clip_ids)} clip{'s' if len(clip_ids) != 1 else ''}")


@memory_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@pass_config
def export(config: Config, file: str) -> None:
    """Write the whole memory to FILE (JSON Lines: clips, features, vectors, tags, feedback)."""
    from grym_bridge.memory.transfer import export_memory

    with _store(config) as store, progress_bar("exporting") as progress:
        result = export_memory(store, file, progress)
    click.echo(f"exported {result.clips} clips to {result.path}")


@memory_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_config
def import_(config: Config, file: str) -> None:
    """Merge an export FILE into this memory (clips already known are merged, not duplicated)."""
    from grym_bridge.memory.transfer import import_memory

    with _store(config) as store, progress_bar("importing") as progress:
        result = import_memory(store, file, progress)
    click.echo(f"imported {result.clips} clips from {result.path} ({result.new} new)")


@memory_group.command("migrate")
@click.option("--to", "to", required=True, help="Where to copy: a PostgreSQL DSN, or an SQLite file path.")
@click.option("--from", "from_", default=None,
              help="What to copy (a DSN or an SQLite file); default: the configured memory.")
@pass_config
def migrate(config: Config, to: str, from_: str | None) -> None:
    """Copy a whole memory to another backend (SQLite to PostgreSQL, and back), verified by counts and hashes.

    Resumable: run it again after an interruption and it copies only what differs.
    """
    from grym_bridge.config.secrets import redact_dsn
    from grym_bridge.memory import open_memory, open_memory_at
    from grym_bridge.memory.migrate import migrate_memory

    ensure_data_dir(config)
    source = open_memory_at(from_, config) if from_ else open_memory(config)
    try:
        target = open_memory_at(to, config)
        try:
            with progress_bar("migrating") as progress:
                result = migrate_memory(source, target, progress)
        finally:
            target.close()
    finally:
        source.close()
    click.echo(f"copied {result.copied} clips to {redact_dsn(to)} ({result.skipped} already there, "
               f"{result.sessions} sessions); verified: {result.clips} clips, digest {result.digest[:16]}")


@memory_group.command("fetch")
@click.argument("clip_id", type=int)
@click.option("--from", "host", required=True, help="The bridge that has the clip: HOST or HOST:PORT (its RPC port).")
@click.option("--to", "dest", type=click.Path(file_okay=False), default=None,
              help="Folder for the copy (default: fetched/ in the data folder).")
@click.option("--token", default=None, help="That bridge's studio token (default: network.token, GRYM_NETWORK_TOKEN "
              "or this machine's token file).")
@pass_config
def fetch(config: Config, clip_id: int, host: str, dest: str | None, token: str | None) -> None:
    """Copy a clip of the shared memory from the bridge that holds it (checked against its content hash)."""
    import asyncio

    from grym_bridge.cli.models import _host_port
    from grym_bridge.memory.fetch import fetch_clip
    from grym_bridge.transports.auth import load_token
    from grym_bridge.transports.rpc.client import RpcClient

    address, rpc_port = _host_port(host, config.network.rpc_port)
    secret = token or load_token(config, create=False)
    folder = dest or str(config.data_dir / "fetched")

    async def run() -> Any:
        client = await RpcClient.connect(address, rpc_port, token=secret, client_name="grym memory fetch")
        try:
            return await fetch_clip(store, clip_id, client, folder)
        finally:
            await client.close()

    with _store(config) as store:
        clip = asyncio.run(run())
    click.echo(f"fetched clip {clip.id} to {clip.path}")


@memory_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@pass_config
def stats(config: Config, as_json: bool) -> None:
    """How much is remembered, how it is searched, and how big the store is."""
    with _store(config) as store:
        s = store.stats()
    if as_json:
        echo_json(s)
        return
    click.echo(f"{s.clips} clips in {s.location} ({s.size_bytes / 1e6:.1f} MB, schema {s.schema_version})")
    click.echo("  by source: " + (", ".join(f"{k} {v}" for k, v in sorted(s.by_source.items())) or "-"))
    click.echo("  vectors: " + (", ".join(f"{k} {v}" for k, v in sorted(s.vectors.items())) or "-"))
    click.echo("  patterns: " + (", ".join(f"{k} {v}" for k, v in sorted(s.patterns.items())) or "-"))
    click.echo(f"  {s.tags} tags, {s.kept} kept, {s.rejected} rejected, {s.rated} rated, {s.sessions} sessions")
    if s.stale:
        click.echo(f"  {s.stale} clips have features from an older analyzer (refreshed when next used)")
    for space, info in s.index.items():
        click.echo(f"  {space} index: {info['count']} vectors of {info['dim']} dimensions, {info['mode']} search")


commands = [memory_group]
