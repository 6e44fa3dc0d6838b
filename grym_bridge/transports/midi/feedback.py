"""Controller feedback: the MIDI peer turns replies to a control's request into LED notes and CCs.

The router treats the MIDI transport as one more client (a `Peer`). Each
request a control fires carries its own request id; the peer remembers which
control sent it, follows the job the reply names, and lights the control:
`queued` when the job is accepted, `done` when it finishes (or when a quick
request answers), `error` when anything fails. Progress can drive a CC.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mido

from grym_bridge.transports.midi.mapping import Binding

log = logging.getLogger(__name__)

ERROR_ADDRESS = "/grym/error"
_MAX_PENDING = 512  # requests whose reply never came are forgotten oldest-first


@dataclass(frozen=True)
class Fired:
    """A request a control sent: which binding, and the channel the control spoke on."""

    binding: Binding
    channel: int


def feedback_message(fired: Fired, level: int) -> mido.Message | None:
    """The note or CC that shows `level` (0..127) on the control, or None when it wants no feedback."""
    b = fired.binding
    channel = b.channel if b.channel is not None else fired.channel
    number = b.feedback_number if b.feedback_number is not None else b.number
    if b.feedback == "note":
        return mido.Message("note_on", channel=channel, note=number, velocity=level)
    if b.feedback == "cc":
        return mido.Message("control_change", channel=channel, control=number, value=level)
    return None


class MidiPeer:
    """The `Peer` the router replies to for every request a MIDI control fires."""

    max_payload: int | None = None  # results are not forwarded to MIDI; no result files needed

    def __init__(self, name: str, send_midi: Callable[[mido.Message], None]) -> None:
        self.key = ("midi", name)
        self._send_midi = send_midi
        self._pending: collections.OrderedDict[Any, Fired] = collections.OrderedDict()
        self._jobs: dict[Any, Fired] = {}
        #: Observers of every reply (address, args): the learn waiters and the benchmark listen here.
        self.listeners: list[Callable[[str, Sequence[Any]], None]] = []

    def expect(self, req_id: Any, fired: Fired) -> None:
        """Remember that `req_id` was fired by this control, before dispatching it."""
        self._pending[req_id] = fired
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)

    def show(self, fired: Fired | None, level: int | None) -> None:
        """Light `fired`'s control at `level` (nothing when either is None or it wants no feedback)."""
        if fired is None or level is None:
            return
        msg = feedback_message(fired, level)
        if msg is not None:
            self._send_midi(msg)

    def send(self, address: str, args: Sequence[Any]) -> None:
        """Called by the router with every reply for MIDI-fired requests and their jobs."""
        for listener in list(self.listeners):
            listener(address, args)
        if address == "/grym/job/queued" and len(args) >= 2:
            fired = self._pending.pop(args[0], None)
            if fired is not None:
                self._jobs[args[1]] = fired
                self.show(fired, fired.binding.queued)
        elif address == "/grym/job/progress" and len(args) >= 2:
            fired = self._jobs.get(args[0])
            if fired is not None and fired.binding.progress_cc is not None:
                value = int(round(max(0.0, min(1.0, float(args[1]))) * 127))
                b = fired.binding
                channel = b.channel if b.channel is not None else fired.channel
                self._send_midi(mido.Message("control_change", channel=channel, control=b.progress_cc, value=value))
        elif address == "/grym/job/done" and args:
            fired = self._jobs.pop(args[0], None)
            self.show(fired, fired.binding.done if fired else None)
        elif address == "/grym/job/error" and args:
            fired = self._jobs.pop(args[0], None)
            self.show(fired, fired.binding.error if fired else None)
            if fired is not None:
                log.info("MIDI %s %d -> %s failed: %s", fired.binding.kind, fired.binding.number,
                         fired.binding.target, " ".join(map(str, args[1:])))
        elif address == ERROR_ADDRESS and len(args) >= 2:
            fired = self._pending.pop(args[1], None)
            self.show(fired, fired.binding.error if fired else None)
            if fired is not None:
                log.warning("MIDI %s %d -> %s: %s", fired.binding.kind, fired.binding.number, args[0],
                            " ".join(map(str, args[2:])))
        elif args:
            fired = self._pending.pop(args[0], None)  # a quick request answered at once
            self.show(fired, fired.binding.done if fired else None)
