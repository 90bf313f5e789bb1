"""Live sessions: room tokens, the realtime hub (in-process or Redis) and WebRTC signalling."""
