"""Erlang distribution: EPMD, the version-6 handshake, framing, rpc, TLS.

Sans-IO codecs (`epmd`, `handshake`, `framing`, `terms`) take bytes and return events; the
asyncio driver in `client` moves bytes between them and sockets. Import from the
submodules; this package imports nothing heavy itself.
"""
