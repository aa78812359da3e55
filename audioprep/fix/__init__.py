"""Making a file phone-ready: profiles, the fix job and its strategies, conversion, MP3 gain."""
