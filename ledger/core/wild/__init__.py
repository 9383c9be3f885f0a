"""The wild path: local features (ORB), their index (faiss), geometric verification (OpenCV RANSAC), the
same-picture test and the aligned difference. ``search`` is the entry point; docs/matching.md has the design."""
