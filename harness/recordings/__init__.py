"""Recordings (design.md §3): schema, manifest, reader, writer, validation, repair, synth, importers."""
