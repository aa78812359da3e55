"""Hosting on S3: upload, public access and its proof, object keys, per-thread clients."""
