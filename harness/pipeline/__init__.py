"""The one replay pipeline: a request in, a finished run out (one process or sharded), and resume."""
