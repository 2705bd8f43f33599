"""Media I/O with PyAV: probe, exact-frame reading, ProRes/DNxHR/H.264 writing with timecode."""
