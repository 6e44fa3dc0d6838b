"""Orchestrator layer: jobs, routing of requests into chains, session context, health, resources.

No sockets here: transports call in, capabilities are called out.
"""
