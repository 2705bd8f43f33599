"""Quality measures and the evaluation harness (hide the last frames of a real clip, extend, compare)."""
