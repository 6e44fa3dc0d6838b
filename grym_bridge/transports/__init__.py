"""Transports: turn messages into requests and results into replies. No audio or model code here."""
