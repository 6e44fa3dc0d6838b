"""grym-bridge: AI music models and audio tools for the DAW, over OSC and MIDI."""

__version__ = "0.1.0"

#: Version of the OSC/RPC protocol; bumped when an address changes meaning.
PROTOCOL_VERSION = 1
