"""Sequence machinery shared by translation, captioning and visual QA: attention and beam search."""
