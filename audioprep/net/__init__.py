"""HTTP plumbing shared by every stage: client sessions and in-process servers."""
