"""Playing a clip out of the MIDI ports in time, on its own thread, stoppable at any moment."""

from __future__ import annotations

import threading
import time
from typing import Callable, Protocol, Sequence

import mido

SendFn = Callable[[mido.Message], None]


class ClipNote(Protocol):
    pitch: int
    start: float
    duration: float
    velocity: int
    channel: int

    @property
    def end(self) -> float: ...


class Clip(Protocol):
    """What the player needs of a clip (`grym_bridge.compose.Clip` has it; the api layer reads the file)."""

    tempo: float

    @property
    def notes(self) -> Sequence[ClipNote]: ...

    @property
    def length_beats(self) -> float: ...


def clip_schedule(clip: Clip, tempo: float | None = None) -> list[tuple[float, mido.Message]]:
    """(seconds from the start, message) for every note-on and note-off of `clip`, in order."""
    seconds_per_beat = 60.0 / (tempo or clip.tempo)
    events: list[tuple[float, int, mido.Message]] = []
    for n in clip.notes:
        events.append((n.start * seconds_per_beat, 1, mido.Message("note_on", channel=n.channel, note=n.pitch,
                                                                     velocity=n.velocity)))
        events.append((n.end * seconds_per_beat, 0, mido.Message("note_off", channel=n.channel, note=n.pitch)))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(t, msg) for t, _order, msg in events]


class ClipPlayer:
    """Plays one clip at a time; starting another stops the first. Notes never hang: stop sends note-offs."""

    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self, clip: Clip, tempo: float | None = None) -> float:
        """Start playing `clip` now; returns its length in seconds."""
        schedule = clip_schedule(clip, tempo)
        length = clip.length_beats * 60.0 / (tempo or clip.tempo)
        with self._lock:
            self.stop()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(schedule, length, self._stop),
                                            name="grym-midi-player", daemon=True)
            self._thread.start()
        return length

    def stop(self, timeout: float = 2.0) -> None:
        """Stop playing (and silence what was sounding)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, schedule: list[tuple[float, mido.Message]], length: float, stop: threading.Event) -> None:
        sounding: set[tuple[int, int]] = set()
        start = time.perf_counter()
        try:
            for at, msg in schedule:
                # Sleep most of the wait, then spin the last millisecond: OS sleeps overshoot by ~0.1-1 ms.
                while True:
                    remaining = at - (time.perf_counter() - start)
                    if remaining <= 0 or stop.is_set():
                        break
                    if remaining > 0.002:
                        stop.wait(remaining - 0.001)
                if stop.is_set():
                    break
                self._send(msg)
                if msg.type == "note_on":
                    sounding.add((msg.channel, msg.note))
                else:
                    sounding.discard((msg.channel, msg.note))
            if not stop.is_set():
                stop.wait(max(0.0, length - (time.perf_counter() - start)))
        finally:
            for channel, note in sorted(sounding):
                self._send(mido.Message("note_off", channel=channel, note=note))
