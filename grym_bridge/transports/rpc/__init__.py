"""msgpack RPC over TCP: the OSC address space for other machines, plus audio files.

Every frame is a 4-byte big-endian length and one msgpack map whose `t` names its kind.

Client to bridge:
- `hello {v, token, client, max_payload, max_frame_bytes}`: the first frame, within 10 s.
  The bridge answers `welcome {v, server, version, limits, download_roots}` (limits: max_frame_bytes,
  max_upload_bytes, chunk_bytes, idle_timeout_s) or an error and closes.
- `osc {address, args}`: a request exactly as over OSC (req_id first); replies, job messages
  and `/grym/error` come back as `osc` frames.
- `put {id, name, size}`, then `data {id, data}`..., then `end {id, blake3}`: an upload.
  The bridge answers `stored {id, path, size, blake3}` once size and hash match, or
  `error {id, code, message}` and deletes what it received.
- `get {id, path}`: a download of a file under the bridge's data directory; the bridge sends
  `file {id, name, size}`, `data {id, data}`..., `end {id, size, blake3}` (or an error).
- `manifest {id, model}`: the files of a model the bridge has; it answers `manifest {id, model, files:
  [{path, size, blake3}], size}`. `get {id, model, file}` then downloads one of those files (`grym models fetch`).
- `ping`: a keep-alive (clients send one every third of the bridge's `idle_timeout_s`).
- `bye`: a clean close.

An `error` with a nil `id` is about the connection (too large, malformed, timeout,
unauthorized); the bridge closes it right after.
"""
