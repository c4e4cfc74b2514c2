"""Live: the Polygon protocol, the loopback feed server, the client, recorder and live session."""
