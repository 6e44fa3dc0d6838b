"""OSC transport: UDP and OSC-over-TCP (SLIP) servers that dispatch through `grym_bridge.api`'s router."""
