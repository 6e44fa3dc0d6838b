"""The web page: static ES modules and CSS served by grym_bridge.transports.http."""
