"""Reading audio, never changing it: sniffing, MP3/WAV walks, ffmpeg, decoding, facts,
inspection, fetch."""
